"""``python -m digits_syncer run|once [--dry-run] [--retry TAG ...]``.

run    the reconcile loop (the in-cluster Deployment, or beside ``make run`` in local mode)
once   one reconcile; the exit code says what happened:
       0 up to date, deployed, proposed (pull-request mode) or planned; 3 the release was rejected;
       4 it was rolled back;
       1 a temporary error (GitHub or Kubernetes unavailable)

Settings it cannot work with (``digits_syncer.settings``) stop either command at start: one line on
stderr naming the variable, exit 1.
"""

from __future__ import annotations

import argparse
import functools
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from digits_bundle.token_file import TokenFileError
from digits_syncer.ports import GatePort, Source, StateStore
from digits_syncer.reconcile import Syncer
from digits_syncer.settings import (
    GitHubSourceSettings,
    RecordMode,
    ReleaseGateSettings,
    SyncerSettings,
    settings_error,
)
from digits_syncer.state import clip

if TYPE_CHECKING:
    import numpy as np
    from sqlalchemy import Engine

    from digits_syncer.controller import Built, ModelController
    from digits_syncer.gate import HeldOutDrawings, ServingLabels
    from digits_syncer.kube import ConfigMapStateStore

MAX_LOG_MESSAGE = 2000
MAX_LOG_TRACEBACK = 8000


class _JsonFormatter(logging.Formatter):
    """One JSON object a line, bounded in length whatever a release holds; records never carry the
    token (it is read from a file, never logged)."""

    def format(self, record: logging.LogRecord) -> str:
        import json

        entry: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": clip(record.getMessage(), MAX_LOG_MESSAGE),
        }
        if record.exc_info:
            entry["error"] = clip(self.formatException(record.exc_info), MAX_LOG_TRACEBACK)
        return json.dumps(entry)


@dataclass(frozen=True)
class Wiring:
    """What ``build`` wires from the settings."""

    syncer: Syncer | ModelController
    leader: Callable[[], bool]
    """True while this replica may act (takes or renews the Lease in kubernetes mode)."""
    retrain: Callable[[], object] | None = None
    """The retraining check after each reconcile (kubernetes mode, when retraining is on)."""
    watch: Callable[[threading.Event, threading.Event], object] | None = None
    """Starts watching the ``DigitsModel``: sets its first argument when the spec changes, until the second is set."""
    interval_s: Callable[[], float] | None = None
    """Seconds between polls when the spec in force says (None: DIGITS_SYNCER_POLL_INTERVAL_S)."""
    liveness_age_s: Callable[[], float] | None = None
    """How old the last successful poll may get, by the spec in force (None: from the variables)."""


def build(settings: SyncerSettings, dry_run: bool, stop: threading.Event | None = None) -> Wiring:
    """The syncer and its leader check, each adapter from its group of settings; only the mode in use has its
    adapters imported. ``stop``: when set, a download in progress ends at once."""
    try:
        token = settings.source.token()
    except TokenFileError as error:
        raise SystemExit(f"error: {error}") from None
    if settings.rollout.mode == "local" and settings.source.source_dir is not None:
        from digits_syncer.folder_source import FolderReleaseSource

        folder = FolderReleaseSource(settings.source.source_dir, settings.source.max_download_bytes)
        return _local_mode(settings, folder, dry_run)
    source = _release_source(settings.source, token, settings.operation.max_retry_wait_s, stop)
    if settings.rollout.mode == "local":
        return _local_mode(settings, source, dry_run)
    if settings.rollout.model:
        return _model_mode(settings, token, dry_run, stop)
    return _kubernetes_mode(settings, source, token, dry_run)


def _release_source(
    group: GitHubSourceSettings, token: str | None, max_wait_s: float, stop: threading.Event | None
) -> Source:
    from digits_syncer.github_source import GitHubReleaseSource

    return GitHubReleaseSource(
        group.github_api_url,
        group.source_repo,
        token,
        timeout_s=group.request_timeout_s,
        max_download_bytes=group.max_download_bytes,
        download_timeout_s=group.download_timeout_s,
        max_wait_s=max_wait_s,
        stop=stop,
    )


def _gate(group: ReleaseGateSettings, timeout_s: float, serving_labels: ServingLabels | None = None) -> GatePort:
    """The gate; the serving model's labels come from the api unless ``serving_labels`` is given."""
    from digits_bundle.mnist import load_mnist
    from digits_syncer.api_client import serving_labels as api_labels
    from digits_syncer.api_client import serving_score
    from digits_syncer.gate import Gate, GateSettings

    rules = GateSettings(
        foreign_labels=group.foreign_labels,
        foreign_scale=group.foreign_scale,
        min_accuracy=group.min_accuracy,
        max_regression=group.max_regression,
        holdout_size=group.holdout_size,
        allow_narrower_labels=group.allow_narrower_labels,
        min_drawings=group.min_drawings,
        max_drawing_regression=group.max_drawing_regression,
        max_class_regression=group.max_class_regression,
    )
    api_url = group.serving_api_url
    labels = serving_labels or api_labels(api_url, timeout_s)
    drawings = _held_out_drawings(group.drawings_store_url) if group.drawings_store_url else None
    return Gate(rules, functools.cache(load_mnist), serving_score(api_url, timeout_s), labels, drawings)


