"""Settings of the API service, from ``DIGITS_API_*`` environment variables (or a ``.env`` file)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

BAKED_IN_MODEL = Path(__file__).resolve().parent.parent / "models" / "default"


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DIGITS_API_", env_file=".env", extra="ignore")

    model_path: Path = Field(
        default=BAKED_IN_MODEL,
        description="Bundle to serve: a directory, a symlink to one, or a bundle zip. Defaults to the baked-in bundle.",
    )
    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=8000, ge=1, le=65535, description="TCP port to listen on.")
    threads: int = Field(default=1, ge=1, le=64, description="TFLite interpreter threads per prediction.")
    interpreters: int = Field(
        default=2,
        ge=1,
        le=16,
        description="TFLite interpreters, so predictions that may run at once: one batch's inference overlaps"
        " another's parsing and runs beside another's inference. Each holds its own tensors (a few MB: a call takes"
        " at most 64 images, larger batches run in chunks).",
    )
    max_batch: int = Field(default=512, ge=1, le=4096, description="Most images one /predict/batch request may carry.")
    micro_batch: int = Field(
        default=32,
        ge=1,
        le=256,
        description="Most single predictions that arrived in the same turn of the event loop run as one batch"
        " (nothing waits for a batch to fill); 1: each runs alone.",
    )
    max_predict_body_bytes: int = Field(
        default=64 * 1024,
        ge=4096,
        description="Largest /predict request body in bytes (one image is 2 to 16 KB of JSON); larger ones get 413 before any parsing.",
    )
    max_batch_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=4096,
        description="Largest /predict/batch request body in bytes; larger ones get 413 before any parsing.",
    )
    max_feedback_body_bytes: int = Field(
        default=256 * 1024,
        ge=4096,
        description="Largest /feedback request body in bytes (an image and its strokes: typically 10 to 40 KB).",
    )
    feedback_per_minute: float = Field(
        default=30.0, gt=0, description="Answers one browser (its random id) may send a minute, on average."
    )
    feedback_burst: int = Field(
        default=10, ge=1, description="Answers one browser may send at once before the per-minute rate applies."
    )
    body_timeout_s: float = Field(
        default=10.0, gt=0, description="Seconds a client may take to send a whole request body; slower ones get 408."
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a client may take to send a request's line and headers once it has started; slower ones get 408.",
    )
    keep_alive_timeout_s: int = Field(
        default=5,
        ge=1,
        description="Seconds an idle connection stays open, before its first request and between requests (keep it above nginx's upstream keepalive_timeout).",
    )
    max_header_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        description="Largest request line plus headers in bytes; a longer request line gets 414, longer headers 431.",
    )
    max_header_count: int = Field(default=100, ge=8, description="Most header fields in one request; more get 431.")
    limit_concurrency: int = Field(
        default=64,
        ge=2,
        description="Most open connections or in-flight requests; beyond it a request gets 503 with Retry-After (/healthz excepted).",
    )
    drift: bool = Field(
        default=True,
        description="Keep the last inputs and answers to score drift against the bundle's reference (/drift, /metrics).",
    )
    drift_window: int = Field(
        default=1000, ge=10, le=20_000, description="How many of the latest inputs drift is scored on (3 KB each)."
    )
    sample_rate: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Share of inputs kept in the store with their drift features, for drift reports (0: none; DIGITS_STORE_MAX_SAMPLES bounds how many).",
    )
    watch: bool = Field(
        default=False, description="Reload the model when the bundle at model_path changes (local mode)."
    )
    watch_interval_s: float = Field(
        default=1.0, gt=0, description="Seconds between checks of model_path when watching."
    )
    static_dir: Path | None = Field(
        default=None, description="Directory of static files to serve at / (the frontend, for make run)."
    )
    log_level: str = Field(default="info", description="uvicorn log level: critical, error, warning, info, debug.")
