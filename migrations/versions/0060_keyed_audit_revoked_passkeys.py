"""keyed audit chain (a chain version per row); passkeys revoked, never deleted

Revision ID: 0060
Revises: 0050
Create Date: 2026-12-03

The audit chain becomes HMAC-SHA256 with a key kept outside the database (MOTCUA_AUDIT_KEY). A
migration cannot re-chain the rows already written (it has no key, and must not): they keep their plain
SHA-256 hashes as chain version 1 and are verified the old way, as a prefix sealed by the first keyed row
(domain/audit.py). Passkeys get ``revoked_at``: removing one revokes it, its public key stays, so the
decisions it signed can still be verified against the key on record.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0060'
down_revision: str | Sequence[str] | None = '0050'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN: every row already written is chain version 1 (unkeyed)
    op.add_column('audit_events', sa.Column('chain', sa.Integer(), server_default='1', nullable=False))
    op.add_column('passkeys', sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE passkeys DROP COLUMN revoked_at")  # SQLite ≥ 3.35, PostgreSQL
    op.execute("ALTER TABLE audit_events DROP COLUMN chain")
