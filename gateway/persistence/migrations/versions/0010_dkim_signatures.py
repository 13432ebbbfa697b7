"""dkim signatures: each DKIM signature that authenticated a processed message, and the
first message that carried it, so that a replay of the signed message is a duplicate

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dkim_signatures",
        sa.Column("b_sha256", sa.String(length=64), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["inbound_messages.id"],
                                name=op.f("fk_dkim_signatures_message_id_inbound_messages")),
        sa.PrimaryKeyConstraint("b_sha256", "domain", name=op.f("pk_dkim_signatures")),
    )


def downgrade() -> None:
    op.drop_table("dkim_signatures")
