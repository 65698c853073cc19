"""Agents bound to one device, the server's clock, possible duplicates across units

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 10:30:00

Observations say whether the PC's clock was wrong (then they are filed at the server's receipt time) and
keep the time the PC claimed; a computer may point at another unit's hand-entered asset with its serial.
Timestamps that SQLite holds with an unpadded year (below 1000) are rewritten with four digits.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TIMESTAMPS = {
    "device": ("first_seen", "last_seen", "last_observed_at", "created_at", "updated_at"),
    "observation": ("observed_at", "received_at"),
    "received_report": ("collected_at", "received_at"),
    "monitor_sighting": ("observed_at",),
    "device_version": ("valid_from", "valid_to"),
}


def upgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(sa.Column("possible_duplicate_of", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_device_possible_duplicate_of", "device", ["possible_duplicate_of"], ["id"])
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clock_wrong", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("claimed_collected_at", sa.String(length=40), nullable=True))
    with op.batch_alter_table("received_report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_collected_at", sa.String(length=40), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # Rows written with a three-digit year broke every page ("Invalid isoformat string"): pad them.
        for table, columns in _TIMESTAMPS.items():
            for column in columns:
                op.execute(f"UPDATE {table} SET {column} = substr('0000' || {column}, "  # noqa: S608 - constants
                           f"-(length({column}) + 4 - instr({column}, '-') + 1)) "
                           f"WHERE {column} IS NOT NULL AND instr({column}, '-') BETWEEN 2 AND 4")


def downgrade() -> None:
    with op.batch_alter_table("received_report", schema=None) as batch_op:
        batch_op.drop_column("claimed_collected_at")
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.drop_column("claimed_collected_at")
        batch_op.drop_column("clock_wrong")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_constraint("fk_device_possible_duplicate_of", type_="foreignkey")
        batch_op.drop_column("possible_duplicate_of")
