"""handouts: each student's (or team's) repository of an assignment, made once

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 03:40:00

The unique (org, assignment, holder) makes a second accept find the first one's repository;
the unique (org, repo) keeps a name from belonging to two holders.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "handouts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org", sa.String(length=255), nullable=False),
        sa.Column("assignment", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("login", sa.String(length=39), nullable=False),
        sa.Column("repo", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("maker", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("repo_id", sa.BigInteger(), nullable=True),
        sa.Column("invitation_id", sa.BigInteger(), nullable=True),
        sa.Column("adopted", sa.Boolean(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org", "assignment", "holder", name="uq_handouts_holder"),
        sa.UniqueConstraint("org", "repo", name="uq_handouts_repo"),
    )


def downgrade() -> None:
    op.drop_table("handouts")
