"""The site's reference pages, generated from the code at build time so that nothing is written twice:
settings, the ``DigitsModel`` resource, the bundle manifest, the HTTP API and the Python modules."""

from __future__ import annotations

import pkgutil
from importlib import import_module
from pathlib import Path

from docs import http_api
from docs.schema_tables import schema_sections
from docs.settings_reference import grouped_tables, resource_table, schema_rows, table

PACKAGES = ("digits_bundle", "digits_store", "digits_training", "digits_api", "digits_syncer")
"""The project's Python packages: the foundation (bundle, store) first, then training, then the services."""

INDEX = """# Reference

Generated from the code each time the site is built: a setting, an endpoint or a field that exists in the
code and not here fails `make test`.

```{toctree}
:maxdepth: 1

settings
digitsmodel
manifest
http-api
python
```
"""


def settings_page() -> str:
    from digits_api.settings import ApiSettings
    from digits_store.settings import StoreSettings
    from digits_syncer.settings import SyncerSettings

    return "\n\n".join(
        [
            "# Settings",
            "Every setting is an environment variable (pydantic-settings), read once at start; in the cluster "
            "the manifests in `kubernetes/base` set them (in each container's env, from ConfigMaps, and files "
            "from Secrets), and the syncer's model fields come from the DigitsModel resource "
            "([DigitsModel](digitsmodel.md)).",
            "## API",
            table(ApiSettings),
            "## Feedback store",
            "Read by the API, the syncer (its gate and retraining check) and training.",
            table(StoreSettings),
            "## Syncer",
            grouped_tables(SyncerSettings),
        ]
    )


def digitsmodel_page() -> str:
    from digits_syncer.model_resource import GROUP, KIND, VERSION, crd

    status = crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
    return "\n\n".join(
        [
            f"# {KIND}",
            f"`{GROUP}/{VERSION}`, one per namespace, named `digits`: what the syncer serves and how. Its CRD "
            "(`kubernetes/crds/digitsmodels.yaml`) is generated from the syncer's settings (`make docs`); the "
            "syncer reports into its `status`.",
            "## Spec",
            resource_table(),
            "## Status",
            f"{status.get('description', '')} `kubectl get digitsmodel digits` shows its columns; "
            "`kubectl describe` shows it whole.",
            "\n".join(["| field | type | meaning |", "|---|---|---|", *schema_rows(status, "status", defaults=False)]),
        ]
    )


def manifest_page() -> str:
    from digits_bundle.manifest import Manifest

    schema = Manifest.model_json_schema(by_alias=True)
    top = {key: value for key, value in schema.items() if key != "$defs"}
    return "\n\n".join(
        [
            "# Bundle manifest",
            "`manifest.json` at the root of every model bundle (`model.tflite` beside it): read by the api, "
            "the init container's fetcher and the syncer's gate through one reader, `digits_bundle.manifest`.",
            schema_sections({"Manifest": top}, level="##"),
            "## Its parts",
            schema_sections(schema["$defs"]),
        ]
    )


def modules(package: str) -> list[str]:
    """``package`` and its modules, skipping entry points (``__main__``) and migrations' scripts."""
    root = import_module(package)
    names = [package]
    for found in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        if found.name.endswith("__main__") or ".migrations" in found.name:
            continue
        names.append(found.name)
    return names


def python_page() -> str:
    parts = [
        "# Python modules",
        "The public functions and classes of each package, from their docstrings (Sphinx autodoc).",
    ]
    for package in PACKAGES:
        parts.append(f"## `{package}`")
        for name in modules(package):
            parts.append(f"```{{eval-rst}}\n.. automodule:: {name}\n   :members:\n   :undoc-members:\n```")
    return "\n\n".join(parts)


def write(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    pages = {
        "index": INDEX,
        "settings": settings_page(),
        "digitsmodel": digitsmodel_page(),
        "manifest": manifest_page(),
        "python": python_page(),
    }
    for name, text in pages.items():
        (directory / f"{name}.md").write_text(text.rstrip("\n") + "\n")
    http_api.write(directory)
