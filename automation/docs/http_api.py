"""The HTTP API's reference page, from the service's own OpenAPI description."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docs.schema_tables import Schema, limits, properties_table, schema_sections, type_of


def openapi() -> Schema:
    """The description the running service publishes at ``/openapi.json`` (no model needs to be loaded)."""
    from digits_api.app import create_app
    from digits_api.settings import ApiSettings

    return create_app(ApiSettings(model_path=Path("unused"))).openapi()


def _body_option(option: Schema) -> str:
    if "properties" in option:
        title = option.get("title", "An object")
        return f"{title}, with these fields:\n\n{properties_table(option)}"
    lead = f"{option['title']}: " if "title" in option else ""
    details = " ".join(part for part in (option.get("description", ""), limits(option)) if part)
    return f"{lead}{type_of(option)}" + (f" ({details})" if details else "")


def _request_body(operation: dict[str, Any]) -> list[str]:
    """The body each media type takes: each alternative (oneOf) in turn, the schemas it names after it."""
    parts = []
    for media, entry in operation.get("requestBody", {}).get("content", {}).items():
        schema = entry.get("schema", {})
        options = schema.get("oneOf") or schema.get("anyOf") or [schema]
        lead = f"Request body (`{media}`)" + (", one of:" if len(options) > 1 else ":")
        parts.append("\n\n".join([lead, *(_body_option(option) for option in options)]))
        if "$defs" in schema:
            parts.append(schema_sections(schema["$defs"], level="####"))
    return parts


def _responses(operation: dict[str, Any]) -> str:
    rows = ["| status | meaning | body |", "|---|---|---|"]
    for status, response in operation.get("responses", {}).items():
        content = response.get("content", {})
        body = ", ".join(type_of(entry["schema"]) for entry in content.values() if "schema" in entry)
        rows.append(f"| {status} | {' '.join(response.get('description', '').split())} | {body} |")
    return "\n".join(rows)


def _operation(path: str, method: str, operation: dict[str, Any]) -> str:
    parts = [f"### `{method.upper()} {path}`", operation.get("summary", "")]
    if operation.get("description"):
        parts.append(operation["description"])
    parts += _request_body(operation)
    for parameter in operation.get("parameters", []):
        parts.append(f"Parameter `{parameter['name']}` ({parameter['in']}): {parameter.get('description', '')}")
    parts.append(_responses(operation))
    return "\n\n".join(parts)


def page(description: Schema) -> str:
    info = description["info"]
    operations = [
        _operation(path, method, operation)
        for path, methods in description["paths"].items()
        for method, operation in methods.items()
    ]
    schemas = description.get("components", {}).get("schemas", {})
    return "\n\n".join(
        [
            "# HTTP API",
            f"{info['title']} {info['version']}: {info['description']}",
            "Generated from the service's OpenAPI description, which it also serves at `/openapi.json` (the "
            "interactive page is `/api-docs` on the api itself; the frontend proxies only the routes the page "
            "needs). Every error body is JSON with a `detail`.",
            "## Endpoints",
            *operations,
            "## Schemas",
            schema_sections(schemas),
        ]
    )


def write(directory: Path) -> None:
    """``http-api.md`` and the description it came from (``openapi.json``, offered for download)."""
    description = openapi()
    (directory / "http-api.md").write_text(page(description) + "\n")
    (directory / "openapi.json").write_text(json.dumps(description, indent=2) + "\n")
