"""search listing: the offer's mode and a ranking prominence on procedures; a covering index (SQLite)

Revision ID: 0050
Revises: 0040
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0050'
down_revision: str | Sequence[str] | None = '0040'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What search and browse read (domain/catalog/service.py names this index): with them all in one
# covering index, ranking thousands of full-text hits never touches the wide rows (`data`,
# `body_folded`). A search structure like the FTS5 table, so not in the models (domain/migrate.py).
COLUMNS = [
    "id", "code", "name", "name_folded", "field", "field_slug", "levels", "offer_mode", "prominence",
    "level_ministry", "level_province", "level_commune", "level_other", "for_citizen", "for_business",
    "for_organisation",
]
FOLDED = "name_folded, field_folded, body_folded"


def upgrade() -> None:
    # plain ALTER TABLE … ADD COLUMN (a batch copy of the table would lose the FTS5 triggers)
    op.add_column('procedures', sa.Column('offer_mode', sa.String(length=16), nullable=True))
    op.add_column('procedures', sa.Column('prominence', sa.Integer(), server_default='0', nullable=False))
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # re-index the full text only when the searched text changes, not on every column update
        op.execute("DROP TRIGGER procedure_search_au")
        op.execute(
            f"CREATE TRIGGER procedure_search_au AFTER UPDATE OF {FOLDED} ON procedures BEGIN "
            f"INSERT INTO procedure_search(procedure_search, rowid, {FOLDED}) "
            "VALUES ('delete', old.id, old.name_folded, old.field_folded, old.body_folded); "
            f"INSERT INTO procedure_search(rowid, {FOLDED}) "
            "VALUES (new.id, new.name_folded, new.field_folded, new.body_folded); END"
        )
    op.execute(
        "UPDATE procedures SET offer_mode = (SELECT o.mode FROM offerings o WHERE o.procedure_code = procedures.code) "
        "WHERE code IN (SELECT procedure_code FROM offerings)"
    )
    op.execute(
        "UPDATE procedures SET prominence = (CASE WHEN offer_mode IS NULL THEN 0 ELSE 2 END) "
        "+ (CASE WHEN level_commune THEN 1 ELSE 0 END) WHERE offer_mode IS NOT NULL OR level_commune"
    )
    if sqlite:
        op.create_index("ix_procedures_listing", "procedures", COLUMNS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_procedures_listing", table_name="procedures")
        op.execute("DROP TRIGGER procedure_search_au")
        op.execute(
            f"CREATE TRIGGER procedure_search_au AFTER UPDATE ON procedures BEGIN "
            f"INSERT INTO procedure_search(procedure_search, rowid, {FOLDED}) "
            "VALUES ('delete', old.id, old.name_folded, old.field_folded, old.body_folded); "
            f"INSERT INTO procedure_search(rowid, {FOLDED}) "
            "VALUES (new.id, new.name_folded, new.field_folded, new.body_folded); END"
        )
    op.execute("ALTER TABLE procedures DROP COLUMN prominence")  # SQLite ≥ 3.35, PostgreSQL
    op.execute("ALTER TABLE procedures DROP COLUMN offer_mode")
