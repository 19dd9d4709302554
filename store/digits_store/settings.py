"""Settings of the feedback store, from ``DIGITS_STORE_*`` environment variables (or a ``.env`` file)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE = Path("build") / "feedback.sqlite3"


class StoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DIGITS_STORE_", env_file=".env", extra="ignore")

    url: str = Field(
        default=f"sqlite:///{DEFAULT_SQLITE}",
        description="SQLAlchemy URL of the store: postgresql+psycopg://USER@HOST:5432/DB in the cluster, SQLite by default (no set-up); empty: no store, /feedback answers 503.",
    )
    password_file: Path | None = Field(
        default=None,
        description="File holding the database password (a mounted Secret); it is never part of the URL or the logs.",
    )
    connect_timeout_s: float = Field(
        default=3.0, gt=0, le=60, description="Timeout of opening a connection to the database, in seconds."
    )
    statement_timeout_s: float = Field(
        default=5.0, gt=0, le=300, description="Longest one statement may run, in seconds."
    )
    pool_size: int = Field(default=4, ge=1, le=64, description="Connections kept open to the database by each process.")
    max_records: int = Field(
        default=1_000_000, ge=100, description="Feedback records kept; the oldest go first beyond it."
    )
    retention_days: float = Field(default=365.0, gt=0, description="Feedback older than this many days is deleted.")
    max_samples: int = Field(
        default=20_000,
        ge=0,
        description="Inputs kept (a sample, with their drift features) for drift reports; 0: none.",
    )
    prune_every: int = Field(
        default=500, ge=1, description="Enforce max_records and retention_days after this many new records."
    )

    def as_environment(self) -> dict[str, str]:
        """These settings as the ``DIGITS_STORE_*`` variables that give them to another process."""
        prefix = self.model_config.get("env_prefix", "")
        return {f"{prefix}{name.upper()}": str(value) for name, value in self.model_dump().items() if value is not None}

    def password(self) -> SecretStr | None:
        if self.password_file is None:
            return None
        return SecretStr(self.password_file.read_text().strip())
