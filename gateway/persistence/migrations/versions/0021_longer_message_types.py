"""documents.message_type holds the UBL and cXML document names (OrderResponseSimple,
ConfirmationRequest: 19 characters), not only EDIFACT's six-letter types and X12's numbers

Revision ID: 0021
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.alter_column("message_type", existing_type=sa.String(length=16),
                              type_=sa.String(length=32), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.alter_column("message_type", existing_type=sa.String(length=32),
                              type_=sa.String(length=16), existing_nullable=False)
