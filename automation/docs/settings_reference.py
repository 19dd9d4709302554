"""Settings and the ``DigitsModel`` spec as Markdown tables, from the settings classes (the site's
reference pages, ``docs.reference_pages``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_settings import BaseSettings

REPO = Path(__file__).resolve().parents[2]


def _default(value: Any) -> str:
    if value is None or value == "":
        return "unset"
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, Path):
        return f"`{value.relative_to(REPO) if value.is_relative_to(REPO) else value}`"
    if hasattr(value, "value"):
        return f"`{value.value}`"
    return f"`{value}`"


def table(settings: type[BaseSettings]) -> str:
    prefix = settings.model_config.get("env_prefix", "")
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in settings.model_fields.items():
        rows.append(f"| `{prefix}{name.upper()}` | {_default(field.default)} | {field.description or ''} |")
    return "\n".join(rows)


def grouped_tables(settings: type[BaseModel]) -> str:
    """One table per group of ``settings``, whose fields are settings classes, each under its title and
    the first line of its docstring."""
    parts = []
    for field in settings.model_fields.values():
        group = field.annotation
        if not (isinstance(group, type) and issubclass(group, BaseSettings)):
            raise TypeError(f"{settings.__name__}: {group} is not a group of settings")
        summary = (group.__doc__ or "").strip().splitlines()[0]
        parts.append(f"**{field.title}**: {summary}\n\n{table(group)}")
    return "\n\n".join(parts)


def _default_cell(field: dict[str, Any]) -> str:
    if "properties" in field:
        return ""  # an object: its fields' rows say theirs
    value = field.get("default")
    return f"`{str(value).lower()}`" if isinstance(value, bool) else _default(value)


def schema_rows(schema: dict[str, Any], path: str, defaults: bool = True) -> list[str]:
    """A table row per field of a CRD schema (``path.field``, its type, its default when ``defaults``, its
    meaning), nested objects and list items (``[]``) included, in schema order."""
    rows = []
    for name, field in schema.get("properties", {}).items():
        where = f"{path}.{name}"
        items = field.get("items", {})
        kind = field.get("type", "any") + (f" of {items.get('type', 'any')}" if items else "")
        default = [_default_cell(field)] if defaults else []
        cells = [f"`{where}`", kind, *default, " ".join(field.get("description", "").split())]
        rows.append("| " + " | ".join(cells) + " |")
        if "properties" in field:
            rows += schema_rows(field, where, defaults)
        if "properties" in items:
            rows += schema_rows(items, f"{where}[]", defaults)
    return rows


def resource_table() -> str:
    """The ``DigitsModel`` spec, field by field, from its CRD's schema (itself generated from the settings)."""
    from digits_syncer.model_resource import crd

    schema = crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    rules = "\n".join(f"- {rule['message']}" for rule in schema["x-kubernetes-validations"])
    rows = ["| field | type | default | meaning |", "|---|---|---|---|", *schema_rows(schema, "spec")]
    return "\n".join(rows) + "\n\nChecked by the API server as well (validation rules):\n\n" + rules
