"""The model bundle's manifest: the contract every component relies on.

A bundle is a directory (or a zip of one, named ``<name>-<version>.zip``) holding
``manifest.json``, ``model.tflite`` and optionally ``saved_model/``.
See ARCHITECTURE.md, "Model bundle".
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

MANIFEST_FILE = "manifest.json"
MODEL_FILE = "model.tflite"
SCHEMA_VERSION = 1
VERSION_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._+-]*"
"""A model version (and so a release tag the syncer deploys): a letter or digit, then letters, digits, ``. _ + -``."""
PIXELS = 784
MAX_MANIFEST_BYTES = 1024 * 1024
"""Largest manifest accepted, in bytes (the committed one is about 4 KB)."""
MAX_MANIFEST_DEPTH = 32
"""Deepest nesting of JSON arrays and objects accepted (the schema needs 4)."""
MAX_PATH_COMPONENT_BYTES = 255
"""Longest file or folder name, in UTF-8 bytes: what Linux file systems allow."""


class ManifestError(ValueError):
    """``manifest.json`` is not a manifest; the message says why."""


def json_nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text``, counted without recursion.

    Run before ``json.loads``, whose recursive parser turns a deep document into a RecursionError.
    Brackets inside strings do not count.
    """
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


class InputSpec(BaseModel):
    """What the model expects once a drawing is turned into 784 grey levels 0..255."""

    model_config = ConfigDict(extra="forbid")

    shape: tuple[Literal[28], Literal[28], Literal[1]] = (28, 28, 1)
    scale: Literal[255, 1] = Field(
        description="255: the model takes grey levels 0..255 as they are; 1: it takes grey/255 in 0..1."
    )
    foreground: Literal["white-on-black"] = "white-on-black"


class ClassMetrics(BaseModel):
    precision: float = Field(ge=0, le=1)
    recall: float = Field(ge=0, le=1)
    support: int = Field(ge=0)


class Metrics(BaseModel):
    """Evaluation on a held-out test set that training never saw."""

    test_accuracy: float = Field(ge=0, le=1)
    n_test: int = Field(ge=0)
    per_class: dict[str, ClassMetrics]
    confusion_matrix: list[list[int]] = Field(description="Rows are true labels, columns predictions, in label order.")
    dataset: str = Field(default="", description="What the test set was, e.g. 'mnist-test'.")


class StoreSnapshot(BaseModel):
    """Which collected drawings a model saw: the feedback records read from the store."""

    records: int = Field(ge=0, description="Feedback records read from the store.")
    used: int = Field(ge=0, description="Of those, the drawings usable for these labels (whole image, known label).")
    newest: datetime | None = Field(default=None, description="When the newest record read was saved.")
    digest: str = Field(description="sha256 hex of the ids of the drawings used, in order: the snapshot's identity.")


class DataProvenance(BaseModel):
    """How many examples of each kind the model was trained on (validation included)."""

    base: int = Field(default=0, ge=0, description="Training digits of ``training.dataset`` (MNIST's, unless folders).")
    pad_renderings: int = Field(
        default=0, ge=0, description="Of those, how many were also redrawn as the page's drawing pad draws."
    )
    pen_renderings: int = Field(
        default=0, ge=0, description="Renderings of UCI's pen digits (other writers than MNIST's), as the pad draws."
    )
    collected: int = Field(default=0, ge=0, description="Drawings labelled by people through the page.")
    collected_held_out: int = Field(
        default=0, ge=0, description="Collected drawings held out (never trained on) by a stable hash of their id."
    )
    max_per_client: int | None = Field(
        default=None, description="Most collected drawings taken from any one browser (the poisoning bound)."
    )
    store: StoreSnapshot | None = None


class Training(BaseModel):
    """Where the model came from."""

    dataset: str
    dataset_sha256: str = ""
    epochs: int = 0
    seed: int | None = None
    code_revision: str = ""
    duration_s: float | None = None
    source: str = Field(default="", description="For converted foreign releases: what was converted.")
    data: DataProvenance | None = Field(default=None, description="The training data by kind (newer bundles).")
    fine_tuned_from: str | None = Field(default=None, description="The bundle version training started from.")


