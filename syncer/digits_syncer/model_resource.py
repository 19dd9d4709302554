"""The ``DigitsModel`` custom resource's spec: the syncer's release settings, written once.

The spec's fields are settings of ``digits_syncer.settings`` (``SPEC`` maps each to its field), so their types,
bounds, defaults and descriptions come from the settings classes: ``crd()`` generates the CustomResourceDefinition
from them (``python -m digits_syncer.model_resource`` prints it; ``make docs`` writes
``kubernetes/crds/digitsmodels.yaml``), and ``settings_from_spec`` turns a spec into settings through the same table.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from digits_bundle.manifest import VERSION_PATTERN
from digits_syncer.releases import MAX_TAG_LENGTH
from digits_syncer.settings import SyncerSettings

MAX_RETRY_TAGS = 16
"""Most tags one ``spec.retry`` may name."""
GROUP = "digits.app"
VERSION = "v1alpha1"
KIND = "DigitsModel"
PLURAL = "digitsmodels"

SPEC: dict[str, dict[str, tuple[str, str]]] = {
    "source": {
        "repo": ("source", "source_repo"),
        "policy": ("source", "policy"),
        "tagPattern": ("source", "tag_pattern"),
        "assetPattern": ("source", "asset_pattern"),
        "allowPrereleases": ("source", "allow_prereleases"),
        "requireDigest": ("source", "require_digest"),
        "requestTimeoutSeconds": ("source", "request_timeout_s"),
        "maxDownloadBytes": ("source", "max_download_bytes"),
        "downloadTimeoutSeconds": ("source", "download_timeout_s"),
        "pollIntervalSeconds": ("operation", "poll_interval_s"),
    },
    "gate": {
        "minAccuracy": ("gate", "min_accuracy"),
        "maxRegression": ("gate", "max_regression"),
        "maxClassRegression": ("gate", "max_class_regression"),
        "allowNarrowerLabels": ("gate", "allow_narrower_labels"),
        "holdoutSize": ("gate", "holdout_size"),
        "servingApiUrl": ("gate", "serving_api_url"),
        "minDrawings": ("gate", "min_drawings"),
        "maxDrawingRegression": ("gate", "max_drawing_regression"),
        "foreignLabels": ("gate", "foreign_labels"),
        "foreignScale": ("gate", "foreign_scale"),
    },
    "record": {
        "repo": ("record", "deploy_repo"),
        "branch": ("record", "deploy_branch"),
        "bundleDir": ("record", "deploy_bundle_dir"),
        "pinPath": ("record", "deploy_pin_path"),
        "mode": ("record", "record_mode"),
        "pullRequestBranchPrefix": ("record", "pr_branch_prefix"),
    },
    "rollout": {
        "deployment": ("rollout", "deployment"),
        "timeoutSeconds": ("rollout", "rollout_timeout_s"),
    },
    "retrain": {
        "afterDrawings": ("retrain", "retrain_after_drawings"),
        "minIntervalSeconds": ("retrain", "retrain_min_interval_s"),
        "podTemplate": ("retrain", "retrain_pod_template"),
        "deadlineSeconds": ("retrain", "retrain_deadline_s"),
        "ttlSeconds": ("retrain", "retrain_ttl_s"),
        "tagPrefix": ("retrain", "retrain_tag_prefix"),
    },
}
"""spec.<section>.<key> -> (group of ``SyncerSettings``, field): everything else stays in the environment, where the
places the syncer sends its credentials to are (the GitHub API URL, the feedback store's URL): whoever may edit the
resource, to pin or suspend, cannot send the token or the store's password elsewhere."""

SECTIONS = {
    "source": "Where releases come from, which one is wanted, and how often the syncer looks.",
    "gate": "What a release must pass before it is recorded and rolled out.",
    "record": "Where each accepted bundle and the pin naming it are committed (the deployment repository).",
    "rollout": "The api Deployment the model is rolled out to (in the DigitsModel's namespace).",
    "retrain": "When the syncer starts a training Job from the drawings people labelled.",
}

SPEC_RULES = [
    {
        "rule": "self.retrain.afterDrawings == 0 || self.gate.servingApiUrl != ''",
        "message": "retrain.afterDrawings counts drawings since the serving model's data: set gate.servingApiUrl"
        " (and the syncer's DIGITS_SYNCER_DRAWINGS_STORE_URL)",
    },
    {
        "rule": "double(self.retrain.ttlSeconds) >= self.retrain.minIntervalSeconds",
        "message": "retrain.ttlSeconds must be at least retrain.minIntervalSeconds: the newest Job tells when the"
        " last one started",
    },
]


def _group_model(group: str) -> type[BaseModel]:
    model: type[BaseModel] = SyncerSettings.model_fields[group].annotation  # type: ignore[assignment]
    return model


def _nullable(group: str, name: str) -> bool:
    return "anyOf" in _group_model(group).model_json_schema()["properties"][name]


def settings_from_spec(spec: Mapping[str, Any], base: SyncerSettings) -> SyncerSettings:
    """``base`` (the process's settings) with every field ``SPEC`` maps taken from ``spec``: a field the spec leaves
    out takes the setting's default, not its environment variable, so the resource alone says what the syncer
    does. ``ValueError`` (a pydantic ``ValidationError``) when the values break a setting's rules."""
    data = base.model_dump()
    for section, fields in SPEC.items():
        given = spec.get(section) or {}
        if not isinstance(given, Mapping):
            raise ValueError(f"spec.{section} must be an object")
        for key, (group, name) in fields.items():
            value = given[key] if key in given else _group_model(group).model_fields[name].default
            data[group][name] = None if value == "" and _nullable(group, name) else value
    if not data["record"]["deploy_repo"]:
        raise ValueError(
            "spec.record.repo is empty: name the deployment repository (owner/name) accepted bundles go to"
        )
    return SyncerSettings.model_validate(data)


def spec_error(error: ValidationError | ValueError) -> str:
    """``error`` in one line, naming spec fields rather than settings."""
    if not isinstance(error, ValidationError):
        return str(error)
    where = {
        (group, name): f"spec.{section}.{key}"
        for section, fields in SPEC.items()
        for key, (group, name) in fields.items()
    }
    problems = []
    for item in error.errors():
        fields = [part for part in item["loc"] if isinstance(part, str)]
        path = where.get((fields[-2], fields[-1])) if len(fields) >= 2 else None
        problems.append(f"{path}: {item['msg']}" if path else item["msg"].removeprefix("Value error, "))
    return "; ".join(problems)


# -- the CustomResourceDefinition --------------------------------------------------------------------


SCHEMA_KEYWORDS = [
    "type",
    "description",
    "default",
    "enum",
    "items",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "minLength",
    "pattern",
]
"""What a setting's JSON schema says that the CRD keeps, in this order."""


def _field_schema(group: str, name: str) -> dict[str, Any]:
    """The OpenAPI v3 (structural) schema of one setting, from its pydantic JSON schema."""
    schema = _group_model(group).model_json_schema()
    prop = dict(schema["properties"][name])
    if "$ref" in prop:
        prop.update(schema["$defs"][prop.pop("$ref").rsplit("/", 1)[-1]])
    if "anyOf" in prop:  # optional: "" means unset
        prop.update(next(option for option in prop.pop("anyOf") if option.get("type") != "null"))
        prop["default"] = prop.get("default") or ""
        prop["description"] += ' ("": unset)'
    if "exclusiveMinimum" in prop:
        prop["minimum"], prop["exclusiveMinimum"] = prop["exclusiveMinimum"], True
    for unused in ("title", "format"):
        prop.pop(unused, None)
    return {key: prop[key] for key in SCHEMA_KEYWORDS if key in prop}


def _spec_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {
        section: {
            "type": "object",
            "description": SECTIONS[section],
            "default": {},
            "properties": {key: _field_schema(group, name) for key, (group, name) in fields.items()},
        }
        for section, fields in SPEC.items()
    }
    properties["pin"] = {
        "type": "string",
        "maxLength": MAX_TAG_LENGTH,
        "pattern": f"^{VERSION_PATTERN}$",
        "description": "Serve exactly this release (its tag), whatever the policy prefers: one that passed the gate"
        " before is rolled out at once (the way to roll back by hand); one never seen is gated first; one rejected"
        " or rolled back is refused (status says why; spec.retry forgets that verdict). Unset: the policy's newest"
        " acceptable release.",
    }
    properties["retry"] = {
        "type": "array",
        "maxItems": MAX_RETRY_TAGS,
        "items": {"type": "string", "maxLength": MAX_TAG_LENGTH, "pattern": f"^{VERSION_PATTERN}$"},
        "description": "Releases (tags) whose verdict to forget, rejected or rolled back, so that they are gated"
        " again: done once for each change of the spec (status.retried says which change it was done for).",
    }
    properties["suspend"] = {
        "type": "boolean",
        "default": False,
        "description": "Stop acting (no polls, gates, commits, rollouts or training Jobs); the status keeps"
        " reporting what serves.",
    }
    return {
        "type": "object",
        "description": "What the syncer serves and how it chooses, gates, records and rolls out releases.",
        "properties": properties,
        "x-kubernetes-validations": SPEC_RULES,
    }


def _condition_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "status"],
        "properties": {
            "type": {"type": "string", "description": "Ready, Progressing or Degraded."},
            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
            "reason": {"type": "string", "description": "One word (CamelCase) saying why."},
            "message": {"type": "string", "description": "What happened, for people."},
            "lastTransitionTime": {"type": "string", "format": "date-time"},
            "observedGeneration": {"type": "integer"},
        },
    }


