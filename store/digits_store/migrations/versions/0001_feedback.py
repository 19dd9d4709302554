"""The feedback table.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.String(36), nullable=False, comment="Assigned by the store (a UUID), returned to the page."),
        sa.Column("submission_id", sa.String(36), nullable=False, comment="The page's id of this answer."),
        sa.Column(
            "client_id", sa.String(64), nullable=False, comment="A random per-browser id: nothing that names a person."
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("predicted", sa.SmallInteger(), nullable=False),
        sa.Column("label", sa.SmallInteger(), nullable=False, comment="The digit the person says it was."),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("probabilities", sa.JSON(), nullable=False),
        sa.Column(
            "image",
            sa.LargeBinary(784),
            nullable=False,
            comment="The 28x28 grey levels sent to the model, row by row.",
        ),
        sa.Column("strokes", sa.JSON(), nullable=False, comment="Strokes as drawn: lists of [x, y, milliseconds]."),
        sa.Column("canvas_width", sa.Integer(), nullable=False),
        sa.Column("canvas_height", sa.Integer(), nullable=False),
        sa.Column(
            "content_sha256", sa.String(64), nullable=False, comment="Tells a retry from a replay with other content."
        ),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        sa.UniqueConstraint("submission_id", name="uq_feedback_submission_id"),
    )
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"])
    op.create_index("ix_feedback_model_version", "feedback", ["model_version"])


def downgrade() -> None:
    op.drop_index("ix_feedback_model_version", table_name="feedback")
    op.drop_index("ix_feedback_created_at", table_name="feedback")
    op.drop_table("feedback")
