# Digit recogniser: `make run` serves the app locally, `make test` runs every check.
# `make help` lists all targets.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)/bundle:$(CURDIR)/store:$(CURDIR)/api:$(CURDIR)/automation/training:$(CURDIR)/automation:$(CURDIR)/syncer
export DIGITS_CACHE ?= $(HOME)/.cache/digits
MODEL_VERSION ?= v1.5.0
HOST ?= 127.0.0.1
PORT ?= 8000

RUN_STAMP := $(VENV)/.run-installed
DEV_STAMP := $(VENV)/.dev-installed

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip==26.3

$(RUN_STAMP): bundle/requirements.txt store/requirements.txt api/requirements.txt constraints.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -r api/requirements.txt -c constraints.txt
	touch $@

$(DEV_STAMP): $(RUN_STAMP) requirements-dev.txt requirements-nodeps.txt docs/requirements.txt automation/training/requirements.txt syncer/requirements.txt constraints.txt
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt -c constraints.txt
	$(VENV)/bin/pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

system-deps: ## Install the Debian packages the tests drive (nginx, chromium, wrk, postgresql); needs root
	automation/install-system-deps.sh

LOCAL_MODELS := $(CURDIR)/build/models
STORE_URL ?= sqlite:///$(CURDIR)/build/feedback.sqlite3
ifndef RETRAIN_VERSION
RETRAIN_VERSION := retrain-$(shell date -u +%Y%m%dT%H%M%SZ)
endif
RETRAIN_ARGS ?= --max-minutes 10
RETRAIN_DIR ?= $(CURDIR)/build/retrain

# `make run` serves the documentation site too: built once if it is missing (`make site` rebuilds it). The app
# runs without it when it cannot be built (Graphviz missing, say): the build says why.
SITE_INDEX := frontend/static/docs/index.html

$(SITE_INDEX): | $(DEV_STAMP)
	$(PY) -m docs.build || echo "the documentation site was not built (see above): the app runs without /docs/"

run: $(RUN_STAMP) $(SITE_INDEX) ## Serve the app (API + drawing page + the documentation at /docs/) at http://127.0.0.1:8000
	$(PY) -m digits_bundle.fetch --models $(LOCAL_MODELS) --url "" --fallback $(CURDIR)/api/models/default
	DIGITS_API_STATIC_DIR=$(CURDIR)/frontend/static DIGITS_API_HOST=$(HOST) DIGITS_API_PORT=$(PORT) \
	  DIGITS_API_MODEL_PATH=$(LOCAL_MODELS)/current DIGITS_API_WATCH=true \
	  DIGITS_STORE_URL=$(STORE_URL) $(PY) -m digits_api

sync: $(DEV_STAMP) ## Beside `make run`: install new model releases of DIGITS_SYNCER_SOURCE_REPO into it
	DIGITS_SYNCER_MODE=local DIGITS_SYNCER_LOCAL_MODELS_DIR=$(LOCAL_MODELS) \
	  DIGITS_SYNCER_STATE_FILE=$(CURDIR)/build/syncer-state.json \
	  DIGITS_SYNCER_SERVING_API_URL=http://$(HOST):$(PORT) DIGITS_SYNCER_HEALTH_PORT=0 $(PY) -m digits_syncer run

retrain: $(DEV_STAMP) ## Beside `make run`: fine-tune its model on the drawings in its store, then gate and install it
	rm -rf $(RETRAIN_DIR)/bundles/$(RETRAIN_VERSION) $(RETRAIN_DIR)/releases/.$(RETRAIN_VERSION)
	$(PY) -m digits_training train --from $(LOCAL_MODELS)/current --store-url $(STORE_URL) \
	  --version $(RETRAIN_VERSION) --out $(RETRAIN_DIR)/bundles/$(RETRAIN_VERSION) \
	  --zip-dir $(RETRAIN_DIR)/releases/.$(RETRAIN_VERSION) --no-saved-model $(RETRAIN_ARGS)
	mv $(RETRAIN_DIR)/releases/.$(RETRAIN_VERSION) $(RETRAIN_DIR)/releases/$(RETRAIN_VERSION)
	DIGITS_SYNCER_MODE=local DIGITS_SYNCER_SOURCE_DIR=$(RETRAIN_DIR)/releases DIGITS_SYNCER_LOCAL_MODELS_DIR=$(LOCAL_MODELS) \
	  DIGITS_SYNCER_STATE_FILE=$(RETRAIN_DIR)/syncer-state.json DIGITS_SYNCER_DRAWINGS_STORE_URL=$(STORE_URL) \
	  DIGITS_SYNCER_SERVING_API_URL=http://$(HOST):$(PORT) DIGITS_SYNCER_HEALTH_PORT=0 $(PY) -m digits_syncer once

