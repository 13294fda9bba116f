"""similarity: each assignment's report, its pairs, and the code of the commits it compares

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "similarity_sources",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("repo", sa.String(length=255), nullable=False),
        sa.Column("commit_sha", sa.String(length=64), nullable=False),
        sa.Column("files", sa.LargeBinary(), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner", "repo", "commit_sha", name="uq_similarity_sources_commit"),
    )
    op.create_table(
        "similarity_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org", sa.String(length=255), nullable=False),
        sa.Column("assignment", sa.String(length=100), nullable=False),
        sa.Column("stale_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_by", sa.String(length=255), nullable=True),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("commits", sa.JSON(), nullable=False),
        sa.Column("template", sa.String(length=255), nullable=True),
        sa.Column("template_sha", sa.String(length=64), nullable=True),
        sa.Column("submissions", sa.Integer(), nullable=False),
        sa.Column("compared", sa.Integer(), nullable=False),
        sa.Column("below", sa.Double(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org", "assignment", name="uq_similarity_reports_assignment"),
    )
    op.create_table(
        "similarity_pairs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("repo_a", sa.String(length=255), nullable=False),
        sa.Column("sha_a", sa.String(length=64), nullable=False),
        sa.Column("repo_b", sa.String(length=255), nullable=False),
        sa.Column("sha_b", sa.String(length=64), nullable=False),
        sa.Column("similarity_a", sa.Double(), nullable=False),
        sa.Column("similarity_b", sa.Double(), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("fragments", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["similarity_reports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,  # ids are never reused (see the model)
    )
    op.create_index("ix_similarity_pairs_report_id", "similarity_pairs", ["report_id"])


def downgrade() -> None:
    op.drop_index("ix_similarity_pairs_report_id", table_name="similarity_pairs")
    op.drop_table("similarity_pairs")
    op.drop_table("similarity_reports")
    op.drop_table("similarity_sources")
