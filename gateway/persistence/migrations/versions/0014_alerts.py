"""alerts: the notify configuration, what each recipient heard of each exception, every alert
decided (at once or for the digest), and when the daily jobs last ran

Revision ID: 0014
Revises: 0013 (after the outbox, 0011, whose rows the alerts write)
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_settings")),
    )
    op.create_table(
        "alert_marks",
        sa.Column("exception_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("heard_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("at_once_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["exception_id"], ["exceptions.id"], ondelete="CASCADE",
                                name=op.f("fk_alert_marks_exception_id_exceptions")),
        sa.PrimaryKeyConstraint("exception_id", "recipient", name=op.f("pk_alert_marks")),
    )
    op.create_table(
        "exception_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exception_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("delivery", sa.String(length=16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outbox_ids", sa.JSON(), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=True),
        sa.Column("digested_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["exception_id"], ["exceptions.id"], ondelete="CASCADE",
                                name=op.f("fk_exception_alerts_exception_id_exceptions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exception_alerts")),
    )
    op.create_index(op.f("ix_exception_alerts_exception_id"), "exception_alerts",
                    ["exception_id"])
    op.create_index("ix_exception_alerts_pending", "exception_alerts",
                    ["delivery", "digested_at"])
    runs = op.create_table(
        "scheduled_runs",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduled_runs")),
    )
    # One row per daily job from the start: a scheduler locks it to decide whether the job is
    # due, so two schedulers never both insert the first run.
    never = datetime(1970, 1, 1, tzinfo=UTC)
    op.bulk_insert(runs, [{"name": "check-overdue", "last_run_at": never},
                          {"name": "digest", "last_run_at": never}])


def downgrade() -> None:
    op.drop_table("scheduled_runs")
    op.drop_index("ix_exception_alerts_pending", table_name="exception_alerts")
    op.drop_index(op.f("ix_exception_alerts_exception_id"), table_name="exception_alerts")
    op.drop_table("exception_alerts")
    op.drop_table("alert_marks")
    op.drop_table("notify_settings")
