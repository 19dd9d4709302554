"""A bounded sample of the inputs the model answered, with their drift features, for reports.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "input_samples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("image", sa.LargeBinary(784), nullable=False, comment="The 28x28 grey levels the model was given."),
        sa.Column("features", sa.JSON(), nullable=False, comment="The drift features of the input and its answer."),
        sa.PrimaryKeyConstraint("id", name="pk_input_samples"),
    )
    op.create_index("ix_input_samples_created_at", "input_samples", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_input_samples_created_at", table_name="input_samples")
    op.drop_table("input_samples")
