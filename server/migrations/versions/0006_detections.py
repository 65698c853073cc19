"""Malware detections from the antivirus products' own histories (report schema version 2)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 14:00:00

A detection is stored once per device (``detection``), its status over time in ``detection_event``;
observations say whether the report read any product's history (``detections_readable``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("detections_readable", sa.Boolean(), nullable=True))
    op.create_table(
        "detection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("threat", sa.String(length=512), nullable=False),
        sa.Column("category", sa.String(length=128), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("product", sa.String(length=128), nullable=True),
        sa.Column("resources", sa.Text(), nullable=False),
        sa.Column("detected_at", sa.DateTime(), nullable=True),
        sa.Column("first_reported_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_since", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("device_id", "key", name="uq_detection_device_key"),
    )
    op.create_index("ix_detection_device_id", "detection", ["device_id"])
    op.create_table(
        "detection_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("detection_id", sa.Integer(), nullable=False),
        sa.Column("observed_at", sa.DateTime(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=128), nullable=True),
        sa.Column("action_success", sa.Boolean(), nullable=True),
        sa.Column("remediated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["detection_id"], ["detection.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_detection_event_detection_time", "detection_event", ["detection_id", "observed_at"])


def downgrade() -> None:
    op.drop_table("detection_event")
    op.drop_table("detection")
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.drop_column("detections_readable")
