"""locks and archives: hand-outs locked at the cutoff, unlocked, archived; and their log

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("handouts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("unlocked", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "handout_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org", sa.String(length=255), nullable=False),
        sa.Column("assignment", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("by", sa.String(length=255), nullable=False),
        sa.Column("repos", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("handout_actions")
    with op.batch_alter_table("handouts", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
        batch_op.drop_column("unlocked")
        batch_op.drop_column("locked_at")