ACTIONLINT := $(DIGITS_CACHE)/bin/actionlint-v1.7.7

$(ACTIONLINT):
	mkdir -p $(dir $@)
	GOBIN=$(DIGITS_CACHE)/bin GOMODCACHE=$(DIGITS_CACHE)/go/mod GOCACHE=$(DIGITS_CACHE)/go/build \
	  go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.7
	mv $(DIGITS_CACHE)/bin/actionlint $@

lint: $(DEV_STAMP) $(ACTIONLINT) ## ruff, format check, mypy, import contracts, actionlint, shellcheck, go vet
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy bundle/digits_bundle store/digits_store api/digits_api automation syncer/digits_syncer tests
	$(VENV)/bin/lint-imports
	$(ACTIONLINT)
	shellcheck -x --source-path=SCRIPTDIR -S warning automation/*.sh automation/cluster/*.sh automation/cluster/node/*.sh store/postgres/*.sh .ci/run
	cd automation/cluster/runc-capfilter && test -z "$$(gofmt -l .)" && go vet ./...

site: $(DEV_STAMP) ## Build the documentation site (docs/) into frontend/static/docs, served at /docs/; warnings are errors
	$(PY) -m docs.build

docs: $(DEV_STAMP) ## Regenerate the DigitsModel CRD from the settings classes
	$(PY) -m digits_syncer.model_resource > kubernetes/crds/digitsmodels.yaml

control-plane-binaries: ## Build etcd and the Kubernetes control plane from the Go module proxy (cached)
	automation/cluster/build-k8s-binaries.sh

test: system-deps control-plane-binaries $(DEV_STAMP) lint ## Every test: lint, Python suites (real servers, nginx, browser, kube-apiserver), JS unit tests
	$(PY) -m pytest
	cd frontend && node --test tests/
	cd automation/cluster/runc-capfilter && go test ./...

CLUSTER := automation/cluster

kind-up: ## Create the kind cluster (offline: builds its node image from Debian and Go sources; cached)
	$(CLUSTER)/kind-up.sh

kind-load: site ## Build the api, frontend, syncer, trainer and postgres images and load them into the kind cluster
	$(CLUSTER)/kind-load.sh

deploy: ## Apply the kind overlay to the kind cluster and wait for the rollout
	$(CLUSTER)/deploy.sh

kind-down: ## Delete the kind cluster (images and caches stay)
	$(CLUSTER)/kind-down.sh

e2e: system-deps $(DEV_STAMP) kind-up kind-load deploy ## End-to-end tests in the kind cluster: NodePort page, releases rolled out and back, retraining, RBAC
	$(PY) -m pytest tests/e2e -m e2e

model: $(DEV_STAMP) ## Retrain the baked-in model bundle under api/models/default (about 15 minutes)
	rm -rf api/models/default
	$(PY) -m digits_training train --version $(MODEL_VERSION) --out api/models/default \
	  --pad-renderings 30000 --epochs 20 --patience 20 \
	  --reports artifacts/model-report --zip-dir artifacts

KSERVE_VENV := $(DIGITS_CACHE)/bench-kserve-venv

# KServe's model server for `make bench`, in a virtualenv of its own: its dependencies are not ours.
$(KSERVE_VENV)/.installed: automation/bench/kserve-requirements.txt
	rm -rf $(KSERVE_VENV)
	$(PYTHON) -m venv $(KSERVE_VENV)
	$(KSERVE_VENV)/bin/pip install --quiet --upgrade pip==26.3
	$(KSERVE_VENV)/bin/pip install --quiet -r automation/bench/kserve-requirements.txt
	touch $@

bench: system-deps $(DEV_STAMP) $(KSERVE_VENV)/.installed ## Benchmark the API against KServe, no-op servers and the original serving style, same run; fails on a missed target
	$(PY) -m bench --kserve-python $(KSERVE_VENV)/bin/python

fmt: $(DEV_STAMP) ## Format the code
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean: ## Remove the virtualenv and build outputs (caches outside the repo stay)
	rm -rf $(VENV) artifacts build .mypy_cache .ruff_cache .pytest_cache

.PHONY: help system-deps control-plane-binaries run sync retrain lint site docs test kind-up kind-load deploy kind-down e2e model bench fmt clean
