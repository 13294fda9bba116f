"""policy fields: branches, deadlines, the daily limit and the reveal

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 01:10:00

Jobs learn the repo's default branch and who pushed (branch filter, teachers' re-runs), their
assignment, a teacher's request to cancel, their deadline standing and whether they count
against the daily limit; submissions their late
penalty, the level they were shown at and when they are to be revealed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("default_branch", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("sender", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("assignment", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("timing", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("counted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(
            "ix_jobs_repo_received", ["owner", "repo", "received_at"], unique=False
        )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("penalty", sa.Double(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("level", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("reveal_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("reveal_lease_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_submissions_reveal_at"), ["reveal_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submissions_reveal_at"))
        for column in (
            "revealed_at",
            "reveal_lease_until",
            "reveal_at",
            "level",
            "penalty",
            "late",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_repo_received")
        for column in (
            "counted", "timing", "cancel_requested", "assignment", "sender", "default_branch",
        ):  # fmt: skip
            batch_op.drop_column(column)
