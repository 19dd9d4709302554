"""The FastAPI application: wiring of settings, model registry, routes, metrics and error mapping."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import numpy as np
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from digits_api.drift_monitor import DriftCollector, DriftMonitor
from digits_api.errors import ApiError, NotReady, error_response, server_error_response
from digits_api.fast_path import PredictFastPath
from digits_api.metrics import ApiMetrics, MetricsMiddleware
from digits_api.micro_batch import Observer
from digits_api.registry import BundleWatcher, ModelRegistry
from digits_api.routes import service
from digits_api.routes.drift import drift_router
from digits_api.routes.feedback import FeedbackRoutes
from digits_api.routes.predict import PredictRoutes
from digits_api.sampler import InputSampler
from digits_api.settings import ApiSettings
from digits_api.store_link import StoreLink
from digits_bundle.runtime import DigitModel, ModelNotReady
from digits_store.settings import StoreSettings

log = logging.getLogger("digits_api")

DOCS_URL = "/api-docs"
"""Swagger UI, off /docs (the project's documentation site's path); no ReDoc page."""
DOCS_ASSETS_URL = f"{DOCS_URL}/assets"
DOCS_ASSETS_PACKAGE = ("fastapi_offline", "static")
"""Where Swagger UI's script, stylesheet and icon come from: a pinned wheel (api/requirements.txt), served by
the API itself, as clusters without internet access can't reach the CDN FastAPI's own page loads them from."""

_NO_FRONTEND = f"""<!doctype html><title>digits API</title>
<p>The digit recogniser API is running. No frontend is being served here: see <a href="{DOCS_URL}">{DOCS_URL}</a>.
</p>"""


class DigitsApp(FastAPI):
    """FastAPI, with layers of our own outside its middleware stack (its error handling included): the
    metrics middleware, then the ``POST /predict`` fast path, see each request before any of FastAPI's."""

    outer_layers: Callable[[ASGIApp], ASGIApp] | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        return stack if self.outer_layers is None else self.outer_layers(stack)


def _watching(drift: DriftMonitor, sampler: InputSampler) -> Observer:
    """Drift and sampling watch every answer; a fault in them is logged, and never fails the predictions."""

    def observe(images: np.ndarray, probabilities: np.ndarray, model: DigitModel) -> None:
        try:
            drift.observe(images, probabilities)
            sampler.observe(images, probabilities, model)
        except Exception:
            log.exception("drift or sampling failed on %d inputs; the predictions were answered", len(images))

    return observe


def create_app(settings: ApiSettings, store_settings: StoreSettings | None = None) -> FastAPI:
    metrics = ApiMetrics()
    link = StoreLink(store_settings or StoreSettings())

    drift = DriftMonitor(settings.drift_window, enabled=settings.drift)

    def on_swap(model: DigitModel) -> None:
        metrics.served(model.version, model.loaded_at or 0.0)
        drift.reset()

    registry = ModelRegistry(settings.model_path, settings.threads, on_swap=on_swap, interpreters=settings.interpreters)

    def served_model() -> DigitModel | None:
        try:
            return registry.current
        except NotReady:
            return None

    metrics.registry.register(DriftCollector(drift, served_model))
    sampler = InputSampler(settings.sample_rate, link, metrics.registry)

    observe = _watching(drift, sampler)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(registry.reload)
        watcher = BundleWatcher(registry, settings.watch_interval_s) if settings.watch else None
        if watcher:
            watcher.start()
        connecting = asyncio.create_task(link.connect())
        sampler.start()
        loop = asyncio.get_running_loop()
        # No signals here (not the main thread): asyncio says so with RuntimeError, uvloop with ValueError.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, registry.reload))
        yield
        connecting.cancel()
        await asyncio.to_thread(sampler.stop)
        if watcher:
            watcher.stop()

    app = DigitsApp(
        title="Digit recogniser API",
        version="1.0.0",
        description="Handwritten digit recognition with a CNN trained on MNIST, served from a versioned model bundle.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.registry, app.state.metrics, app.state.store = registry, metrics, link

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(ModelNotReady)
    async def model_not_ready(request: Request, error: ModelNotReady) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(Exception)
    async def server_error(request: Request, error: Exception) -> JSONResponse:
        # Starlette answers this one in plain text otherwise; the traceback is still logged.
        return server_error_response()

    routes = PredictRoutes(registry, metrics, settings, observe)
    app.include_router(routes.router)
    app.include_router(drift_router(registry, drift))
    app.include_router(FeedbackRoutes(registry, metrics, settings, link).router)
    app.include_router(service.router)
    _add_docs(app)
    if settings.static_dir is not None:
        # What no route matches, not what a route matches by path but not by method: mounted at "/", the files
        # would answer GET /predict with 404 rather than the router's 405 with Allow: POST.
        app.router.default = StaticFiles(directory=settings.static_dir, html=True)
        insights = settings.static_dir / "insights.html"

        @app.get("/insights", include_in_schema=False)
        async def insights_page() -> FileResponse:
            return FileResponse(insights, headers={"Cache-Control": "no-cache"})
    else:

        @app.get("/", include_in_schema=False)
        async def index() -> HTMLResponse:
            return HTMLResponse(_NO_FRONTEND)

    app.outer_layers = lambda stack: MetricsMiddleware(PredictFastPath(stack, routes.predict), metrics)
    return app


def _add_docs(app: FastAPI) -> None:
    """FastAPI's Swagger UI page at DOCS_URL, its assets from the API itself rather than a CDN."""
    app.mount(DOCS_ASSETS_URL, StaticFiles(packages=[DOCS_ASSETS_PACKAGE]), name="api-docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_URL, include_in_schema=False)
    async def api_docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS_URL}/favicon.png",
            oauth2_redirect_url=None,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )
