"""leaderboard: a graded run's results.json leaderboard entries, for the assignment's page

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 03:00:00

A list of {name, value, order} as the grader wrote them (runner.outcome.LeaderboardEntry), kept
beside the outcome so that the gradebook reads it without loading every outcome. Null when the
grader wrote none, and for runs graded before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leaderboard", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("leaderboard")
