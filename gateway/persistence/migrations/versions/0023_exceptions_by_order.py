"""exceptions: one index on (supplier_code, order_number) instead of supplier_code alone.

Processing reads the exceptions a batch's orders already have (`supplier_code = ? AND
order_number IN (...)`); on supplier_code alone the server read every exception the supplier
ever had for each batch and filtered them, work that grew with the supplier's history. The
new index finds a batch's orders directly and still serves a search by supplier alone, its
first column.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.create_index("ix_exceptions_supplier_order", ["supplier_code", "order_number"],
                              unique=False)
        batch_op.drop_index(batch_op.f("ix_exceptions_supplier_code"))


def downgrade() -> None:
    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exceptions_supplier_code"), ["supplier_code"],
                              unique=False)
        batch_op.drop_index("ix_exceptions_supplier_order")
