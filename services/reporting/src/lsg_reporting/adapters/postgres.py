"""PostgreSQL access of the reporting service: every SQL statement it runs.

Facts in (the consumer's one-statement batch, the naive one-by-one path), figures out (computed by query),
the catalogue and area names, deliverables, the publisher's record of emitted figures, and the rebuild's
tables and runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import asyncpg
import msgspec

from lsg_events.geography import Place
from lsg_reporting.domain import availability
from lsg_reporting.domain.catalogue import Catalogue, Indicator
from lsg_reporting.domain.figures import Cell
from lsg_reporting.domain.rules import FACT_COLUMNS, Fact
from lsg_shared.db import Conn

FACT_TABLE = "fact"

_PERIOD_EXPR = {
    "programme": "'programme'",
    "year": "to_char(event_time AT TIME ZONE 'UTC', 'YYYY')",
    "quarter": "to_char(event_time AT TIME ZONE 'UTC', 'YYYY\"Q\"Q')",
    "month": "to_char(event_time AT TIME ZONE 'UTC', 'YYYYMM')",
}
# The same periods from `m`, the fact's month (date_trunc of its UTC event time): the roll-up of `cells`.
_PERIOD_OF_MONTH = {
    "programme": "'programme'",
    "year": "to_char(m, 'YYYY')",
    "quarter": "to_char(m, 'YYYY\"Q\"Q')",
    "month": "to_char(m, 'YYYYMM')",
}
_PERIOD_SQL = {kind: f"('{kind}', {expr})" for kind, expr in _PERIOD_OF_MONTH.items()}
_DIM_SQL = {
    "total": "('total', 'ALL', '')",
    "country": "('country', country, '')",
    "municipality": "('municipality', municipality, country)",
    "territory": "('territory', territory, municipality)",
    "settlement": "('settlement', settlement, territory)",
    "role": "('role', role, '')",
    "gender": "('gender', gender, '')",
    "wave": "('wave', wave::text, '')",
    "tag": "('tag', tag, '')",
}
AREA_COLUMNS = ("country", "municipality", "territory", "settlement")
# The fact columns each breakdown reads (the first step of `cells` keeps those).
_DIM_COLUMNS = {
    "total": (),
    "country": ("country",),
    "municipality": ("municipality", "country"),
    "territory": ("territory", "municipality"),
    "settlement": ("settlement", "territory"),
    "role": ("role",),
    "gender": ("gender",),
    "wave": ("wave",),
    "tag": ("tag",),
}


def _current(table: str, *, only_current: bool = True) -> str:
    """The facts in force before `$2`: per (code, corr_key) the highest priority, then the event identity.

    With ``only_current=False`` every fact known before `$2` is returned, `rnk` = 1 marking those in force.
    """
    return f"""
        SELECT * FROM (
            SELECT f.*, dense_rank() OVER (
                PARTITION BY code, corr_key ORDER BY priority DESC, source DESC, event_id DESC) AS rnk
            FROM {table} f WHERE code = ANY($1::text[]) AND valid_from < $2
        ) ranked {"WHERE rnk = 1" if only_current else ""}
    """


# ---- catalogue -----------------------------------------------------------------------------------------
async def upsert_catalogue(conn: Conn, catalogue: Catalogue) -> None:
    await conn.executemany(
        """
        INSERT INTO indicator (code, grp, title, measure, unit, target, definition, updated_at)
        VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7::jsonb, now())
        ON CONFLICT (code) DO UPDATE SET grp = EXCLUDED.grp, title = EXCLUDED.title, measure = EXCLUDED.measure,
            unit = EXCLUDED.unit, target = EXCLUDED.target, definition = EXCLUDED.definition, updated_at = now()
        WHERE indicator.definition IS DISTINCT FROM EXCLUDED.definition
        """,
        [
            (
                i.code,
                i.group,
                i.title.model_dump(),
                i.measure,
                i.unit,
                i.target,
                json.loads(i.model_dump_json()),
            )
            for i in catalogue.indicators
        ],
    )


# ---- facts in ------------------------------------------------------------------------------------------
async def insert_facts(conn: Conn, facts: Sequence[Fact], table: str = FACT_TABLE) -> None:
    if facts:
        await conn.copy_records_to_table(table, records=[f.row() for f in facts], columns=list(FACT_COLUMNS))


_COLUMNS = ", ".join(FACT_COLUMNS)
_TIMES = ("event_time", "valid_from")
# Per connection: the batch's facts are COPied here (binary COPY is the cheapest way in, for Python and for
# PostgreSQL), with their times as POSIX timestamps (float8: far cheaper to encode than timestamptz), then
# moved into `fact` by INGEST_SQL; emptied at every commit. A temporary table writes no WAL.
STAGE_TABLE = "fact_stage"
_CREATE_STAGE = (
    f"CREATE TEMP TABLE IF NOT EXISTS {STAGE_TABLE} ON COMMIT DELETE ROWS AS SELECT "
    + ", ".join(f"0::float8 AS {c}" if c in _TIMES else c for c in FACT_COLUMNS)
    + f" FROM {FACT_TABLE} WITH NO DATA"
)
_STAGED = ", ".join(f"to_timestamp(f.{c})" if c in _TIMES else f"f.{c}" for c in FACT_COLUMNS)

# One statement for the rest of the batch: claim the events in the inbox, insert the staged facts of those
# that were new (the facts of a redelivered event join no claimed row), mark their indicators dirty (in code
# order: concurrent writers cannot deadlock) and record the names of areas not seen before. Returns how
# many events of each type were new.
INGEST_SQL = f"""
WITH claimed AS (
    INSERT INTO lsg_inbox (consumer, source, event_id, event_type)
    SELECT $1, s, i, t FROM unnest($2::text[], $3::text[], $4::text[]) AS u(s, i, t)
    ON CONFLICT DO NOTHING
    RETURNING source, event_id, event_type
), facts AS (
    INSERT INTO {FACT_TABLE} ({_COLUMNS})
    SELECT {_STAGED} FROM {STAGE_TABLE} f
    JOIN claimed c ON c.source = f.source AND c.event_id = f.event_id
    RETURNING code
), dirty AS (
    INSERT INTO dirty_indicator (code) SELECT DISTINCT code FROM facts ORDER BY code
    ON CONFLICT (code) DO UPDATE SET version = dirty_indicator.version + 1
), areas AS (
    INSERT INTO area (level, code, parent, name)
    SELECT l, c, p, n::jsonb FROM unnest($5::text[], $6::text[], $7::text[], $8::text[]) AS u(l, c, p, n)
    ON CONFLICT (level, code) DO UPDATE SET parent = EXCLUDED.parent, name = EXCLUDED.name
    WHERE area.name IS DISTINCT FROM EXCLUDED.name OR area.parent IS DISTINCT FROM EXCLUDED.parent
)
SELECT event_type, count(*)::int AS n FROM claimed GROUP BY event_type
"""


async def ingest(
    conn: Conn,
    consumer: str,
    events: tuple[Sequence[str], Sequence[str], Sequence[str]],
    facts: Sequence[tuple[Any, ...]],
    areas: Sequence[tuple[str, str, str | None, str]] = (),
) -> dict[str, int]:
    """Apply a batch set-based in one transaction: `events` are (sources, ids, types), `facts` theirs
    (as `Extractor.extend(..., epoch=True)` makes them: times as POSIX timestamps).

    Each (source, id) must appear once in `events` with its facts (a second copy of an event inside the
    batch would have its facts inserted twice). Returns how many events of each type were new.
    """
    try:
        return await _ingest(conn, consumer, events, facts, areas)
    except asyncpg.UndefinedTableError:
        # A connection's first batch: the staging table is created once per connection, outside the
        # batch's transaction (the failed attempt was rolled back entirely).
        await conn.execute(_CREATE_STAGE)
        return await _ingest(conn, consumer, events, facts, areas)


async def _ingest(
    conn: Conn,
    consumer: str,
    events: tuple[Sequence[str], Sequence[str], Sequence[str]],
    facts: Sequence[tuple[Any, ...]],
    areas: Sequence[tuple[str, str, str | None, str]],
) -> dict[str, int]:
    area_columns = list(zip(*areas, strict=True)) if areas else [()] * 4
    async with conn.transaction():
        if facts:
            await conn.copy_records_to_table(STAGE_TABLE, records=facts, columns=FACT_COLUMNS)
        rows = await conn.fetch(INGEST_SQL, consumer, *events, *area_columns)
    return {r["event_type"]: r["n"] for r in rows}


async def mark_dirty(conn: Conn, codes: Iterable[str]) -> None:
    codes = sorted(set(codes))  # a fixed lock order: concurrent batches cannot deadlock on these rows
    if codes:
        await conn.execute(
            "INSERT INTO dirty_indicator (code) SELECT unnest($1::text[]) "
            "ON CONFLICT (code) DO UPDATE SET version = dirty_indicator.version + 1",
            codes,
        )


def area_rows(
    places: Iterable[Place], seen: set[tuple[str, str]] | None = None
) -> list[tuple[str, str, str | None, str]]:
    """(level, code, parent, names JSON) of the areas in `places`, skipping those already in `seen`."""
    seen = seen if seen is not None else set()
    out: dict[tuple[str, str], tuple[str, str, str | None, str]] = {}
    for place in places:
        parent: str | None = place.country
        for level, unit in (
            ("municipality", place.municipality),
            ("territory", place.territory),
            ("settlement", place.settlement),
        ):
            if unit is None:
                break
            key = (level, unit.code)
            if key not in seen and key not in out:
                out[key] = (level, unit.code, parent, _names_json(unit.name))
            parent = unit.code
    # In (level, code) order: concurrent consumers (one per topic) upsert areas in one order, so they cannot
    # deadlock on these rows.
    return sorted(out.values(), key=lambda r: (r[0], r[1]))


def _names_json(name: Any) -> str:
    """An area's names as JSON: a pydantic model's, or a fast-decoded struct's (`adapters.fast_decode`)."""
    dump = getattr(name, "model_dump_json", None)
    return str(dump()) if dump is not None else msgspec.json.encode(name).decode()


