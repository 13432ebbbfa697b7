"""sender authentication: the SMTP envelope and the authentication verdict of each message, the
trust processing gave it, and each supplier's mail_auth policy

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("envelope", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("authentication", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("sender_trust", sa.String(16), nullable=True))
    # Messages archived before sender authentication existed were taken as their senders'
    # then; a replay of one keeps doing so.
    op.execute("UPDATE inbound_messages SET authentication = "
               "'{\"method\": \"legacy\", \"from_domain\": null, "
               "\"note\": \"received before sender authentication\"}'")
    with op.batch_alter_table("suppliers") as batch:
        batch.add_column(sa.Column("mail_auth", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("suppliers") as batch:
        batch.drop_column("mail_auth")
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_column("sender_trust")
        batch.drop_column("authentication")
        batch.drop_column("envelope")
