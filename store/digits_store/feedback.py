"""Feedback records in and out of the store: saved once per submission, pruned to the configured bounds,
summarised for the live accuracy figures."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from digits_store.records import FeedbackRecord, Replayed, Saved, StoreUnavailable, reason
from digits_store.schema import feedback
from digits_store.settings import StoreSettings
from digits_store.stats import FeedbackStats, summarise


def utc_now() -> datetime:
    return datetime.now(UTC)


class FeedbackStore:
    def __init__(self, engine: Engine, settings: StoreSettings, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine, self.settings, self.clock = engine, settings, clock
        self._since_prune = 0

    def add(self, record: FeedbackRecord) -> Saved:
        """Save ``record`` once: the same submission again answers the first one's id (``Replayed`` when its
        content differs). ``StoreUnavailable`` when the database cannot take it now."""
        digest = record.content_sha256()
        row = {
            **asdict(record),
            "id": str(uuid.uuid4()),
            "created_at": self.clock(),
            "correct": record.label == record.predicted,
            "content_sha256": digest,
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(feedback).values(**row))
        except IntegrityError:
            return self._existing(record.submission_id, digest)
        except (DBAPIError, PoolTimeout, SQLAlchemyError) as error:
            raise StoreUnavailable(reason(error)) from error
        self._since_prune += 1
        if self._since_prune >= self.settings.prune_every:
            self._since_prune = 0
            self.prune()
        return Saved(row["id"], created=True)

    def _existing(self, submission_id: str, digest: str) -> Saved:
        query = select(feedback.c.id, feedback.c.content_sha256).where(feedback.c.submission_id == submission_id)
        try:
            with self.engine.connect() as connection:
                found = connection.execute(query).first()
        except SQLAlchemyError as error:
            raise StoreUnavailable(reason(error)) from error
        if found is None:  # not a duplicate after all: another constraint, which no valid record breaks
            raise StoreUnavailable("the database refused the record")
        if found.content_sha256 != digest:
            raise Replayed(f"submission {submission_id} was already saved with other content")
        return Saved(found.id, created=False)

    def prune(self) -> int:
        """Delete what is older than the retention period, then the oldest beyond ``max_records``."""
        cutoff = self.clock() - timedelta(days=self.settings.retention_days)
        try:
            with self.engine.begin() as connection:
                removed = connection.execute(delete(feedback).where(feedback.c.created_at < cutoff)).rowcount
                newest_kept = (
                    select(feedback.c.created_at)
                    .order_by(feedback.c.created_at.desc())
                    .offset(self.settings.max_records - 1)
                    .limit(1)
                    .scalar_subquery()
                )
                removed += connection.execute(delete(feedback).where(feedback.c.created_at < newest_kept)).rowcount
        except SQLAlchemyError as error:
            raise StoreUnavailable(reason(error)) from error
        return int(removed)

    def stats(self, max_versions: int = 20) -> FeedbackStats:
        """Counts, accuracy per model version (the ``max_versions`` most answered) and the confusion matrix."""
        query = select(
            feedback.c.model_version, feedback.c.label, feedback.c.predicted, func.count().label("n")
        ).group_by(feedback.c.model_version, feedback.c.label, feedback.c.predicted)
        try:
            with self.engine.connect() as connection:
                rows: Sequence[Any] = connection.execute(query).all()
        except SQLAlchemyError as error:
            raise StoreUnavailable(reason(error)) from error
        return summarise([(r.model_version, r.label, r.predicted, r.n) for r in rows], max_versions)

    def count(self, after: datetime | None = None) -> int:
        """Feedback records kept (only those saved after ``after``, when given)."""
        query = select(func.count()).select_from(feedback)
        if after is not None:
            query = query.where(feedback.c.created_at > after)
        try:
            with self.engine.connect() as connection:
                return int(connection.execute(query).scalar_one())
        except SQLAlchemyError as error:
            raise StoreUnavailable(reason(error)) from error