async def upsert_areas(conn: Conn, rows: Sequence[tuple[str, str, str | None, str]]) -> None:
    if rows:
        await conn.execute(
            """
            INSERT INTO area (level, code, parent, name)
            SELECT l, c, p, n::jsonb FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(l, c, p, n)
            ON CONFLICT (level, code) DO UPDATE SET parent = EXCLUDED.parent, name = EXCLUDED.name
            WHERE area.name IS DISTINCT FROM EXCLUDED.name OR area.parent IS DISTINCT FROM EXCLUDED.parent
            """,
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
            [r[3] for r in rows],
        )


async def area_names(conn: Conn, level: str | None = None) -> dict[tuple[str, str], dict[str, str]]:
    rows = await conn.fetch("SELECT level, code, name FROM area WHERE $1::text IS NULL OR level = $1", level)
    return {(r["level"], r["code"]): dict(r["name"]) for r in rows}


# ---- figures out ---------------------------------------------------------------------------------------
async def cells(
    conn: Conn,
    indicators: Sequence[Indicator],
    *,
    until: datetime,
    period_kinds: Sequence[str],
    dims: Sequence[str],
    period: str | None = None,
    area: tuple[str, str] | None = None,
    table: str = FACT_TABLE,
) -> list[Cell]:
    """Cells (period x breakdown value) of `indicators` from the facts in force before `until`."""
    out: list[Cell] = []
    summed = [i for i in indicators if i.aggregation != "availability"]
    if summed:
        periods = ", ".join(_PERIOD_SQL[k] for k in period_kinds)
        dim_sql = ", ".join(_DIM_SQL[d] for d in dims)
        columns = ", ".join(dict.fromkeys(c for d in dims for c in _DIM_COLUMNS[d]))
        args: list[Any] = [[i.code for i in summed], until]
        where = ["d.val IS NOT NULL"]
        fine_where = ["TRUE"]
        if period is not None:
            args.append(period)
            where.append(f"p.key = ${len(args)}")
        if area is not None:
            args.append(area[1])
            fine_where.append(f"cur.{area[0]} = ${len(args)}")
        # Two steps: the facts in force summed per indicator, month and the columns the breakdowns read (a
        # few rows per area and month), then those sums rolled up into every period x breakdown value. Rolling
        # the facts themselves up (periods x breakdowns rows per fact) took most of a rebuild's figures.
        # The sums are exact either way: numerators and denominators are whole counts.
        rows = await conn.fetch(
            f"""
            WITH cur AS ({_current(table)}),
            fine AS (
                SELECT code, date_trunc('month', event_time AT TIME ZONE 'UTC') AS m
                       {", " + columns if columns else ""},
                       sum(num) AS num, sum(den) AS den, count(*) AS facts
                FROM cur WHERE {" AND ".join(fine_where)}
                GROUP BY code, m {", " + columns if columns else ""}
            )
            SELECT code, p.kind, p.key, d.dim, d.val, coalesce(d.parent, '') AS parent,
                   sum(num) AS num, sum(den) AS den, sum(facts)::bigint AS facts
            FROM fine
            CROSS JOIN LATERAL (VALUES {periods}) AS p(kind, key)
            CROSS JOIN LATERAL (VALUES {dim_sql}) AS d(dim, val, parent)
            WHERE {" AND ".join(where)}
            GROUP BY 1, 2, 3, 4, 5, 6
            """,
            *args,
        )
        out.extend(
            Cell(r["code"], r["kind"], r["key"], r["dim"], r["val"], r["parent"], r["num"], r["den"], r["facts"])
            for r in rows
        )
    for ind in indicators:
        if ind.aggregation == "availability":
            out.extend(await _availability(conn, ind, until, period_kinds, dims, period, area, table))
    return out


