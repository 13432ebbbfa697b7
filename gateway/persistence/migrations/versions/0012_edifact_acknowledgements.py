"""edifact acknowledgements: each supplier's contrl and aperak wishes, and the interchange
control reference counter per partner

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
# Built on the outbox (0011), which it enqueues into; both revise 0010 on their own branches.
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suppliers") as batch:
        batch.add_column(sa.Column("contrl", sa.String(16), nullable=True))
        batch.add_column(sa.Column("aperak", sa.String(16), nullable=True))
    op.create_table(
        "interchange_counters",
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("last_reference", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("partner", name=op.f("pk_interchange_counters")),
    )


def downgrade() -> None:
    op.drop_table("interchange_counters")
    with op.batch_alter_table("suppliers") as batch:
        batch.drop_column("aperak")
        batch.drop_column("contrl")
