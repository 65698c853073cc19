"""An index for "when did this user last sign out", read with every console request

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 17:00:00

A session issued before its user's last ``console.logout`` no longer counts, so every console request asks the
audit log for that moment. The index on ``action`` alone made it a scan of every sign-out ever recorded.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_action_actor_at", "audit_log", ["action", "actor", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_action_actor_at", table_name="audit_log")
