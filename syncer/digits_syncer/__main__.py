"""``python -m digits_syncer run|once [--dry-run] [--retry TAG ...]``.

run    the reconcile loop (the in-cluster Deployment, or beside ``make run`` in local mode)
once   one reconcile; the exit code says what happened:
       0 up to date, deployed, proposed (pull-request mode) or planned; 3 the release was rejected;
       4 it was rolled back;
       1 a temporary error (GitHub or Kubernetes unavailable)
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
import threading
from typing import Any

from digits_api.token_file import TokenFileError
from digits_syncer.settings import SyncerSettings
from digits_syncer.state import clip

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


def build(settings: SyncerSettings, dry_run: bool, stop: threading.Event | None = None) -> tuple[Any, Any]:
    """The syncer and its leader check, wired from settings (adapters chosen by mode). ``stop``: when
    set, a download in progress ends at once."""
    from digits_syncer.gate import Gate, GateSettings
    from digits_syncer.github_source import GitHubReleaseSource
    from digits_syncer.reconcile import Syncer
    from digits_syncer.serving import serving_labels, serving_score
    from digits_training.data import load_mnist

    try:
        token = settings.token()
    except TokenFileError as error:
        raise SystemExit(f"error: {error}") from None
    source = GitHubReleaseSource(
        settings.github_api_url,
        settings.source_repo,
        token,
        settings.request_timeout_s,
        settings.max_download_bytes,
        download_timeout_s=settings.download_timeout_s,
        max_wait_s=settings.max_retry_wait_s,
        stop=stop,
    )
    mnist_cache: list[Any] = []

    def mnist() -> Any:
        if not mnist_cache:
            mnist_cache.append(load_mnist())
        return mnist_cache[0]

    gate_settings = GateSettings(
        settings.foreign_labels,
        settings.foreign_scale,
        settings.min_accuracy,
        settings.max_regression,
        settings.holdout_size,
        settings.allow_narrower_labels,
    )
    score = serving_score(settings.serving_api_url, settings.request_timeout_s)
    if settings.mode == "local":
        from digits_syncer.local import FileStateStore, LocalApplier

        local = LocalApplier(settings.local_models_dir)
        # Local mode compares labels with the installed bundle, what the local api serves.
        gate = Gate(gate_settings, mnist, score, local.serving_labels)
        syncer = Syncer(
            source,
            gate,
            local,
            local,
            FileStateStore(settings.state_file),
            settings.release_filter(),
            settings.rollout_timeout_s,
            dry_run,
            settings.require_digest,
        )
        return syncer, lambda: True
    gate = Gate(gate_settings, mnist, score, serving_labels(settings.serving_api_url, settings.request_timeout_s))
    from digits_syncer.kube import ConfigMapStateStore, KubernetesApplier, LeaseElector
    from digits_syncer.repo_writer import GitHubRepoWriter, RepoSettings
    from kubernetes import client, config

    if not settings.deploy_repo:
        raise SystemExit("error: kubernetes mode needs DIGITS_SYNCER_DEPLOY_REPO (where bundles are recorded)")
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    api = client.ApiClient()
    recorder = GitHubRepoWriter(
        settings.github_api_url,
        token,
        settings.request_timeout_s,
        RepoSettings(
            settings.deploy_repo,
            settings.deploy_branch,
            settings.deploy_bundle_dir,
            settings.deploy_pin_path,
            settings.deployment,
        ),
    )
    applier = KubernetesApplier(api, settings.namespace, settings.deployment, settings.kubernetes_timeout_s)
    store = ConfigMapStateStore(api, settings.namespace, settings.state_configmap, settings.kubernetes_timeout_s)
    elector = LeaseElector(
        api,
        settings.namespace,
        settings.lease,
        identity=settings.identity or socket.gethostname(),
        duration_s=settings.lease_duration_s,
        timeout_s=settings.kubernetes_timeout_s,
    )
    syncer = Syncer(
        source,
        gate,
        recorder,
        applier,
        store,
        settings.release_filter(),
        settings.rollout_timeout_s,
        dry_run,
        settings.require_digest,
        proposals=recorder if settings.record_mode == "pull-request" else None,
    )
    return syncer, elector.acquire


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
    settings = SyncerSettings()
    handler = logging.StreamHandler()
    handler.setFormatter(_JsonFormatter())
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler])

    from digits_syncer.reconcile import Outcome
    from digits_syncer.service import TEMPORARY_ERRORS, Health, SyncerMetrics, run_forever, serve_health

    log = logging.getLogger("digits_syncer")
    stop = threading.Event()
    syncer, leader = build(settings, args.dry_run, stop)
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
        print(outcome.value)
        return outcome.exit_code
    if args.retry:
        syncer.store.save(syncer.store.load().with_retry(frozenset(args.retry)))
    metrics = SyncerMetrics()
    health = Health(settings.liveness_age_s())
    if settings.health_port:
        serve_health(settings.health_port, health, metrics)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run_forever(
        syncer,
        interval_s=settings.poll_interval_s,
        health=health,
        metrics=metrics,
        leader=leader,
        stop=stop,
        max_wait_s=settings.max_retry_wait_s,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
