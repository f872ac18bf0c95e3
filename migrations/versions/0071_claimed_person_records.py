"""person records claimed into an account; what a bound one-time code is for

Revision ID: 0071
Revises: 0070
Create Date: 2026-12-04

A dossier received at a counter for a person record (a ``users`` row of kind ``person``) can later be claimed
into the applicant's account (``domain/intake/claim.py``). The person record stays; ``claimed_by`` says which
account it was claimed into, so the person's other dossiers can be claimed into that account only. A one-time
code bound to one thing (a dossier being claimed, an invitation) says which in ``one_time_codes.subject``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0071'
down_revision: str | Sequence[str] | None = '0070'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN … REFERENCES, as in 0070 (no copy-and-move of the table on SQLite)
    op.execute("ALTER TABLE users ADD COLUMN claimed_by INTEGER REFERENCES users (id)")
    op.add_column('one_time_codes', sa.Column('subject', sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('one_time_codes') as batch:
        batch.drop_column('subject')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('claimed_by')
