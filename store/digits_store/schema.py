"""The store's tables, as SQLAlchemy Core metadata. The database itself changes only through the
migrations in ``migrations/versions``; a test checks the two agree."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

feedback = Table(
    "feedback",
    metadata,
    Column("id", String(36), primary_key=True, comment="Assigned by the store (a UUID), returned to the page."),
    Column("submission_id", String(36), nullable=False, unique=True, comment="The page's id of this answer."),
    Column("client_id", String(64), nullable=False, comment="A random per-browser id: nothing that names a person."),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("predicted", SmallInteger, nullable=False),
    Column("label", SmallInteger, nullable=False, comment="The digit the person says it was."),
    Column("correct", Boolean, nullable=False),
    Column("probabilities", JSON, nullable=False),
    Column("image", LargeBinary(784), nullable=False, comment="The 28x28 grey levels sent to the model, row by row."),
    Column("strokes", JSON, nullable=False, comment="Strokes as drawn: lists of [x, y, milliseconds]."),
    Column("canvas_width", Integer, nullable=False),
    Column("canvas_height", Integer, nullable=False),
    Column("content_sha256", String(64), nullable=False, comment="Tells a retry from a replay with other content."),
)
Index("ix_feedback_created_at", feedback.c.created_at)
Index("ix_feedback_model_version", feedback.c.model_version)

input_samples = Table(
    "input_samples",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("image", LargeBinary(784), nullable=False, comment="The 28x28 grey levels the model was given."),
    Column("features", JSON, nullable=False, comment="The drift features of the input and its answer."),
)
Index("ix_input_samples_created_at", input_samples.c.created_at)
