"""Catalogue use cases: import records, search, browse and read procedures.

Every function takes a SQLAlchemy :class:`Session` (one per use case, see ``domain.db``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from domain.catalog.models import Field, Offering, Procedure, ProcedureRevision, Unit
from domain.catalog.parse import fold, normalise, read_records
from domain.db import Reader, SessionReader
from domain.errors import InvalidInput, NotFound

BUNDLE = Path(__file__).resolve().parent / "data" / "catalogue.jsonl.gz"
LEVELS = ("ministry", "province", "commune", "other")
AUDIENCES = ("citizen", "business", "organisation")
MAX_QUERY = 200  # characters; longer queries are refused, never truncated silently
MAX_PAGE = 10_000
MAX_PAGE_SIZE = 100
CODE_QUERY = re.compile(r"^\d\.\d{6}(?:\.[A-Za-z0-9]+)?$")  # e.g. 1.001193 or 1.001193.H56
WORD = re.compile(r"[a-z0-9]+")


def slugify(value: str) -> str:
    return "-".join(WORD.findall(fold(value))) or "khac"


def content_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------
@dataclass
class ImportSummary:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_line(self) -> str:
        return (
            f"imported: {self.imported}, updated: {self.updated}, unchanged: {self.unchanged}, "
            f"failed: {self.failed}"
        )


def _body(data: dict[str, Any]) -> str:
    parts = [data["code"], data.get("kind") or "", " ".join(data.get("who_may_file") or [])]
    parts += [r["name"] for r in data.get("results") or []]
    parts += [d["name"][:300] for d in data.get("documents") or []]
    return fold(" ".join(parts))


def upsert_procedure(session: Session, data: dict[str, Any], raw: dict[str, Any], now: datetime) -> str:
    """Insert or update one normalised procedure; returns imported | updated | unchanged."""
    digest = content_hash(data)
    code = data["code"]
    proc = session.scalar(select(Procedure).where(Procedure.code == code))
    if proc is not None:
        current = session.scalar(
            select(ProcedureRevision.content_hash).where(
                ProcedureRevision.procedure_code == code, ProcedureRevision.revision == proc.revision
            )
        )
        if current == digest:
            return "unchanged"
    levels = [lv for lv in LEVELS if lv in data.get("levels", [])]
    audiences = list(data.get("audiences") or [])
    columns = dict(
        name=data["name"],
        field=data.get("field") or "",
        field_slug=slugify(data.get("field") or ""),
        levels=",".join(levels),
        audiences=",".join(audiences),
        level_ministry="ministry" in levels,
        level_province="province" in levels,
        level_commune="commune" in levels,
        level_other="other" in levels,
        for_citizen="citizen" in audiences,
        for_business="business" in audiences,
        for_organisation="organisation" in audiences,
        needs_review=bool(data.get("needs_review")),
        name_folded=fold(data["name"]),
        field_folded=fold(data.get("field") or ""),
        body_folded=_body(data),
        data=json.dumps(data, ensure_ascii=False),
        updated_at=now,
    )
    if proc is None:
        revision, outcome = 1, "imported"
        session.add(Procedure(code=code, revision=1, **columns))
        session.flush()
    else:
        revision, outcome = proc.revision + 1, "updated"
        for key, value in columns.items():
            setattr(proc, key, value)
        proc.revision = revision
    session.add(
        ProcedureRevision(
            procedure_code=code,
            revision=revision,
            content_hash=digest,
            data=columns["data"],
            raw=json.dumps(raw, ensure_ascii=False),
            imported_at=now,
        )
    )
    return outcome


def refresh_listing(session: Session) -> None:
    """Copy the offer into the procedures' search columns (``offer_mode``, ``prominence``) after an
    import or an offer change. Only rows whose values change are written: on PostgreSQL every written
    row recomputes its tsvector."""
    mode = select(Offering.mode).where(Offering.procedure_code == Procedure.code).scalar_subquery()
    session.execute(update(Procedure).where(Procedure.offer_mode.is_distinct_from(mode)).values(offer_mode=mode))
    prominence = (case((Procedure.offer_mode.is_(None), 0), else_=2)
                  + case((Procedure.level_commune, 1), else_=0))
    session.execute(update(Procedure).where(Procedure.prominence != prominence).values(prominence=prominence))


def refresh_fields(session: Session) -> None:
    """Recount the field list (about 140 rows) after an import or an offer change; refresh the
    procedures' copy of the offer first."""
    refresh_listing(session)
    rows = session.execute(
        select(
            Procedure.field_slug,
            func.min(Procedure.field),
            func.count(),
            func.count(Offering.procedure_code),
        )
        .outerjoin(Offering, Offering.procedure_code == Procedure.code)
        .group_by(Procedure.field_slug)
    ).all()
    session.execute(delete(Field))
    session.add_all(
        Field(slug=slug, name=name or "Khác", procedure_count=count, offered_count=offered)
        for slug, name, count, offered in rows
    )


