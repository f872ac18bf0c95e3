"""channels of intake (counter, online, post), person records, cross-area receiving, postal items,
digitisation records

Revision ID: 0070
Revises: 0060
Create Date: 2026-12-04

Every dossier records its channel (KenhThucHien: 1 counter, 2 online, 3 post); the dossiers already filed
came in online, the only channel there was. A dossier received at another receiving point of the province
(cross-area, phi địa giới) keeps that unit in ``receiving_unit``; ``unit_code`` stays the deciding unit.
A person entered at a counter without an account is a ``users`` row of kind ``person`` with no
credentials; what the officer records of them (birth date, sex, address, the old ID number, a contact
phone and e-mail that are not sign-in names) gets columns of its own. Waybills of dossiers that came by
post and of results sent back by post are ``postal_items`` (a waybill number is never reused).
``digitisation_records`` say, per component document of a dossier, whether it was digitised here,
reused, or not kept: the only source of the digitised and reused figures. No row is written for the
dossiers already filed: what was attached to them is not known to have been digitised by anyone here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0070'
down_revision: str | Sequence[str] | None = '0060'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    for column in (sa.Column('birth_date', sa.Date(), nullable=True), sa.Column('sex', sa.String(8), nullable=True),
                   sa.Column('address', sa.Text(), nullable=True),
                   sa.Column('old_id_number', sa.String(12), nullable=True),
                   sa.Column('contact_phone', sa.String(16), nullable=True),
                   sa.Column('contact_email', sa.String(255), nullable=True)):
        op.add_column('users', column)
    # plain ADD COLUMN … REFERENCES (SQLite and PostgreSQL both take it; alembic's add_column with a foreign
    # key would need SQLite's copy-and-move of the whole table)
    op.execute("ALTER TABLE users ADD COLUMN created_by INTEGER REFERENCES users (id)")
    op.create_index('ix_users_contact_phone', 'users', ['contact_phone'])

    op.add_column('offerings', sa.Column('any_unit_receives', sa.Boolean(), server_default=sa.false(),
                                         nullable=False))
    op.create_table(
        'offering_receivers',
        sa.Column('procedure_code', sa.String(32),
                  sa.ForeignKey('offerings.procedure_code', ondelete='CASCADE'), primary_key=True),
        sa.Column('unit_code', sa.String(32), sa.ForeignKey('units.code'), primary_key=True),
    )

    op.add_column('dossiers', sa.Column('channel', sa.String(8), server_default='online', nullable=False))
    op.create_index('ix_dossiers_channel', 'dossiers', ['channel'])
    op.execute("ALTER TABLE dossiers ADD COLUMN receiving_unit VARCHAR(32) REFERENCES units (code)")
    op.create_index('ix_dossiers_receiving_unit', 'dossiers', ['receiving_unit'])
    op.add_column('dossiers', sa.Column('return_method', sa.String(8), server_default='online', nullable=False))
    op.add_column('dossiers', sa.Column('return_address', sa.Text(), nullable=True))
    op.add_column('dossiers', sa.Column('postal_fee_vnd', sa.Integer(), nullable=True))
    op.add_column('dossiers', sa.Column('contact_phone', sa.String(16), nullable=True))
    op.add_column('dossiers', sa.Column('contact_email', sa.String(255), nullable=True))
    op.execute("ALTER TABLE dossiers ADD COLUMN intake_by INTEGER REFERENCES users (id)")

    op.create_table(
        'postal_items',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('dossier_id', sa.Integer(), sa.ForeignKey('dossiers.id', ondelete='CASCADE'), nullable=False),
        sa.Column('direction', sa.String(4), nullable=False),
        sa.Column('waybill', sa.String(40), nullable=False),
        sa.Column('operator', sa.String(32), nullable=False),
        sa.Column('party', sa.Text(), nullable=False),
        sa.Column('address', sa.Text(), nullable=False),
        sa.Column('at', TS, nullable=False),
        sa.Column('recorded_by', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('delivered_at', TS, nullable=True),
        sa.Column('delivery_source', sa.String(16), nullable=True),
        sa.UniqueConstraint('waybill'),
    )
    op.create_index('ix_postal_items_dossier_id', 'postal_items', ['dossier_id'])

    op.create_table(
        'digitisation_records',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('dossier_id', sa.Integer(), sa.ForeignKey('dossiers.id', ondelete='CASCADE'), nullable=False),
        sa.Column('slot', sa.String(32), nullable=False),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('document_id', sa.Integer(), sa.ForeignKey('wallet_documents.id'), nullable=True),
        sa.Column('origin_dossier_id', sa.Integer(), sa.ForeignKey('dossiers.id'), nullable=True),
        sa.Column('origin_result_id', sa.Integer(), sa.ForeignKey('dossier_results.id'), nullable=True),
        sa.Column('origin_ref', sa.String(120), nullable=True),
        sa.Column('pages', sa.Integer(), nullable=False),
        sa.Column('by_user', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('unit_code', sa.String(32), nullable=True),
        sa.Column('at', TS, nullable=False),
        sa.Column('valid_until', sa.Date(), nullable=True),
        sa.UniqueConstraint('dossier_id', 'slot'),
    )
    op.create_index('ix_digitisation_records_dossier_id', 'digitisation_records', ['dossier_id'])
    op.create_index('ix_digitisation_records_kind', 'digitisation_records', ['kind'])


def downgrade() -> None:
    op.drop_table('digitisation_records')
    op.drop_table('postal_items')
    op.drop_table('offering_receivers')
    for index in ('ix_dossiers_receiving_unit', 'ix_dossiers_channel', 'ix_users_contact_phone'):
        op.drop_index(index)
    with op.batch_alter_table('dossiers') as batch:
        for column in ('intake_by', 'contact_email', 'contact_phone', 'postal_fee_vnd', 'return_address',
                       'return_method', 'receiving_unit', 'channel'):
            batch.drop_column(column)
    with op.batch_alter_table('offerings') as batch:
        batch.drop_column('any_unit_receives')
    with op.batch_alter_table('users') as batch:
        for column in ('created_by', 'contact_email', 'contact_phone', 'old_id_number', 'address', 'sex',
                       'birth_date'):
            batch.drop_column(column)
