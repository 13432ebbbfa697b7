"""supplier replies: the partner's language and reminder settings, each email reply decided
(sent or suppressed, with why: the per-hour cap counts them) and the reminders sent per
overdue confirmation

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suppliers") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=True))
        batch.add_column(sa.Column("reminders", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("reminder_every_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reminder_max", sa.Integer(), nullable=True))
    op.create_table(
        "email_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_code", sa.String(64), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("why", sa.Text(), nullable=True),
        sa.Column("wire_id", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["inbound_messages.id"],
                                name=op.f("fk_email_replies_message_id_inbound_messages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_replies")),
    )
    op.create_index("ix_email_replies_supplier_created", "email_replies",
                    ["supplier_code", "created_at"])
    op.create_table(
        "supplier_reminders",
        sa.Column("exception_id", sa.Integer(), nullable=False),
        sa.Column("supplier_code", sa.String(64), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["exception_id"], ["exceptions.id"],
                                name=op.f("fk_supplier_reminders_exception_id_exceptions")),
        sa.PrimaryKeyConstraint("exception_id", name=op.f("pk_supplier_reminders")),
    )


def downgrade() -> None:
    op.drop_table("supplier_reminders")
    op.drop_index("ix_email_replies_supplier_created", table_name="email_replies")
    op.drop_table("email_replies")
    with op.batch_alter_table("suppliers") as batch:
        batch.drop_column("reminder_max")
        batch.drop_column("reminder_every_days")
        batch.drop_column("reminders")
        batch.drop_column("language")
