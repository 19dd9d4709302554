"""The sample of inputs kept for reports: written in batches, bounded by count, read newest first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from digits_store.feedback import utc_now
from digits_store.records import InputSample, StoreUnavailable, reason
from digits_store.schema import input_samples


class SampleStore:
    def __init__(self, engine: Engine, max_samples: int, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine, self.max_samples, self.clock = engine, max_samples, clock

    def add(self, samples: Sequence[InputSample]) -> None:
        """Save ``samples`` and drop the oldest beyond ``max_samples``."""
        if not samples:
            return
        now = self.clock()
        rows = [
            {"created_at": now, "model_version": s.model_version, "image": s.image, "features": s.features}
            for s in samples
        ]
        newest_dropped = (
            select(input_samples.c.id)
            .order_by(input_samples.c.id.desc())
            .offset(self.max_samples)
            .limit(1)
            .scalar_subquery()
        )
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(input_samples), rows)
                connection.execute(delete(input_samples).where(input_samples.c.id <= newest_dropped))
        except SQLAlchemyError as error:
            raise StoreUnavailable(reason(error)) from error

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` samples, newest first."""
        query = select(input_samples).order_by(input_samples.c.id.desc()).limit(limit)
        try:
            with self.engine.connect() as connection:
                return [dict(row._mapping) for row in connection.execute(query)]
        except SQLAlchemyError as error:
            raise StoreUnavailable(reason(error)) from error

    def count(self) -> int:
        try:
            with self.engine.connect() as connection:
                return int(connection.execute(select(func.count()).select_from(input_samples)).scalar_one())
        except SQLAlchemyError as error:
            raise StoreUnavailable(reason(error)) from error