def import_normalised(
    session: Session, records: Iterable[tuple[str, dict[str, Any] | None, dict[str, Any] | None, str | None]]
) -> ImportSummary:
    """Store records given as (source, normalised data, raw record, error)."""
    summary = ImportSummary()
    now = datetime.now(UTC)
    for source, data, raw, error in records:
        if error or data is None:
            summary.failed += 1
            summary.errors.append(f"{source}: {error}")
            continue
        outcome = upsert_procedure(session, data, raw or {}, now)
        setattr(summary, outcome, getattr(summary, outcome) + 1)
    if summary.imported or summary.updated:
        refresh_fields(session)
    return summary


def parse_paths(
    paths: Iterable[str | Path],
) -> Iterator[tuple[str, dict[str, Any] | None, dict[str, Any] | None, str | None]]:
    """Read and normalise the portal's raw files; a bad file becomes an error row, never an exception."""
    for path, raw, error in read_records(list(paths)):
        if raw is None:
            yield str(path), None, None, error or "unreadable"
            continue
        try:
            normalised = normalise(raw)
        except (ValueError, KeyError, TypeError) as exc:
            yield str(path), None, None, f"cannot normalise: {exc}"
            continue
        raw = {k: v for k, v in raw.items() if k != "raw_text"}  # the whole page is not worth keeping twice
        yield str(path), dict(normalised), raw, None


def import_paths(session: Session, paths: Iterable[str | Path]) -> ImportSummary:
    return import_normalised(session, parse_paths(paths))


