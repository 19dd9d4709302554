"""What each Python image packages: every first-party package its code imports, and no dependency it
does not need (the syncer's image carries no plotting or image library, the api's no TensorFlow)."""

from __future__ import annotations

import re
from pathlib import Path

import grimp
import pytest

from tests.support.paths import REPO

FIRST_PARTY = ("digits_bundle", "digits_store", "digits_api", "digits_training", "digits_syncer")
IMAGES = {"api": "digits_api", "syncer": "digits_syncer"}
NEVER_IN = {
    "api": {"tensorflow-cpu", "matplotlib", "pillow", "pygithub", "kubernetes"},
    "syncer": {"matplotlib", "pillow", "fastapi", "uvicorn"},
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