async def _availability(
    conn: Conn,
    ind: Indicator,
    until: datetime,
    period_kinds: Sequence[str],
    dims: Sequence[str],
    period: str | None,
    area: tuple[str, str] | None,
    table: str,
) -> list[Cell]:
    args: list[Any] = [[ind.code], until]
    where = "TRUE"
    if area is not None:
        args.append(area[1])
        where = f"{area[0]} = $3"
    # The device is the correction key's first part (`device|time|status`); positional fields below, as
    # building 100 000 points by column name cost as much as the computation itself.
    rows = await conn.fetch(
        f"""SELECT split_part(corr_key, '|', 1), event_time, coalesce(tag, ''),
                   country, municipality, territory, settlement
            FROM ({_current(table)}) c WHERE {where}""",
        *args,
    )
    point = availability.StatusPoint
    points = [point(r[0], r[1], r[2], (r[3], r[4], r[5], r[6])) for r in rows]
    now = await conn.fetchval("SELECT now()")
    found = availability.cells(points, min(until, now))
    return [
        Cell(ind.code, kind, key, dim, val, parent, acc[0], acc[1], 0)
        for (kind, key, dim, val, parent), acc in found.items()
        if kind in period_kinds and dim in dims and (period is None or key == period)
    ]


async def sources(
    conn: Conn,
    code: str,
    *,
    until: datetime,
    period: str | None,
    period_kind: str,
    area: tuple[str, str] | None,
    limit: int,
    offset: int,
    include_superseded: bool = False,
    table: str = FACT_TABLE,
) -> tuple[int, list[dict[str, Any]]]:
    """The events behind a figure (in force, and optionally those superseded), newest event time first."""
    args: list[Any] = [[code], until]
    where = ["TRUE"]
    if period is not None:
        args.append(period)
        where.append(f"{_PERIOD_EXPR[period_kind]} = ${len(args)}")
    if area is not None:
        args.append(area[1])
        where.append(f"{area[0]} = ${len(args)}")
    base = f"""
        SELECT source, event_id, event_type, min(event_time) AS event_time, min(valid_from) AS valid_from,
               sum(num) AS num, sum(den) AS den, bool_or(rnk = 1) AS in_force
        FROM ({_current(table, only_current=not include_superseded)}) cur WHERE {" AND ".join(where)}
        GROUP BY source, event_id, event_type
    """
    total = await conn.fetchval(f"SELECT count(*) FROM ({base}) s", *args)
    rows = await conn.fetch(
        f"{base} ORDER BY event_time DESC, source, event_id LIMIT {int(limit)} OFFSET {int(offset)}", *args
    )
    return int(total), [dict(r) for r in rows]


