"""The README as a new user reads it: its commands exist and come in the promised order."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess

import pytest

from tests.support.paths import REPO

README = (REPO / "README.md").read_text()
COMMANDS = [
    line.strip()
    for block in re.findall(r"```sh\n(.*?)```", README, re.DOTALL)
    for line in block.splitlines()
    if line.strip() and not line.strip().startswith("#")
]


def _make_targets() -> set[str]:
    makefile = (REPO / "Makefile").read_text()
    return set(re.findall(r"^([a-zA-Z0-9_-]+):", makefile, re.MULTILINE))


def test_the_two_setup_commands_come_first():
    assert COMMANDS[:2] == [
        "make run    # the whole app locally at http://127.0.0.1:8000 (no cluster needed)",
        "make test   # every check: lint, the Python suites against real servers, nginx and Chromium, JS unit tests",
    ]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_readme_command_exists(command):
    words = command.split("#")[0].split()
    if words[0] == "make":
        assert words[1] in _make_targets(), f"no make target {words[1]}"
    elif "-m" in words:
        module = words[words.index("-m") + 1]
        paths = [str(REPO / p) for p in ("bundle", "store", "api", "automation/training", "automation", "syncer")]
        import sys

        sys.path[:0] = [p for p in paths if p not in sys.path]
        assert importlib.util.find_spec(module) is not None, f"no module {module}"
    elif words[:2] == ["docker", "exec"]:
        assert words[2] == "digits-worker", "only the store's kind node is reached into"
    elif words[0].endswith(".sh"):
        script = REPO / words[0]
        assert script.is_file() and os.access(script, os.X_OK), f"no script {words[0]}"
    elif words[0] == "docker":
        dockerfile = words[words.index("-f") + 1] if "-f" in words else f"{words[-1]}/Dockerfile"
        assert (REPO / dockerfile).is_file()
    elif words[:2] == ["kubectl", "wait"]:
        from digits_syncer.model_resource import GROUP, PLURAL

        assert words[-1] == f"{PLURAL}.{GROUP}", "only the CRD is waited for"
    elif words[0] == "kubectl":
        assert (REPO / words[-1]).is_dir()
    elif words[0] == "kind":
        assert words[1] in ("create", "load", "delete")
        if "--config" in words:
            assert (REPO / words[words.index("--config") + 1]).is_file()
    else:
        raise AssertionError(f"a README command the test does not know how to check: {command}")


def test_make_help_lists_every_documented_target():
    help_text = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for command in COMMANDS:
        if command.startswith("make "):
            assert command.split()[1] in help_text
