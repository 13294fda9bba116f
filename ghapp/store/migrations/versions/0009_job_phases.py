"""job phases: when a graded job reached each step from the push to its result on GitHub

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 12:30:00

Unix times by phase name (claimed, downloaded, created, started, exited, staged, accepted), for
the submission page's timeline and the per-phase histograms. Null for jobs graded before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phases", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("phases")