def write_bundle(records: Iterable[tuple[str, dict[str, Any] | None, dict[str, Any] | None, str | None]],
                 target: Path = BUNDLE) -> int:
    """Write the normalised catalogue shipped with the project (sorted by code, reproducible)."""
    rows = sorted(((d["code"], d) for _s, d, _r, e in records if d is not None and not e), key=lambda x: x[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(target, "wb", mtime=0) as gz:
        for _code, data in rows:
            gz.write(json.dumps({"data": data}, ensure_ascii=False, sort_keys=True).encode() + b"\n")
    return len(rows)


def read_bundle(
    source: Path = BUNDLE,
) -> Iterator[tuple[str, dict[str, Any] | None, dict[str, Any] | None, str | None]]:
    with gzip.open(source, "rt", encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            try:
                row = json.loads(line)
                # the normalised record keeps the published text beside every parsed value
                yield f"{source}:{number}", row["data"], {"bundle": source.name}, None
            except (ValueError, KeyError) as exc:
                yield f"{source}:{number}", None, None, f"bad bundle line: {exc}"


# --------------------------------------------------------------------------------------------
# Search and browse
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchQuery:
    q: str = ""
    field: str | None = None
    level: str | None = None
    audience: str | None = None
    offered: bool = False
    online_only: bool = False
    page: int = 1
    page_size: int = 20

    def validate(self) -> SearchQuery:
        if len(self.q) > MAX_QUERY:
            raise InvalidInput(f"Từ khoá quá dài (tối đa {MAX_QUERY} ký tự).", field="q")
        if not 1 <= self.page <= MAX_PAGE:
            raise InvalidInput(f"Số trang phải từ 1 đến {MAX_PAGE}.", field="page")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise InvalidInput(f"page_size phải từ 1 đến {MAX_PAGE_SIZE}.", field="page_size")
        if self.level is not None and self.level not in LEVELS:
            raise InvalidInput(f"Cấp thực hiện phải là một trong: {', '.join(LEVELS)}.", field="level")
        if self.audience is not None and self.audience not in AUDIENCES:
            raise InvalidInput(f"Đối tượng phải là một trong: {', '.join(AUDIENCES)}.", field="audience")
        return self


@dataclass
class SearchHit:
    code: str
    name: str
    field: str
    field_slug: str
    levels: list[str]
    mode: str | None  # full | partial | in_person | None (not offered here)


@dataclass
class SearchPage:
    items: list[SearchHit]
    total: int
    page: int
    page_size: int


def _tokens(q: str) -> list[str]:
    return WORD.findall(fold(q))[:12]


def _filters(query: SearchQuery, params: dict[str, Any]) -> str:
    clauses = []
    if query.field:
        clauses.append("p.field_slug = :field")
        params["field"] = query.field
    if query.level:
        clauses.append(f"p.level_{query.level}")  # validated against LEVELS
    if query.audience:
        clauses.append(f"p.for_{query.audience}")  # validated against AUDIENCES
    if query.offered or query.online_only:
        clauses.append("p.offer_mode IS NOT NULL")
    if query.online_only:
        clauses.append("p.offer_mode = 'full'")
    return "".join(f" AND {c}" for c in clauses)


_SELECT = "SELECT p.code, p.name, p.field, p.field_slug, p.levels, p.offer_mode"
_FROM = " FROM procedures p"
# SQLite: read the narrow covering index, never the wide rows (the planner picks the primary key
# without statistics, so it is named)
_FROM_SQLITE = " FROM procedures p INDEXED BY ix_procedures_listing"


def search(source: Session | Reader, query: SearchQuery) -> SearchPage:
    """One page of the catalogue. The web skins run it with ``Database.read_rows`` (plain SQL on the
    driver's connection on SQLite); a session works too (admin pages, tests)."""
    reader = SessionReader(source) if isinstance(source, Session) else source
    query = query.validate()
    params: dict[str, Any] = {"limit": query.page_size, "offset": (query.page - 1) * query.page_size}
    where = _filters(query, params)
    tokens = _tokens(query.q)
    dialect = reader.dialect
    if CODE_QUERY.match(query.q.strip()):
        params["code"] = query.q.strip().split(".H")[0][:8] + "%"
        sql_from, order = _FROM + " WHERE p.code LIKE :code" + where, "p.code"
        count = "SELECT count(*)" + sql_from
    elif not tokens:
        sql_from, order = (_FROM_SQLITE if dialect == "sqlite" else _FROM) + " WHERE 1=1" + where, "p.name_folded"
        count = "SELECT count(*)" + sql_from
    else:
        params["phrase"] = " ".join(tokens)
        for mode in ("all", "any"):  # every word, else any of them
            sql_from, order, count = _match(dialect, tokens, mode, params, where)
            if params["offset"] == 0:  # the first page (nearly every search): hits and count in one statement
                rows = reader.rows(f"{_SELECT}, ({count}) AS total{sql_from} ORDER BY {order} LIMIT :limit", params)
                if rows or mode == "any":
                    return _result(query, rows, rows[0][6] if rows else 0)
                continue
            total = reader.rows(count, params)[0][0]
            if total:
                break
        return _page(reader, query, sql_from, order, params, total)
    return _page(reader, query, sql_from, order, params, reader.rows(count, params)[0][0])


def _match(dialect: str, tokens: list[str], mode: str, params: dict[str, Any], where: str) -> tuple[str, str, str]:
    """FTS5 on SQLite, tsvector on PostgreSQL; the last token is a prefix (search as you type).
    Returns the FROM … WHERE clause, the ORDER BY and the statement that counts the hits."""
    if dialect == "sqlite":
        last = f'"{tokens[-1]}"' + ("*" if len(tokens[-1]) > 1 else "")  # 1-letter prefixes are not indexed
        parts = [f'"{t}"' for t in tokens[:-1]] + [last]
        params["match"] = (" " if mode == "all" else " OR ").join(parts)
        sql_from = (
            " FROM procedure_search s JOIN procedures p INDEXED BY ix_procedures_listing ON p.id = s.rowid"
            " WHERE procedure_search MATCH :match" + where
        )
        # without filters every hit is a procedure: the full-text index alone counts them (no join)
        count = ("SELECT count(*) FROM procedure_search WHERE procedure_search MATCH :match" if not where
                 else "SELECT count(*)" + sql_from)
        order = _ranking("instr(p.name_folded, :phrase) > 0", "bm25(procedure_search, 10.0, 3.0, 1.0)")
        return sql_from, order, count
    parts = tokens[:-1] + [tokens[-1] + (":*" if len(tokens[-1]) > 1 else "")]
    params["tsq"] = (" & " if mode == "all" else " | ").join(parts)
    sql_from = _FROM + ", to_tsquery('simple', :tsq) tsq WHERE p.search_vector @@ tsq" + where
    order = _ranking("position(:phrase in p.name_folded) > 0", "ts_rank(p.search_vector, tsq) DESC")
    return sql_from, order, "SELECT count(*)" + sql_from


def _ranking(phrase: str, relevance: str) -> str:
    """Order of hits.

    Names that contain the whole query as a phrase come first; among those, what this province
    offers, then commune-level procedures (the ones citizens file most), then the shortest (most
    general) name: "dang ky khai sinh" → "Thủ tục đăng ký khai sinh" before its special cases.
    Everything else follows by full-text relevance (bm25 / ts_rank).

    The first three criteria are packed into one number (phrase hits negative, ``prominence`` 0–3
    in steps of 10,000, then the name's length, always < 10,000): the database evaluates the phrase
    test once per hit instead of three times and joins no offer table (the offer is copied into
    ``offer_mode``/``prominence`` by ``refresh_listing``), which makes ranking thousands of hits as
    cheap as ordering them by relevance alone (bench/README.md).
    """
    return (f"CASE WHEN {phrase} THEN (3 - p.prominence) * 10000 + length(p.name) - 1000000 ELSE 0 END, "
            f"{relevance}, p.code")


def _page(
    reader: Reader, query: SearchQuery, sql_from: str, order: str, params: dict[str, Any], total: int
) -> SearchPage:
    rows = reader.rows(f"{_SELECT}{sql_from} ORDER BY {order} LIMIT :limit OFFSET :offset", params) \
        if total > params["offset"] else []
    return _result(query, rows, total)


def _result(query: SearchQuery, rows: list[Any], total: int) -> SearchPage:
    items = [
        SearchHit(code=r[0], name=r[1], field=r[2], field_slug=r[3], levels=r[4].split(",") if r[4] else [],
                  mode=r[5])
        for r in rows
    ]
    return SearchPage(items=items, total=total, page=query.page, page_size=query.page_size)


def list_fields(session: Session) -> list[Field]:
    return list(session.scalars(select(Field).order_by(Field.name)))


def field_name(session: Session, slug: str) -> str:
    name = session.scalar(select(Field.name).where(Field.slug == slug))
    if name is None:
        raise NotFound(f"Không có lĩnh vực {slug!r}.")
    return name


@dataclass
class ProcedureView:
    data: dict[str, Any]
    revision: int
    offering: Offering | None
    unit: Unit | None


def get_procedure(session: Session, code: str) -> ProcedureView:
    row = session.execute(
        select(Procedure.data, Procedure.revision, Offering, Unit)
        .outerjoin(Offering, Offering.procedure_code == Procedure.code)
        .outerjoin(Unit, Unit.code == Offering.unit_code)
        .where(Procedure.code == code)
    ).first()
    if row is None:
        raise NotFound(f"Không có thủ tục mã {code!r}.")
    return ProcedureView(data=json.loads(row[0]), revision=row[1], offering=row[2], unit=row[3])
