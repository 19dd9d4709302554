"""Drawings people labelled through the page, read from the feedback store for training and evaluation.

Every record is hostile until checked: its grey levels must be 784 bytes and its label one of the model's.
A fixed share of the records, chosen by a stable hash of the id the store gave each, is held out: never
trained on, only used to compare models (``held_out``). And one browser (``client_id``) can make up only a
bounded share of what is used (``bounded_per_client``), so a flood from one browser moves a model little.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, select

from digits_bundle.manifest import PIXELS, StoreSnapshot
from digits_bundle.mnist import DataError
from digits_store.schema import feedback

HELD_OUT_FRACTION = 0.2
"""Share of collected drawings kept out of training for good, to compare models on."""
MAX_CLIENT_SHARE = 0.01
"""Largest share of a training set that one browser's drawings may make up."""
MAX_ROWS = 1_000_000
"""Most records read from the store at once (the store keeps at most its ``max_records``)."""


def hash_fraction(key: str) -> float:
    """A number in [0, 1) fixed by ``key`` alone: the same record falls on the same side of a split forever."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


@dataclass(frozen=True)
class Collected:
    """Labelled drawings, oldest first: ``images`` (n, 28, 28) uint8, ``labels`` (n,) int64, and per drawing
    the store's ``ids`` and the ``clients`` that sent them."""

    images: np.ndarray
    labels: np.ndarray
    ids: tuple[str, ...]
    clients: tuple[str, ...]
    snapshot: StoreSnapshot

    @property
    def count(self) -> int:
        return len(self.labels)

    def held_out(self, fraction: float = HELD_OUT_FRACTION) -> np.ndarray:
        """Boolean mask of the drawings never trained on."""
        return np.array([hash_fraction(i) < fraction for i in self.ids], dtype=bool)

    def targets(self, labels: Sequence[int]) -> np.ndarray:
        """The labels as indices into ``labels`` (a model's output order); ``DataError`` for one not there."""
        lookup = {label: index for index, label in enumerate(labels)}
        if any(int(label) not in lookup for label in self.labels):
            raise DataError(f"collected drawings have labels outside {list(labels)}")
        return np.array([lookup[int(label)] for label in self.labels], dtype=np.int64)

    def take(self, mask: np.ndarray) -> Collected:
        picks = np.flatnonzero(mask)
        return Collected(
            images=self.images[picks],
            labels=self.labels[picks],
            ids=tuple(self.ids[i] for i in picks),
            clients=tuple(self.clients[i] for i in picks),
            snapshot=self.snapshot,
        )


def empty(snapshot: StoreSnapshot | None = None) -> Collected:
    return Collected(
        images=np.zeros((0, 28, 28), np.uint8),
        labels=np.zeros(0, np.int64),
        ids=(),
        clients=(),
        snapshot=snapshot or StoreSnapshot(records=0, used=0, newest=None, digest=hashlib.sha256().hexdigest()),
    )


def read_collected(engine: Engine, labels: Sequence[int], max_rows: int = MAX_ROWS) -> Collected:
    """The labelled drawings in the store (the newest ``max_rows``) whose label is one of ``labels`` and whose
    image is whole; the snapshot names exactly which records were read."""
    query = select(feedback.c.id, feedback.c.client_id, feedback.c.created_at, feedback.c.label, feedback.c.image)
    query = query.order_by(feedback.c.created_at.desc(), feedback.c.id).limit(max_rows)
    with engine.connect() as connection:
        rows = connection.execute(query).all()[::-1]
    wanted = set(labels)
    kept = [row for row in rows if row.label in wanted and isinstance(row.image, bytes) and len(row.image) == PIXELS]
    digest = hashlib.sha256()
    for row in kept:
        digest.update(f"{row.id}\n".encode())
    snapshot = StoreSnapshot(
        records=len(rows),
        used=len(kept),
        newest=max((row.created_at for row in rows), default=None),
        digest=digest.hexdigest(),
    )
    if not kept:
        return empty(snapshot)
    return Collected(
        images=np.frombuffer(b"".join(row.image for row in kept), dtype=np.uint8).reshape(-1, 28, 28),
        labels=np.array([row.label for row in kept], dtype=np.int64),
        ids=tuple(row.id for row in kept),
        clients=tuple(row.client_id for row in kept),
        snapshot=snapshot,
    )


def bounded_per_client(collected: Collected, cap: int) -> Collected:
    """At most ``cap`` drawings from each browser, chosen by the stable hash (not by arrival, which a
    sender controls)."""
    by_client: dict[str, list[int]] = defaultdict(list)
    for index, client in enumerate(collected.clients):
        by_client[client].append(index)
    mask = np.zeros(collected.count, dtype=bool)
    for indices in by_client.values():
        ranked = sorted(indices, key=lambda i: hash_fraction(f"rank:{collected.ids[i]}"))
        mask[ranked[: max(0, cap)]] = True
    return collected.take(mask)
