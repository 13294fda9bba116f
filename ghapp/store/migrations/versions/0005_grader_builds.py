"""grader images built from grader repositories; the image each submission ran with

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 10:00:00

One row per grader commit and Docker engine claims its build for one worker; every submission
records the exact image id it was graded with.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "grader_builds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("grader", sa.String(length=255), nullable=False),
        sa.Column("commit_sha", sa.String(length=64), nullable=False),
        sa.Column("engine", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("image_id", sa.String(length=128), nullable=True),
        sa.Column("builder", sa.String(length=128), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failed_step", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("log_tail", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "grader", "commit_sha", "engine", name="uq_grader_builds_commit_engine"
        ),
    )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image_id", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("image_id")
    op.drop_table("grader_builds")