@functools.cache
def _store_engine(store_url: str) -> Callable[[], Engine]:
    """The feedback store's engine (one for the gate and the retraining check), made at first use: a store
    that cannot be reached yet (or whose password Secret is not there yet) must not stop the syncer from
    starting; each use fails on its own and says why."""
    from digits_store.engine import create_store_engine
    from digits_store.settings import StoreSettings

    return functools.cache(lambda: create_store_engine(StoreSettings(url=store_url)))


def _held_out_drawings(store_url: str) -> HeldOutDrawings:
    """The held-out drawings of the feedback store at ``store_url``, read afresh for each release."""
    from digits_training.collected import read_collected

    engine = _store_engine(store_url)

    def held_out(labels: list[int]) -> tuple[np.ndarray, np.ndarray]:
        found = read_collected(engine(), labels)
        kept = found.take(found.held_out())
        return kept.images, kept.targets(labels)

    return held_out


def _local_mode(settings: SyncerSettings, source: Source, dry_run: bool) -> Wiring:
    from digits_syncer.local import FileStateStore, LocalApplier

    local = LocalApplier(settings.local.local_models_dir)
    syncer = Syncer(
        source=source,
        # Local mode compares labels with the installed bundle, what the local api serves.
        gate=_gate(settings.gate, settings.source.request_timeout_s, local.serving_labels),
        recorder=local,
        applier=local,
        store=FileStateStore(settings.local.state_file),
        rules=settings.source.release_filter(),
        rollout_timeout_s=settings.rollout.rollout_timeout_s,
        dry_run=dry_run,
        require_digest=settings.source.require_digest,
    )
    return Wiring(syncer, leader=lambda: True)


def _kube_api() -> Any:
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.ApiClient()


def _elector(settings: SyncerSettings, api: Any) -> Callable[[], bool]:
    from digits_syncer.kube import LeaseElector

    rollout = settings.rollout
    elector = LeaseElector(
        api,
        rollout.namespace,
        rollout.lease,
        identity=rollout.identity or socket.gethostname(),
        duration_s=rollout.lease_duration_s,
        timeout_s=rollout.kubernetes_timeout_s,
    )
    return elector.acquire


def _state_configmap(settings: SyncerSettings, api: Any) -> ConfigMapStateStore:
    from digits_syncer.kube import ConfigMapStateStore

    rollout = settings.rollout
    return ConfigMapStateStore(api, rollout.namespace, rollout.state_configmap, rollout.kubernetes_timeout_s)


def _kubernetes_syncer(
    settings: SyncerSettings, source: Source, *, token: str | None, api: Any, store: StateStore, dry_run: bool
) -> Syncer:
    from digits_syncer.kube import KubernetesApplier
    from digits_syncer.repo_writer import GitHubRepoWriter, RepoSettings

    record, rollout = settings.record, settings.rollout
    recorder = GitHubRepoWriter(
        settings.source.github_api_url,
        token,
        settings.source.request_timeout_s,
        RepoSettings(
            repo=record.deploy_repo,
            branch=record.deploy_branch,
            bundle_dir=record.deploy_bundle_dir,
            pin_path=record.deploy_pin_path,
            deployment=rollout.deployment,
            branch_prefix=record.pr_branch_prefix,
        ),
    )
    return Syncer(
        source=source,
        gate=_gate(settings.gate, settings.source.request_timeout_s),
        recorder=recorder,
        applier=KubernetesApplier(api, rollout.namespace, rollout.deployment, rollout.kubernetes_timeout_s),
        store=store,
        rules=settings.source.release_filter(),
        rollout_timeout_s=rollout.rollout_timeout_s,
        dry_run=dry_run,
        require_digest=settings.source.require_digest,
        proposals=recorder if record.record_mode is RecordMode.PULL_REQUEST else None,
    )


def _kubernetes_mode(settings: SyncerSettings, source: Source, token: str | None, dry_run: bool) -> Wiring:
    """Configured by the environment; the state in a ConfigMap."""
    api = _kube_api()
    syncer = _kubernetes_syncer(
        settings, source, token=token, api=api, store=_state_configmap(settings, api), dry_run=dry_run
    )
    retrain = None if dry_run else _retrain_trigger(settings, api, syncer)  # --dry-run changes nothing
    return Wiring(syncer, leader=_elector(settings, api), retrain=retrain)


