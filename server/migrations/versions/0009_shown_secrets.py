"""New secrets waiting to be shown once, after the form that made them redirects

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 17:00:00

``shown_secret`` keeps a just-made API token, enrolment token or password, sealed, between the form's POST and
the page it redirects to (Post/Redirect/Get), so that a reload shows nothing and makes nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shown_secret",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ref_hash"),
    )


def downgrade() -> None:
    op.drop_table("shown_secret")
