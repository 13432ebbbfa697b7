"""line snapshots for replay; decimals to twelve places on PostgreSQL

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_DECIMALS = {
    "tolerance_profiles": ["qty_under_pct", "qty_under_abs", "qty_over_pct", "qty_over_abs",
                           "price_pct"],
    "order_lines": ["quantity", "price", "confirmed_quantity", "confirmed_price",
                    "despatched_quantity"],
    "line_versions": ["quantity", "price"],
}


def upgrade() -> None:
    with op.batch_alter_table("line_versions") as batch:
        batch.add_column(sa.Column("line_after", sa.JSON(), nullable=True))
    # SQLite keeps decimals as exact text (ExactDecimal); PostgreSQL's NUMERIC(24, 6) rounded
    # prices such as 0.0012345.
    if op.get_bind().dialect.name == "postgresql":
        for table, columns in _DECIMALS.items():
            for column in columns:
                op.alter_column(table, column, type_=sa.Numeric(38, 12),
                                existing_type=sa.Numeric(24, 6))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, columns in _DECIMALS.items():
            for column in columns:
                op.alter_column(table, column, type_=sa.Numeric(24, 6),
                                existing_type=sa.Numeric(38, 12))
    with op.batch_alter_table("line_versions") as batch:
        batch.drop_column("line_after")
