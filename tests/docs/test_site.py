"""The documentation site: it builds with warnings as errors, every internal link and anchor leads
somewhere, and its reference holds every setting, endpoint and schema field the code has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic_settings import BaseSettings

from tests.support.docs_site import broken_links, parse, text_of
from tests.support.paths import REPO


def test_every_internal_link_and_anchor_leads_somewhere(site):
    pages = list(site.rglob("*.html"))
    assert len(pages) >= 20, pages
    assert broken_links(site) == []


def test_a_broken_anchor_is_found(site, tmp_path):
    copy = tmp_path / "index.html"
    copy.write_text(
        (site / "index.html").read_text().replace('href="architecture.html"', 'href="architecture.html#nowhere"')
    )
    (tmp_path / "architecture.html").write_text((site / "architecture.html").read_text())
    assert [link for link in broken_links(tmp_path) if "#nowhere" in link]


def _env_names(settings: type[BaseModel]) -> list[str]:
    if issubclass(settings, BaseSettings):
        prefix = settings.model_config.get("env_prefix", "")
        return [f"{prefix}{name}".upper() for name in settings.model_fields]
    # A settings class made of groups of settings (the syncer's).
    return [name for field in settings.model_fields.values() for name in _env_names(field.annotation)]


def test_every_setting_is_in_the_reference(site):
    from digits_api.settings import ApiSettings
    from digits_store.settings import StoreSettings
    from digits_syncer.settings import SyncerSettings

    text = text_of(site / "reference" / "settings.html")
    names = [name for settings in (ApiSettings, StoreSettings, SyncerSettings) for name in _env_names(settings)]
    assert len(names) > 50
    assert [name for name in names if name not in text] == []


def _api_routes(routes: list[Any], prefix: str = "") -> list[Any]:
    """The app's documented routes, through the routers it includes."""
    from fastapi.routing import APIRoute

    found = []
    for route in routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            found.append((prefix + route.path, route))
        elif hasattr(route, "original_router"):  # FastAPI's wrapper of an included router
            found += _api_routes(route.original_router.routes, prefix + route.include_context.prefix)
    return found


def _request_fields(schema: dict[str, Any]) -> list[str]:
    options = schema.get("oneOf") or schema.get("anyOf") or [schema]
    nested = [field for definition in schema.get("$defs", {}).values() for field in _request_fields(definition)]
    return [name for option in options for name in option.get("properties", {})] + nested


def test_every_endpoint_and_its_schemas_fields_are_in_the_reference(site):
    from digits_api.app import create_app
    from digits_api.settings import ApiSettings

    app = create_app(ApiSettings(model_path=Path("unused")))
    page = parse(site / "reference" / "http-api.html")
    text = page.whole_text
    routes = _api_routes(app.routes)
    assert len(routes) >= 9
    assert [
        f"{method} {path}" for path, route in routes for method in route.methods if f"{method} {path}" not in text
    ] == []
    for path, route in routes:
        model = route.response_model
        if isinstance(model, type) and issubclass(model, BaseModel):
            for name, nested in _models(model, {}).items():
                section = page.section_text(f"schema-{name.lower()}")
                assert [field for field in _field_names(nested) if field not in section.split()] == [], name
        for method, operation in app.openapi()["paths"][path].items():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                fields = _request_fields(media["schema"])
                assert [field for field in fields if field not in text.split()] == [], f"{method} {path}"


def _schema_paths(schema: dict[str, Any], path: str) -> list[str]:
    found = []
    for name, field in schema.get("properties", {}).items():
        found.append(f"{path}.{name}")
        found += _schema_paths(field, f"{path}.{name}")
        found += _schema_paths(field.get("items", {}), f"{path}.{name}[]")
    return found


def test_every_field_of_the_digitsmodel_resource_is_in_the_reference(site):
    crd = yaml.safe_load((REPO / "kubernetes" / "crds" / "digitsmodels.yaml").read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    fields = _schema_paths(schema["spec"], "spec") + _schema_paths(schema["status"], "status")
    text = text_of(site / "reference" / "digitsmodel.html")
    assert len(fields) > 20
    assert [field for field in fields if field not in text] == []


def _models(model: type[BaseModel], seen: dict[str, type[BaseModel]]) -> dict[str, type[BaseModel]]:
    """``model`` and every model its fields hold, by name."""
    seen[model.__name__] = model
    for field in model.model_fields.values():
        for candidate in _types_in(field.annotation):
            if issubclass(candidate, BaseModel) and candidate.__name__ not in seen:
                _models(candidate, seen)
    return seen


def _field_names(model: type[BaseModel]) -> list[str]:
    """As they appear in JSON: by alias where there is one."""
    return [field.alias or name for name, field in model.model_fields.items()]


def _types_in(annotation: Any) -> list[type]:
    from typing import get_args

    if isinstance(annotation, type):
        return [annotation]
    return [found for argument in get_args(annotation) for found in _types_in(argument)]


def test_every_field_of_the_bundle_manifest_is_in_the_reference(site):
    from digits_bundle.manifest import Manifest

    page = parse(site / "reference" / "manifest.html")
    models = _models(Manifest, {})
    assert len(models) > 5
    for name, model in models.items():
        section = page.section_text(f"schema-{name.lower()}")
        assert [field for field in _field_names(model) if field not in section.split()] == [], name
