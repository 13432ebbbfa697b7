"""AS2 transmissions: each AS2 request as received (header fields and body), its partner's
AS2 ids and Message-ID, the disposition and the MDN answered, and the inbound message it gave

Revision ID: 0020
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "as2_transmissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("as2_from", sa.String(length=128), nullable=False),
        sa.Column("as2_to", sa.String(length=128), nullable=False),
        sa.Column("as2_message_id", sa.String(length=998), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("layers", sa.JSON(), nullable=True),
        sa.Column("disposition", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("mic", sa.String(length=200), nullable=True),
        sa.Column("mdn", sa.LargeBinary(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["inbound_messages.id"],
                                name=op.f("fk_as2_transmissions_message_id_inbound_messages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_as2_transmissions")),
    )
    op.create_index("ix_as2_transmissions_from_message", "as2_transmissions",
                    ["as2_from", "as2_message_id"])


def downgrade() -> None:
    op.drop_index("ix_as2_transmissions_from_message", table_name="as2_transmissions")
    op.drop_table("as2_transmissions")
