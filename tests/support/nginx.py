"""Debian's nginx started with the project's own configuration, as the frontend image runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import FRONTEND_STATIC, REPO
from tests.support.servers import answers, free_port, wait_until

NGINX_DIR = REPO / "frontend" / "nginx"
UNREACHABLE_API_ROUTES = [
    ("POST", "/predict/batch"),
    ("GET", "/metrics"),
    ("GET", "/api-docs"),
    ("GET", "/openapi.json"),
    ("GET", "/predict"),
    ("POST", "/model"),
    ("DELETE", "/predict"),
    ("GET", "/predict/../metrics"),
    ("GET", "/feedback"),
    ("POST", "/drift"),
    ("DELETE", "/feedback/stats"),
]
"""(method, path) of API routes the frontend must not pass on: only POST /predict and GET /model."""
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass
class RunningNginx:
    url: str
    prefix: Path

    def error_log(self) -> str:
        return (self.prefix / "error.log").read_text(errors="replace")


@contextmanager
def nginx_frontend(
    tmp_path: Path,
    api_upstream: str,
    rate: str = "50r/s",
    burst: str = "100",
    static_root: Path = FRONTEND_STATIC,
    client_timeout: str | None = None,
    conn_limit: int | None = None,
) -> Iterator[RunningNginx]:
    """nginx as the frontend image runs it; ``client_timeout`` and ``conn_limit`` default to the entrypoint's."""
    port = free_port()
    prefix = tmp_path / f"nginx-{port}"
    prefix.mkdir(parents=True)
    shutil.copy(NGINX_DIR / "nginx.conf", prefix / "nginx.conf")
    values = {
        "LISTEN_PORT": f"127.0.0.1:{port}",
        "API_UPSTREAM": api_upstream,
        "STATIC_ROOT": str(static_root),
        "PREDICT_RATE": rate,
        "PREDICT_BURST": burst,
    }
    if client_timeout is not None:
        values["CLIENT_TIMEOUT"] = client_timeout
    if conn_limit is not None:
        values["CLIENT_CONN_LIMIT"] = str(conn_limit)
    # The image's own entrypoint renders the templates, exactly as in the container.
    subprocess.run(
        [str(NGINX_DIR / "entrypoint.sh"), "true"],
        env={
            **os.environ,
            **values,
            "NGINX_TEMPLATE_DIR": str(NGINX_DIR),
            "NGINX_CONF_OUT_DIR": str(prefix / "conf.d"),
        },
        check=True,
        timeout=30,
    )
    command = [
        NGINX,
        "-p",
        str(prefix),
        "-c",
        str(prefix / "nginx.conf"),
        "-e",
        str(prefix / "error.log"),
        "-g",
        "daemon off;",
    ]
    check = subprocess.run([*command[:-2], "-t"], capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        raise RuntimeError(f"nginx rejected the configuration:\n{check.stderr}")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = RunningNginx(f"http://127.0.0.1:{port}", prefix)
    try:
        wait_until(answers(f"{server.url}/healthz"), 15, "nginx to answer /healthz")
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)