async def last_update(conn: Conn) -> dict[str, datetime]:
    rows = await conn.fetch(f"SELECT code, max(recorded_at) AS at FROM {FACT_TABLE} GROUP BY code")
    return {r["code"]: r["at"] for r in rows}


# ---- deliverables --------------------------------------------------------------------------------------
async def deliverable_for_update(conn: Conn, deliverable_id: str) -> asyncpg.Record | None:
    """The stored deliverable, locked until the transaction ends (None when there is none)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM deliverable WHERE deliverable_id = $1 FOR UPDATE", deliverable_id
    )
    return row


async def upsert_deliverable(
    conn: Conn,
    deliverable_id: str,
    kind: str,
    quantity: int,
    language: str,
    recorded_on: date,
    evidence_url: str | None,
    place: dict[str, Any] | None,
    recorded_by: str,
    event_id: str,
) -> asyncpg.Record:
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        INSERT INTO deliverable (deliverable_id, kind, quantity, language, recorded_on, evidence_url, place,
                                 recorded_by, event_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)
        ON CONFLICT (deliverable_id) DO UPDATE SET kind = EXCLUDED.kind, quantity = EXCLUDED.quantity,
            language = EXCLUDED.language, recorded_on = EXCLUDED.recorded_on,
            evidence_url = EXCLUDED.evidence_url, place = EXCLUDED.place, recorded_by = EXCLUDED.recorded_by,
            event_id = EXCLUDED.event_id, created_at = now()
        RETURNING *
        """,
        deliverable_id,
        kind,
        quantity,
        language,
        recorded_on,
        evidence_url,
        place,
        recorded_by,
        event_id,
    )
    assert row is not None  # RETURNING of an upsert: always one row
    return row


