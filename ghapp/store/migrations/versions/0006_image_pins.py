"""the image reference and registry digest each submission ran with

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 10:00:00

Beside the image id (0005): the reference graded with (a registry name, or the tag of an image
built from a grader commit) and, for an image from a registry, its digest there, so a teacher
can tell which exact grader scored each submission and pull it again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image", sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column("image_digest", sa.String(length=600), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("image_digest")
        batch_op.drop_column("image")
