"""X12, UBL and cXML: documents.message_type holds the UBL and cXML document names
(OrderResponseSimple, ConfirmationRequest: 19 characters), not only EDIFACT's six-letter types
and X12's numbers; suppliers.functional_ack, the X12 997 or 999 a partner asks for

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.alter_column("message_type", existing_type=sa.String(length=16),
                              type_=sa.String(length=32), existing_nullable=False)
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("functional_ack", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.drop_column("functional_ack")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.alter_column("message_type", existing_type=sa.String(length=32),
                              type_=sa.String(length=16), existing_nullable=False)
