"""GitHub's official OpenAPI description (npm package ``@octokit/openapi``), to hold the local
GitHub-compatible server to GitHub's documented response shapes."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import tarfile
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

VERSION = "23.0.2"
CACHE = Path(os.environ.get("DIGITS_CACHE", Path.home() / ".cache" / "digits")) / "octokit-openapi" / VERSION
SPEC = CACHE / "api.github.com.json"
BASE = "urn:github-openapi"


def _download() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            ["npm", "pack", f"@octokit/openapi@{VERSION}", "--silent"],
            cwd=scratch,
            check=True,
            capture_output=True,
            timeout=300,
        )
        (archive,) = Path(scratch).glob("*.tgz")
        with tarfile.open(archive) as tar:
            member = tar.extractfile("package/generated/api.github.com.json")
            assert member is not None
            partial = SPEC.with_suffix(".partial")
            partial.write_bytes(member.read())
            partial.replace(SPEC)


def _nullable_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` is ``type: [T, "null"]`` (or anyOf with null) in JSON Schema."""
    if isinstance(node, list):
        return [_nullable_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _nullable_to_json_schema(value) for key, value in node.items()}
    if converted.pop("nullable", False):
        if isinstance(converted.get("type"), str):
            converted["type"] = [converted["type"], "null"]
            if "enum" in converted:
                converted["enum"] = [*converted["enum"], None]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


@cache
def spec() -> dict[str, Any]:
    if not SPEC.is_file():
        _download()
    document: dict[str, Any] = json.loads(SPEC.read_text())
    return {"paths": document["paths"], "components": _nullable_to_json_schema(document["components"])}


@cache
def _registry() -> Registry:
    return Registry().with_resource(BASE, Resource.from_contents(spec(), default_specification=DRAFT7))


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def response_schema_ref(method: str, template: str, status: int) -> str | None:
    """A $ref to the documented JSON body of ``method template`` answering ``status`` (None: no body)."""
    response = spec()["paths"][template][method.lower()]["responses"].get(str(status))
    if response is None:
        raise KeyError(f"{method} {template} does not document status {status}")
    pointer = f"{BASE}#/paths/{_pointer(template, method.lower(), 'responses', str(status))}"
    if "$ref" in response:
        pointer = BASE + response["$ref"]
        response = spec()["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    if "application/json" not in response.get("content", {}):
        return None
    return f"{pointer}/content/application~1json/schema"


def validate(method: str, template: str, status: int, body: Any) -> list[str]:
    ref = response_schema_ref(method, template, status)
    if ref is None:
        return [] if body is None else [f"{method} {template} {status} documents no JSON body"]
    validator = Draft7Validator({"$ref": ref}, registry=_registry())
    return [
        f"{method} {template} {status}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(body)
    ]


def _default(schema: dict[str, Any]) -> Any:
    schema = _resolve(schema)
    if "anyOf" in schema or "oneOf" in schema:
        return _default((schema.get("anyOf") or schema["oneOf"])[0])
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_default(part) or {})
        return merged
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if "enum" in schema:
        return schema["enum"][0]
    return {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [], "null": None}.get(
        kind, complete({}, schema) if kind == "object" or "properties" in schema else None
    )


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def complete(obj: dict[str, Any], schema: dict[str, Any] | str) -> dict[str, Any]:
    """``obj`` with every required field the schema names that it lacks, filled with a value of the right type."""
    resolved = _resolve({"$ref": f"#/components/schemas/{schema}"} if isinstance(schema, str) else schema)
    result = copy.deepcopy(obj)
    for name in resolved.get("required", []):
        if name not in result:
            result[name] = _default(resolved.get("properties", {}).get(name, {}))
    return result
