"""AS2 asynchronous MDNs to our messages: as2_transmissions.outbound_id, the outbox row an
incoming MDN named (the row itself waits in the new state `awaiting_mdn`, a value of the
existing `state` column); the daily job `as2-certificates` gets its scheduled_runs row

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("as2_transmissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outbound_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_as2_transmissions_outbound_id_outbound_messages"), "outbound_messages",
            ["outbound_id"], ["id"])
    # Like 0014's jobs: the row exists from the start, a scheduler locks it to decide whether
    # the job is due, so two schedulers never both insert the first run.
    runs = sa.table("scheduled_runs", sa.column("name", sa.String),
                    sa.column("last_run_at", sa.DateTime(timezone=True)))
    op.bulk_insert(runs, [{"name": "as2-certificates",
                           "last_run_at": datetime(1970, 1, 1, tzinfo=UTC)}])


def downgrade() -> None:
    op.execute("DELETE FROM scheduled_runs WHERE name = 'as2-certificates'")
    with op.batch_alter_table("as2_transmissions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_as2_transmissions_outbound_id_outbound_messages"),
                                 type_="foreignkey")
        batch_op.drop_column("outbound_id")
