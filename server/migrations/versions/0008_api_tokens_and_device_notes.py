"""Personal tokens for the read API; a device's notes; sheets uploaded for an import preview

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 14:00:00

``api_token`` holds each user's read-API tokens (SHA-256 of the secret, expiry, last use, revocation);
``device.notes`` and ``device_version.notes`` keep the officer's free text, versioned like every hand-kept fact.
The status ``broken`` needs no schema change (the column is text). ``sheet_upload`` keeps a sheet uploaded on
the console's import page between its preview and its commit.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_api_token_user_id", "api_token", ["user_id"])
    op.create_table(
        "sheet_upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=256), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    for table in ("device", "device_version"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("notes", sa.String(length=2000), nullable=True))


def downgrade() -> None:
    for table in ("device_version", "device"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("notes")
    op.drop_table("sheet_upload")
    op.drop_index("ix_api_token_user_id", table_name="api_token")
    op.drop_table("api_token")