class Evaluation(BaseModel):
    """Accuracy on an evaluation set other than the test set of ``metrics``."""

    accuracy: float = Field(ge=0, le=1)
    n: int = Field(ge=0)
    dataset: str = Field(description="What the set was and how it was made.")


class FeatureReference(BaseModel):
    edges: list[float] = Field(min_length=2, max_length=64)
    proportions: list[float] = Field(min_length=1, max_length=63)

    @model_validator(mode="after")
    def _consistent(self) -> FeatureReference:
        if len(self.proportions) != len(self.edges) - 1:
            raise ValueError("one proportion per bin: len(proportions) must be len(edges) - 1")
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError("edges must increase")
        if any(p < 0 for p in self.proportions) or abs(sum(self.proportions) - 1) > 1e-3:
            raise ValueError("proportions must be non-negative and sum to 1")
        return self


class DriftReference(BaseModel):
    """Distributions of the drift features on the data the model was trained on."""

    dataset: str
    n: int = Field(ge=1)
    features: dict[str, FeatureReference] = Field(max_length=32)


class Manifest(BaseModel):
    """``manifest.json`` at the root of a bundle."""

    model_config = ConfigDict(extra="allow")

    schema_: int = Field(alias="schema", ge=1, le=SCHEMA_VERSION)
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    version: str = Field(min_length=1, pattern=f"^{VERSION_PATTERN}$")
    created: datetime
    labels: list[int] = Field(min_length=2, description="Output index -> digit label.")
    input: InputSpec
    files: dict[str, str] = Field(description="Relative path -> sha256 hex of every file but the manifest.")
    metrics: Metrics
    training: Training
    evaluations: dict[str, Evaluation] | None = Field(
        default=None,
        max_length=16,
        description="Accuracy on sets other than MNIST's test set: 'drawn' (font digits drawn as the page would"
        " receive them) and 'collected_held_out' (people's labelled drawings never trained on).",
    )
    drift_reference: DriftReference | None = Field(
        default=None,
        description="Distributions of the drift features on the training data (bundles packaged before it: none;"
        " their drift is unknown).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels must be distinct, got {self.labels}")
        if any(not 0 <= label <= 9 for label in self.labels):
            raise ValueError(f"labels must be digits 0..9, got {self.labels}")
        if MODEL_FILE not in self.files:
            raise ValueError(f"files must list {MODEL_FILE}")
        for path, digest in self.files.items():
            parts = path.split("/")
            if path.startswith("/") or ".." in parts or "" in parts or not path.isprintable() or path == MANIFEST_FILE:
                raise ValueError(f"files lists an invalid path: {path!r}")
            if any(len(part.encode()) > MAX_PATH_COMPONENT_BYTES for part in parts):
                raise ValueError(f"files lists a name longer than {MAX_PATH_COMPONENT_BYTES} bytes: {path!r}")
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise ValueError(f"files[{path!r}] is not a sha256 hex digest: {digest!r}")
        n = len(self.labels)
        matrix = self.metrics.confusion_matrix
        if matrix and (len(matrix) != n or any(len(row) != n for row in matrix)):
            raise ValueError(f"confusion_matrix must be {n}x{n} for {n} labels")
        return self

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2, exclude_none=True) + "\n"

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """Parse ``manifest.json`` from untrusted bytes; every way it can be wrong is a ``ManifestError``.

        Size and nesting are bounded before parsing, the text must be strict UTF-8, and schema
        errors name each field that is wrong.
        """
        if len(raw) > MAX_MANIFEST_BYTES:
            raise ManifestError(f"{len(raw)} bytes, more than the {MAX_MANIFEST_BYTES} a manifest may have")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ManifestError(f"not valid UTF-8: byte {error.start} is {raw[error.start]:#04x}") from error
        depth = json_nesting_depth(text)
        if depth > MAX_MANIFEST_DEPTH:
            raise ManifestError(f"JSON nested {depth} levels deep, more than {MAX_MANIFEST_DEPTH}")
        try:
            document = json.loads(text)
        except ValueError as error:  # JSONDecodeError, and integers too long to convert
            raise ManifestError(f"not valid JSON: {error}") from error
        try:
            return cls.model_validate(document)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'manifest'}: {e['msg']}" for e in error.errors()
            )
            raise ManifestError(f"invalid manifest: {problems}") from error
