"""the province's processing time of an offered procedure (value, unit, legal basis)

Revision ID: 0073
Revises: 0072
Create Date: 2026-12-04

Some national records give a processing time without a unit (1.001193 says "1"). The province's offer
may state the time with its unit and legal basis; it is used (due dates, the procedure page) only where
the national record lacks a usable time. Offerings already loaded state none until the next load-offer.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0073'
down_revision: str | Sequence[str] | None = '0072'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('offerings', sa.Column('processing_time_value', sa.Float(), nullable=True))
    op.add_column('offerings', sa.Column('processing_time_unit', sa.String(16), nullable=True))
    op.add_column('offerings', sa.Column('processing_time_basis', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('offerings') as batch:
        for column in ('processing_time_basis', 'processing_time_unit', 'processing_time_value'):
            batch.drop_column(column)
