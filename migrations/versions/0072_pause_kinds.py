"""what stopped the legal clock: a supplement request, a fee asked after intake, or a stop (form 05)

Revision ID: 0072
Revises: 0071
Create Date: 2026-12-04

Decree 118/2025/NĐ-CP and Circular 03/2025/TT-VPCP stop a dossier's clock for three reasons: a supplement
request (until the supplement is given), fees or taxes asked after intake (until paid) and a stop with a
legal reason (until an officer resumes it). The national indicators subtract only the supplement time, so
each pause says which it is. The pauses recorded so far were all supplement requests.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0072'
down_revision: str | Sequence[str] | None = '0071'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('dossier_pauses', sa.Column('kind', sa.String(16), nullable=False, server_default='supplement'))


def downgrade() -> None:
    with op.batch_alter_table('dossier_pauses') as batch:
        batch.drop_column('kind')
