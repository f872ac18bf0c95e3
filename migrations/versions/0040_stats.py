"""statistics: per-dossier facts, daily and monthly roll-ups, processing-time histograms, ratings

Revision ID: 0040
Revises: 0030
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0040'
down_revision: str | Sequence[str] | None = '0030'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MEASURES = (
    "filed_online", "filed_in_person", "filed_postal", "supplement", "fee_due", "paid_online", "refused",
    "withdrawn", "settled", "early", "on_time", "late", "rescheduled", "late_apology", "proc_count",
    "proc_centidays", "tx", "tx_auth", "ratings", "rating_satisfied", "r_timeliness", "r_attitude", "r_clarity",
    "r_ease",
)


def _measures() -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger(), server_default='0', nullable=False) for name in MEASURES]


def _key(day: str) -> list[sa.Column]:
    return [sa.Column(day, sa.Date(), nullable=False),
            sa.Column('unit_code', sa.String(length=32), nullable=False),
            sa.Column('field_slug', sa.String(length=255), nullable=False)]


def upgrade() -> None:
    op.create_table('stats_daily', *_key('day'), *_measures(),
                    sa.PrimaryKeyConstraint('day', 'unit_code', 'field_slug', name=op.f('pk_stats_daily')))
    op.create_table('stats_monthly', *_key('month'), *_measures(),
                    sa.PrimaryKeyConstraint('month', 'unit_code', 'field_slug', name=op.f('pk_stats_monthly')))
    for name, day in (('stats_daily_durations', 'day'), ('stats_monthly_durations', 'month')):
        op.create_table(name, *_key(day),
                        sa.Column('half_days', sa.Integer(), nullable=False),
                        sa.Column('n', sa.BigInteger(), server_default='0', nullable=False),
                        sa.PrimaryKeyConstraint(day, 'unit_code', 'field_slug', 'half_days', name=op.f(f'pk_{name}')))
    op.create_table('stats_facts',
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=32), nullable=False),
    sa.Column('field_slug', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('submitted_day', sa.Date(), nullable=False),
    sa.Column('finished_day', sa.Date(), nullable=True),
    sa.Column('outcome', sa.String(length=10), nullable=True),
    sa.Column('lateness', sa.String(length=8), nullable=True),
    sa.Column('supplement', sa.Boolean(), nullable=False),
    sa.Column('fee_due', sa.Boolean(), nullable=False),
    sa.Column('paid_online', sa.Boolean(), nullable=False),
    sa.Column('rescheduled', sa.Boolean(), nullable=False),
    sa.Column('proc_centidays', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_stats_facts_dossier_id_dossiers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dossier_id', name=op.f('pk_stats_facts'))
    )
    op.create_table('stats_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=32), nullable=False),
    sa.Column('field_slug', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('timeliness', sa.SmallInteger(), nullable=False),
    sa.Column('attitude', sa.SmallInteger(), nullable=False),
    sa.Column('clarity', sa.SmallInteger(), nullable=False),
    sa.Column('ease', sa.SmallInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_stats_ratings_dossier_id_dossiers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_stats_ratings_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_ratings')),
    sa.UniqueConstraint('dossier_id', name=op.f('uq_stats_ratings_dossier_id'))
    )
    op.create_index('ix_stats_ratings_unit_created', 'stats_ratings', ['unit_code', 'created_at'], unique=False)
    # reports read a unit's dossiers by submission date (form 06 and the exports)
    op.create_index('ix_dossiers_unit_submitted', 'dossiers', ['unit_code', 'submitted_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_dossiers_unit_submitted', table_name='dossiers')
    op.drop_index('ix_stats_ratings_unit_created', table_name='stats_ratings')
    for name in ('stats_ratings', 'stats_facts', 'stats_monthly_durations', 'stats_monthly', 'stats_daily_durations',
                 'stats_daily'):
        op.drop_table(name)