def _model_mode(settings: SyncerSettings, token: str | None, dry_run: bool, stop: threading.Event | None) -> Wiring:
    """Configured by a ``DigitsModel``: each spec it is given is carried out by a syncer built from it."""
    from digits_syncer.controller import Built, ModelController
    from digits_syncer.model_client import DigitsModelClient, DigitsModelStateStore

    api = _kube_api()
    rollout = settings.rollout
    model = DigitsModelClient(api, rollout.namespace, rollout.model, rollout.kubernetes_timeout_s)
    store = DigitsModelStateStore(model, _state_configmap(settings, api))

    def carry_out(spec: SyncerSettings) -> Built:
        source = _release_source(spec.source, token, spec.operation.max_retry_wait_s, stop)
        syncer = _kubernetes_syncer(spec, source, token=token, api=api, store=store, dry_run=dry_run)
        return Built(syncer, None if dry_run else _retrain_trigger(spec, api, syncer))

    controller = ModelController(model, store, settings, carry_out)
    return Wiring(
        controller,
        leader=_elector(settings, api),
        retrain=controller.retrain,
        watch=model.watch_generations,
        interval_s=lambda: controller.poll_interval_s,
        liveness_age_s=lambda: controller.liveness_age_s,
    )


def _retrain_trigger(settings: SyncerSettings, api: Any, syncer: Syncer) -> Callable[[], object] | None:
    """The retraining check, or None when retraining is off."""
    retrain, gate, store_url = settings.retrain, settings.gate, settings.gate.drawings_store_url
    if not retrain.retrain_after_drawings or not store_url:
        return None
    from digits_store.feedback import FeedbackStore
    from digits_store.settings import StoreSettings
    from digits_syncer.api_client import serving_data_newest
    from digits_syncer.retrain_trigger import RetrainTrigger
    from digits_syncer.retraining import RetrainRules
    from digits_syncer.training_jobs import KubeTrainingJobs

    engine = _store_engine(store_url)

    def drawings_after(after: datetime | None) -> int:
        return FeedbackStore(engine(), StoreSettings(url=store_url)).count(after)

    trigger = RetrainTrigger(
        rules=RetrainRules(retrain.retrain_after_drawings, timedelta(seconds=retrain.retrain_min_interval_s)),
        tag_prefix=retrain.retrain_tag_prefix,
        jobs=KubeTrainingJobs(
            api,
            settings.rollout.namespace,
            retrain.retrain_pod_template,
            source_repo=settings.source.source_repo,
            deadline_s=retrain.retrain_deadline_s,
            ttl_s=retrain.retrain_ttl_s,
            timeout_s=settings.rollout.kubernetes_timeout_s,
        ),
        serving_data_newest=serving_data_newest(gate.serving_api_url or "", settings.source.request_timeout_s),
        drawings_after=drawings_after,
        serving_pin=syncer.applier.running_pin,
    )
    return trigger.tick


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m digits_syncer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=("run", "once"))
    parser.add_argument("--dry-run", action="store_true", help="plan only: change nothing")
    parser.add_argument(
        "--retry",
        action="append",
        default=[],
        metavar="TAG",
        help="forget that TAG was rejected or rolled back, so it is tried again",
    )
    args = parser.parse_args(argv)
    try:
        settings = SyncerSettings()
    except (ValidationError, SettingsError) as error:
        raise SystemExit(f"error: {settings_error(error)}") from None
    handler = logging.StreamHandler()
    handler.setFormatter(_JsonFormatter())
    logging.basicConfig(level=settings.operation.log_level.upper(), handlers=[handler])

    from digits_syncer.health_server import Health, SyncerMetrics, serve_health
    from digits_syncer.loop import TEMPORARY_ERRORS, guarded, run_forever
    from digits_syncer.reconcile import Outcome

    log = logging.getLogger("digits_syncer")
    stop = threading.Event()
    wiring = build(settings, args.dry_run, stop)
    syncer, leader = wiring.syncer, wiring.leader
    if args.command == "once":
        # SIGTERM unwinds like Ctrl-C, so scratch folders are removed on the way out.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        try:
            if not leader():
                log.info("another replica holds the lease: nothing done")
                return 0
            outcome: Outcome = syncer.reconcile_once(frozenset(args.retry))
        except TEMPORARY_ERRORS as error:
            log.error("reconcile failed: %s", error)
            return 1
        except Exception:
            log.error("reconcile failed unexpectedly", exc_info=True)
            return 1
        if wiring.retrain is not None:
            guarded(wiring.retrain, SyncerMetrics())
        print(outcome.value)
        return outcome.exit_code
    if args.retry:
        syncer.store.save(syncer.store.load().with_retry(frozenset(args.retry)))
    metrics = SyncerMetrics()
    health = Health(wiring.liveness_age_s or settings.liveness_age_s())
    operation = settings.operation
    if operation.health_port:
        serve_health(operation.health_port, health, metrics)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    wake = threading.Event()
    if wiring.watch is not None:
        wiring.watch(wake, stop)
    run_forever(
        syncer,
        interval_s=wiring.interval_s or operation.poll_interval_s,
        health=health,
        metrics=metrics,
        leader=leader,
        stop=stop,
        max_wait_s=operation.max_retry_wait_s,
        backoff_s=operation.retry_backoff_s,
        after_reconcile=wiring.retrain,
        wake=wake,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
