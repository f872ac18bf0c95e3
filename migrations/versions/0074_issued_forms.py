"""issued forms of Circular 03/2025/TT-VPCP, numbered per unit and year

Revision ID: 0074
Revises: 0073
Create Date: 2026-12-04

Each form an event issues (01 receipt, 02 request to complete, 03 refusal, 04 apology, 05 notice of
stopping, 06 control sheet) is a row of ``issued_forms`` with its number in the issuing unit's series of
the year (unique, from ``form_counters``), what it said, and its PDF once made.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0074'
down_revision: str | Sequence[str] | None = '0073'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'form_counters',
        sa.Column('unit_code', sa.String(32), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('unit_code', 'year', name='pk_form_counters'),
    )
    op.create_table(
        'issued_forms',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=False),
        sa.Column('form', sa.String(2), nullable=False),
        sa.Column('event', sa.String(32), nullable=False),
        sa.Column('unit_code', sa.String(32), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('data', sa.Text(), nullable=False),
        sa.Column('storage_key', sa.String(80), nullable=True),
        sa.Column('wallet_document_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name='fk_issued_forms_dossier_id_dossiers', ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name='fk_issued_forms_actor_id_users'),
        sa.ForeignKeyConstraint(['wallet_document_id'], ['wallet_documents.id'],
                                name='fk_issued_forms_wallet_document_id_wallet_documents'),
        sa.PrimaryKeyConstraint('id', name='pk_issued_forms'),
        sa.UniqueConstraint('unit_code', 'year', 'seq', name='uq_issued_forms_unit_code_year_seq'),
    )
    op.create_index('ix_issued_forms_dossier_id', 'issued_forms', ['dossier_id'])


def downgrade() -> None:
    op.drop_index('ix_issued_forms_dossier_id', 'issued_forms')
    op.drop_table('issued_forms')
    op.drop_table('form_counters')
