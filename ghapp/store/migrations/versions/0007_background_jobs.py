"""background jobs: bulk regrades wait behind students' pushes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 12:00:00

A regrade of every repo of an assignment (by hand or after a grader push) queues hundreds of
jobs at once. They are claimed after every other job, so a student's fresh push is never
graded after them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("background", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("background")
