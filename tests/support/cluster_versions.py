"""The cluster toolchain's versions, read from automation/cluster/versions.env like its scripts read them."""

from __future__ import annotations

import os
import re

from tests.support.paths import CACHE, REPO

VERSIONS = REPO / "automation" / "cluster" / "versions.env"


def version(name: str) -> str:
    """A default from versions.env (the environment overrides it, as there)."""
    match = re.search(rf"^{name}=\$\{{{name}:-([^}}]+)\}}", VERSIONS.read_text(), re.MULTILINE)
    assert match, f"{name} not in {VERSIONS}"
    return os.environ.get(name, match.group(1))


K8S_BIN = CACHE / "k8s" / version("K8S_VERSION") / "bin"
"""Where automation/cluster/build-k8s-binaries.sh puts kubectl, the control plane and etcd."""
