"""warm requests: every worker's engine makes a changed grader image ready

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 14:00:00

A push to a grader repo or to the org file is handled by one worker, on its engine; a row here
asks every other worker to build or pull the same image on its own engine before a student's
push needs it there.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "warm_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("assignment", sa.String(length=100), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_warm_requests_created_at", "warm_requests", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_warm_requests_created_at", table_name="warm_requests")
    op.drop_table("warm_requests")
