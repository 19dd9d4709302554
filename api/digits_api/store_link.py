"""The api's link to the feedback store, made in the background and retried: the api starts, predicts and
is ready whether the database is up or not; only ``/feedback`` waits for it."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from typing import TYPE_CHECKING

from digits_store.records import reason
from digits_store.settings import StoreSettings

if TYPE_CHECKING:
    from digits_store.feedback import FeedbackStore
    from digits_store.samples import SampleStore

log = logging.getLogger("digits_api.store")
MAX_RETRY_S = 60.0
MIGRATION_TIMEOUT_S = 120.0


class StoreLink:
    def __init__(self, settings: StoreSettings, first_retry_s: float = 1.0) -> None:
        self.settings, self.first_retry_s = settings, first_retry_s
        self.store: FeedbackStore | None = None
        self.samples: SampleStore | None = None
        self.problem = "connecting to the feedback store"

    async def connect(self) -> None:
        """Until connected and migrated: try, and after a failure wait (doubling, at most a minute)."""
        if not self.settings.url:
            self.problem = "no feedback store is configured (DIGITS_STORE_URL is empty)"
            return
        wait = self.first_retry_s
        while self.store is None:
            try:
                store, revision = await asyncio.to_thread(self._connect)
                log.info("feedback store ready at schema revision %s", revision)
                if self.settings.max_samples > 0:
                    from digits_store.samples import SampleStore

                    self.samples = SampleStore(store.engine, self.settings.max_samples)
                self.store = store
            except Exception as error:  # any failure is the store's, never the api's: log it, try again
                self.problem = reason(error)
                log.warning("feedback store unavailable (retrying in %.0f s): %s", wait, self.problem)
                await asyncio.sleep(wait)
                wait = min(wait * 2, MAX_RETRY_S)

    def _connect(self) -> tuple[FeedbackStore, str]:
        # The migrations run in a child process: Alembic (and its templates) never load into the api's memory.
        migrated = subprocess.run(
            [sys.executable, "-m", "digits_store.migrate"],
            env={**os.environ, **self.settings.as_environment()},
            capture_output=True,
            text=True,
            timeout=MIGRATION_TIMEOUT_S,
            check=False,
        )
        if migrated.returncode != 0:
            lines = (migrated.stderr or migrated.stdout).strip().splitlines()
            raise RuntimeError(f"migrating the store failed: {lines[-1] if lines else migrated.returncode}")
        # The database libraries load only once a store is configured and reachable.
        from digits_store.engine import create_store_engine
        from digits_store.feedback import FeedbackStore

        return FeedbackStore(create_store_engine(self.settings), self.settings), migrated.stdout.strip()
