"""JSON Schemas as Markdown tables: one section per named schema, a row per property, named types linked."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def anchor(name: str) -> str:
    """The target a schema's section gets, so that pages can link to it by name."""
    return f"schema-{name.lower()}"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _array_type(schema: Schema) -> str:
    if "prefixItems" in schema:
        return "array of " + ", ".join(type_of(item) for item in schema["prefixItems"])
    return f"array of {type_of(schema['items'])}" if schema.get("items") else "array"


def type_of(schema: Schema) -> str:
    """A short, readable type: ``integer``, ``array of number``, a link to a named schema, ``A or B``."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{anchor(name)})"
    options = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
    if options:
        return " or ".join(dict.fromkeys(type_of(option) for option in options))
    kind = schema.get("type", "any")
    if kind == "array":
        return _array_type(schema)
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {type_of(schema['additionalProperties'])}"
    if "enum" in schema or "const" in schema:
        return " \\| ".join(f"`{value}`" for value in schema.get("enum", [schema.get("const")]))
    return str(kind)


def limits(schema: Schema) -> str:
    words = {
        "minimum": "≥",
        "maximum": "≤",
        "minItems": "at least {} items",
        "maxItems": "at most {} items",
        "minLength": "at least {} characters",
        "maxLength": "at most {} characters",
        "pattern": "matches `{}`",
    }
    parts = []
    for key, word in words.items():
        if key in schema:
            parts.append(word.format(schema[key]) if "{}" in word else f"{word} {schema[key]}")
    return ", ".join(parts)


def properties_table(schema: Schema) -> str:
    required = set(schema.get("required", ()))
    rows = ["| field | type | required | meaning |", "|---|---|---|---|"]
    for name, field in schema.get("properties", {}).items():
        meaning = " ".join(part for part in (field.get("description", ""), limits(field)) if part)
        rows.append(f"| `{name}` | {type_of(field)} | {'yes' if name in required else 'no'} | {_cell(meaning)} |")
    return "\n".join(rows)


def schema_sections(schemas: dict[str, Schema], level: str = "###") -> str:
    """A section per schema, each with a target named by :func:`anchor`."""
    parts = []
    for name, schema in schemas.items():
        description = _cell(schema.get("description", ""))
        body = properties_table(schema) if "properties" in schema else f"Type: {type_of(schema)}"
        parts.append(f"({anchor(name)})=\n{level} {name}\n\n{description}\n\n{body}".replace("\n\n\n", "\n\n"))
    return "\n\n".join(parts)
