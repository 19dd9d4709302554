"""The fetcher's defaults from its environment: the bundle the pin names (under the names ``pin_env`` holds)
and the models folder. A command-line flag wins over its variable."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from digits_bundle.pin_env import MODEL_SHA256, MODEL_URL

MODELS_DIR = "MODELS_DIR"


class FetchEnvironment(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    url: str = Field(
        default="", validation_alias=MODEL_URL, description="Bundle zip to fetch; empty: serve the fallback bundle."
    )
    sha256: str = Field(default="", validation_alias=MODEL_SHA256, description="Expected sha256 of the zip.")
    models: Path = Field(
        default=Path("/models"), validation_alias=MODELS_DIR, description="Folder whose 'current' link the api serves."
    )
