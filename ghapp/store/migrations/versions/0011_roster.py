"""roster: an org's students (identifier, name, section, GitHub login once linked)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 03:30:00

Personal data, kept here only (never in a repository): teachers import it as CSV, students link
their GitHub login to their identifier on their first accept.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roster",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org", sa.String(length=255), nullable=False),
        sa.Column("identifier", sa.String(length=200), nullable=False),
        sa.Column("identifier_key", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("section", sa.String(length=200), nullable=False),
        sa.Column("login", sa.String(length=39), nullable=True),
        sa.Column("github_id", sa.BigInteger(), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("linked_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org", "identifier_key", name="uq_roster_identifier"),
        sa.UniqueConstraint("org", "login", name="uq_roster_login"),
    )
    op.create_index("ix_roster_org", "roster", ["org"])


def downgrade() -> None:
    op.drop_index("ix_roster_org", table_name="roster")
    op.drop_table("roster")
