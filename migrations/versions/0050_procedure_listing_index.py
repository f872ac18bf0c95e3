"""a covering index of the columns that search and browse read (SQLite)

Revision ID: 0050
Revises: 0040
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0050'
down_revision: str | Sequence[str] | None = '0040'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What search and browse read (domain/catalog/service.py names this index): with them all in one
# covering index, ranking thousands of full-text hits never touches the wide rows (`data`,
# `body_folded`). A search structure like the FTS5 table, so not in the models (domain/migrate.py).
COLUMNS = [
    "id", "code", "name", "name_folded", "field", "field_slug", "levels", "level_ministry", "level_province",
    "level_commune", "level_other", "for_citizen", "for_business", "for_organisation",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":  # PostgreSQL searches the tsvector column
        return
    op.create_index("ix_procedures_listing", "procedures", COLUMNS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_index("ix_procedures_listing", table_name="procedures")