def _status_schema() -> dict[str, Any]:
    entry = {
        "type": "object",
        "properties": {key: {"type": "string"} for key in ("at", "event", "tag", "detail")},
    }
    return {
        "type": "object",
        "description": "Written only by the syncer.",
        "properties": {
            "observedGeneration": {"type": "integer", "description": "The spec generation the status describes."},
            "state": {
                "type": "string",
                "description": "One word: Synced, Pinned, RollingOut, AwaitingReview, PinRefused, Suspended,"
                " Unavailable (a temporary error; retried) or Invalid (the spec cannot be acted on).",
            },
            "conditions": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
                "items": _condition_schema(),
            },
            "serving": {
                "type": "object",
                "description": "The model the api Deployment's pod template names.",
                "properties": {
                    "version": {"type": "string"},
                    "sha256": {"type": "string", "description": "Of the bundle (empty: the image's baked-in model)."},
                    "url": {"type": "string", "description": "Where the api pods fetch the bundle from."},
                },
            },
            "retried": {
                "type": "object",
                "description": "The last spec.retry acted on: the spec generation it came with and its tags.",
                "properties": {
                    "generation": {"type": "integer"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            },
            "latest": {
                "type": "object",
                "description": "The newest release the policy admits, and what became of it.",
                "properties": {
                    "tag": {"type": "string"},
                    "verdict": {
                        "type": "string",
                        "description": "Serving, RollingOut, Proposed, Accepted, Rejected, RolledBack or NotEvaluated.",
                    },
                    "reason": {"type": "string"},
                },
            },
            "lastPollTime": {"type": "string", "format": "date-time", "description": "When releases were last read."},
            "history": {
                "type": "array",
                "description": "The newest events (deployed, rejected, rolled back, pinned ...), oldest first.",
                "items": entry,
            },
            "syncer": {
                "type": "object",
                "description": "What the syncer remembers between restarts: releases rejected or rolled back, the"
                " pins of accepted ones, a rollout or pull request in flight.",
                "x-kubernetes-preserve-unknown-fields": True,
            },
        },
    }


def crd() -> dict[str, Any]:
    """The CustomResourceDefinition of ``DigitsModel``."""
    column = [
        {"name": "Serving", "type": "string", "jsonPath": ".status.serving.version"},
        {"name": "Latest", "type": "string", "jsonPath": ".status.latest.tag"},
        {"name": "Verdict", "type": "string", "jsonPath": ".status.latest.verdict"},
        {"name": "State", "type": "string", "jsonPath": ".status.state"},
        {"name": "Last Poll", "type": "date", "jsonPath": ".status.lastPollTime"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    schema = {
        "type": "object",
        "description": "A model served by the api and kept up to date by the syncer from the releases of a"
        " training repository.",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": _spec_schema(),
            "status": _status_schema(),
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"kind": KIND, "plural": PLURAL, "singular": KIND.lower(), "shortNames": ["dm"]},
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": column,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def crd_yaml() -> str:
    header = "# Generated by `make docs` from the syncer's settings (digits_syncer.model_resource): do not edit.\n"
    return header + str(yaml.safe_dump(crd(), sort_keys=False, width=120))


if __name__ == "__main__":
    sys.stdout.write(crd_yaml())