async def deliverables(conn: Conn, *, limit: int, offset: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM deliverable ORDER BY recorded_on, deliverable_id LIMIT $1 OFFSET $2", limit, offset
    )
    return rows


# ---- publication of changed figures --------------------------------------------------------------------
_PUBLISH_LOCK = 0x15_65_0404


async def dirty_indicators(conn: Conn) -> list[tuple[str, int]]:
    """(code, version) of every indicator whose facts changed since its figures were last published."""
    return [(r["code"], r["version"]) for r in await conn.fetch("SELECT code, version FROM dirty_indicator")]


async def try_publication_lock(conn: Conn) -> bool:
    """The transaction-scoped lock of one publication run (False: another run holds it)."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _PUBLISH_LOCK))


async def clear_dirty(conn: Conn, marks: Sequence[tuple[str, int]]) -> None:
    """Forget the dirty marks published (a mark raised again since, with a higher version, stays)."""
    await conn.execute(
        """
        DELETE FROM dirty_indicator d USING unnest($1::text[], $2::bigint[]) AS u(code, version)
        WHERE d.code = u.code AND d.version = u.version
        """,
        [m[0] for m in marks],
        [m[1] for m in marks],
    )


async def emitted_figures(conn: Conn, codes: Sequence[str]) -> dict[tuple[str, str, str, str], tuple[float, float]]:
    """(code, period, area level, area code) -> (numerator, denominator) as last published."""
    rows = await conn.fetch(
        "SELECT code, period, area_level, area_code, num, den FROM emitted_figure WHERE code = ANY($1)", codes
    )
    return {(r["code"], r["period"], r["area_level"], r["area_code"]): (r["num"], r["den"]) for r in rows}


async def record_emitted(conn: Conn, items: Sequence[tuple[tuple[str, str, str, str], tuple[float, float]]]) -> None:
    if items:
        await conn.execute(
            """
            INSERT INTO emitted_figure (code, period, area_level, area_code, num, den)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[])
            ON CONFLICT (code, period, area_level, area_code)
            DO UPDATE SET num = EXCLUDED.num, den = EXCLUDED.den, emitted_at = now()
            """,
            [k[0] for k, _ in items],
            [k[1] for k, _ in items],
            [k[2] for k, _ in items],
            [k[3] for k, _ in items],
            [v[0] for _, v in items],
            [v[1] for _, v in items],
        )
