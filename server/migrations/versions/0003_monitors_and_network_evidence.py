"""Monitors as devices (EDID identity, sightings per observation) and LAN / Wi-Fi evidence on observations

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 07:00:00

Computers' next report is stored again (``last_hash`` cleared), so that the monitors it shows and its
network evidence are recorded without waiting for some other fact to change.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edid_key", sa.String(length=768), nullable=True))
        batch_op.add_column(sa.Column("monitor_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("monitor_ids", sa.String(length=256), nullable=True))
        batch_op.create_index("ix_device_edid_key", ["edid_key"], unique=True)
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lan_evidence", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("wifi_evidence", sa.Boolean(), nullable=True))
    op.create_table(
        "monitor_sighting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("observation_id", sa.Integer(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("observed_at", sa.DateTime(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["host_id"], ["device.id"]),
        sa.ForeignKeyConstraint(["monitor_id"], ["device.id"]),
        sa.ForeignKeyConstraint(["observation_id"], ["observation.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("monitor_sighting", schema=None) as batch_op:
        batch_op.create_index("ix_monitor_sighting_monitor_time", ["monitor_id", "observed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_monitor_sighting_observation_id"), ["observation_id"], unique=False)
    op.execute("UPDATE device SET last_hash = NULL WHERE machine_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("monitor_sighting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitor_sighting_observation_id"))
        batch_op.drop_index("ix_monitor_sighting_monitor_time")
    op.drop_table("monitor_sighting")
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.drop_column("wifi_evidence")
        batch_op.drop_column("lan_evidence")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index("ix_device_edid_key")
        batch_op.drop_column("monitor_ids")
        batch_op.drop_column("monitor_key")
        batch_op.drop_column("edid_key")
