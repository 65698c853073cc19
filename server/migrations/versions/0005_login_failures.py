"""Failed console sign-ins, so that every server process throttles from the same record

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-03 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_failure_at", "login_failure", ["at"])
    op.create_index("ix_login_failure_username_at", "login_failure", ["username", "at"])
    op.create_index("ix_login_failure_address_at", "login_failure", ["address", "at"])


def downgrade() -> None:
    op.drop_table("login_failure")
