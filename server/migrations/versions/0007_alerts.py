"""Alerts to the officer and the users' e-mail address and language for the alert digest

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 15:00:00

``alert``: one row per occurrence of a rule for a device (or a register licence); a partial unique index keeps
one live (open or acknowledged) alert per key. ``app_user`` gains ``email``, ``lang`` and ``digest_sent_at``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_LIVE = "state != 'resolved'"


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("lang", sa.String(length=8), nullable=False, server_default="vi"))
        batch_op.add_column(sa.Column("digest_sent_at", sa.DateTime(), nullable=True))
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=256), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=128), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("ack_comment", sa.String(length=1000), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["org_unit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_rule", "alert", ["rule"])
    op.create_index("ix_alert_device_id", "alert", ["device_id"])
    op.create_index("ix_alert_state_opened", "alert", ["state", "opened_at"])
    op.create_index("uq_alert_live_key", "alert", ["key"], unique=True, sqlite_where=sa.text(_LIVE),
                    postgresql_where=sa.text(_LIVE))


def downgrade() -> None:
    op.drop_table("alert")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("digest_sent_at")
        batch_op.drop_column("lang")
        batch_op.drop_column("email")
