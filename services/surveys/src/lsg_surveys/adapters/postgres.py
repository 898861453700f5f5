"""PostgreSQL adapter of the surveys service (asyncpg): every SQL statement of the service. Each function runs on
the caller's connection (`tx.conn` of the unit of work), so the use case decides the transaction
(and puts the outbox insert in it)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import asyncpg

from lsg_events.geography import Place
from lsg_events.i18n import LocalizedText
from lsg_events.surveys import CampaignKind
from lsg_shared.db import Conn
from lsg_surveys.domain.model import Campaign, CampaignStatus, Mappings, Question
from lsg_surveys.domain.responses import PreparedResponse

_CAMPAIGN_COLUMNS = (
    "campaign_id, kind, wave, title, place, planned_start, planned_end, target_size, status, questions, "
    "mappings, settlements, results, created_at, opened_at, closed_at, form, questionnaire_from"
)


def campaign_from_row(row: asyncpg.Record) -> Campaign:
    return Campaign(
        campaign_id=row["campaign_id"],
        kind=CampaignKind(row["kind"]),
        wave=row["wave"],
        title=LocalizedText.model_validate(row["title"]),
        place=Place.model_validate(row["place"]),
        planned_start=row["planned_start"],
        planned_end=row["planned_end"],
        target_size=row["target_size"],
        status=CampaignStatus(row["status"]),
        questions=[Question.model_validate(q) for q in row["questions"]],
        mappings=Mappings.model_validate(row["mappings"] or {}),
        settlements=[Place.model_validate(p) for p in row["settlements"]],
        questionnaire_from=row["questionnaire_from"],
    )


async def insert_campaign(conn: Conn, campaign: Campaign, created_by: str) -> bool:
    """False when the id is taken."""
    municipality = campaign.place.municipality.code if campaign.place.municipality else None
    result: str = await conn.execute(
        """
        INSERT INTO survey_campaigns (campaign_id, kind, wave, title, place, country, municipality, planned_start,
            planned_end, target_size, status, questions, mappings, settlements, created_by, questionnaire_from)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
        ON CONFLICT (campaign_id) DO NOTHING
        """,
        campaign.campaign_id,
        campaign.kind.value,
        campaign.wave,
        campaign.title.model_dump(),
        campaign.place.model_dump(mode="json"),
        campaign.place.country,
        municipality,
        campaign.planned_start,
        campaign.planned_end,
        campaign.target_size,
        campaign.status.value,
        [q.model_dump(mode="json") for q in campaign.questions],
        campaign.mappings.model_dump(mode="json"),
        [p.model_dump(mode="json") for p in campaign.settlements],
        created_by,
        campaign.questionnaire_from,
    )
    return result.endswith(" 1")


async def get_campaign_row(conn: Conn, campaign_id: str, *, lock: str | None = None) -> asyncpg.Record | None:
    suffix = {None: "", "share": " FOR SHARE", "update": " FOR UPDATE"}[lock]
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {_CAMPAIGN_COLUMNS} FROM survey_campaigns WHERE campaign_id = $1{suffix}", campaign_id
    )
    return row


async def lock_status(conn: Conn, campaign_id: str) -> CampaignStatus | None:
    """The campaign's status, locked FOR SHARE: a concurrent close waits until this transaction ends."""
    status: str | None = await conn.fetchval(
        "SELECT status FROM survey_campaigns WHERE campaign_id = $1 FOR SHARE", campaign_id
    )
    return CampaignStatus(status) if status is not None else None


async def list_campaign_rows(
    conn: Conn, *, kind: str | None, status: str | None, country: str | None, limit: int, offset: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""
        SELECT {_CAMPAIGN_COLUMNS} FROM survey_campaigns
        WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR status = $2)
          AND ($3::text IS NULL OR country = $3)
        ORDER BY created_at, campaign_id LIMIT $4 OFFSET $5
        """,
        kind,
        status,
        country,
        limit,
        offset,
    )
    return rows


async def set_status(
    conn: Conn, campaign_id: str, status: CampaignStatus, at: datetime, results: dict[str, Any] | None = None
) -> None:
    column = {CampaignStatus.OPEN: "opened_at", CampaignStatus.CLOSED: "closed_at"}[status]
    await conn.execute(
        f"UPDATE survey_campaigns SET status = $2, {column} = $3, results = COALESCE($4, results) "
        "WHERE campaign_id = $1",
        campaign_id,
        status.value,
        at,
        results,
    )


async def count_responses(conn: Conn, campaign_id: str) -> int:
    n: int = await conn.fetchval("SELECT count(*) FROM survey_responses WHERE campaign_id = $1", campaign_id)
    return n


async def closed_answers(conn: Conn, campaign_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT answers FROM survey_responses WHERE campaign_id = $1", campaign_id)
    return [r["answers"] for r in rows]


# --- responses ------------------------------------------------------------------------------------


async def claim_submission(
    conn: Conn, campaign_id: str, submission_id: str, response_id: uuid.UUID
) -> uuid.UUID | None:
    """Register a submission id for `response_id`. Returns the response that already holds it (a repeat),
    or None when it was new. ON CONFLICT waits for a concurrent claimant, so a race yields one winner."""
    inserted = await conn.fetchval(
        """
        INSERT INTO survey_submissions (campaign_id, submission_id, response_id) VALUES ($1, $2, $3)
        ON CONFLICT (campaign_id, submission_id) DO NOTHING RETURNING response_id
        """,
        campaign_id,
        submission_id,
        response_id,
    )
    if inserted is not None:
        return None
    existing: uuid.UUID = await conn.fetchval(
        "SELECT response_id FROM survey_submissions WHERE campaign_id = $1 AND submission_id = $2",
        campaign_id,
        submission_id,
    )
    return existing


async def claim_submissions(conn: Conn, campaign_id: str, claims: list[tuple[str, uuid.UUID]]) -> set[str]:
    """Register many submission ids at once (distinct ids); returns those that were new. A concurrent
    transaction claiming the same id makes this wait for it, so each id has exactly one winner."""
    if not claims:
        return set()
    rows = await conn.fetch(
        """
        INSERT INTO survey_submissions (campaign_id, submission_id, response_id)
        SELECT $1, s, r FROM unnest($2::text[], $3::uuid[]) AS t (s, r)
        ON CONFLICT (campaign_id, submission_id) DO NOTHING RETURNING submission_id
        """,
        campaign_id,
        [c[0] for c in claims],
        [c[1] for c in claims],
    )
    return {r["submission_id"] for r in rows}


async def submission_holders(conn: Conn, campaign_id: str, submission_ids: list[str]) -> dict[str, uuid.UUID]:
    if not submission_ids:
        return {}
    rows = await conn.fetch(
        "SELECT submission_id, response_id FROM survey_submissions "
        "WHERE campaign_id = $1 AND submission_id = ANY($2::text[])",
        campaign_id,
        submission_ids,
    )
    return {r["submission_id"]: r["response_id"] for r in rows}


async def find_response_by_submissions(conn: Conn, campaign_id: str, submission_ids: list[str]) -> uuid.UUID | None:
    if not submission_ids:
        return None
    found: uuid.UUID | None = await conn.fetchval(
        "SELECT response_id FROM survey_submissions WHERE campaign_id = $1 AND submission_id = ANY($2::text[]) LIMIT 1",
        campaign_id,
        submission_ids,
    )
    return found


_INSERT_RESPONSE = """
    INSERT INTO survey_responses (response_id, campaign_id, respondent_key, place, age_band, gender, answers,
        free_text, respondent_name, respondent_phone, source, submitted_at, recorded_by, age_range, mapping_version,
        respondent_ref, residence)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
"""


def _response_args(campaign_id: str, response_id: uuid.UUID, r: PreparedResponse, recorded_by: str) -> tuple[Any, ...]:
    return (
        response_id,
        campaign_id,
        r.respondent_key,
        r.place.model_dump(mode="json"),
        r.age_band,
        r.gender,
        r.closed,
        r.free_text or None,
        r.name,
        r.phone,
        r.source,
        r.submitted_at,
        recorded_by,
        r.age_range,
        r.mapping_version,
        r.ref,
        r.residence,
    )


async def insert_response(
    conn: Conn, campaign_id: str, response_id: uuid.UUID, r: PreparedResponse, recorded_by: str
) -> None:
    await conn.execute(_INSERT_RESPONSE, *_response_args(campaign_id, response_id, r, recorded_by))


async def insert_responses(
    conn: Conn, campaign_id: str, rows: list[tuple[uuid.UUID, PreparedResponse]], recorded_by: str
) -> None:
    """Many responses in one pipelined round of inserts (asyncpg executemany)."""
    if rows:
        await conn.executemany(_INSERT_RESPONSE, [_response_args(campaign_id, rid, r, recorded_by) for rid, r in rows])


async def add_submission_aliases(conn: Conn, campaign_id: str, response_id: uuid.UUID, ids: list[str]) -> None:
    if ids:
        await conn.executemany(
            "INSERT INTO survey_submissions (campaign_id, submission_id, response_id) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING",
            [(campaign_id, i, response_id) for i in ids],
        )


async def correct_response(
    conn: Conn, response_id: uuid.UUID, r: PreparedResponse, corrected_at: datetime
) -> asyncpg.Record:
    """Replace a response's answers with an edit's; the respondent key stays the original's. Personal fields
    are not restored once erased."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        UPDATE survey_responses SET
            place = $2, age_band = $3, gender = $4, answers = $5,
            free_text = CASE WHEN erased_at IS NULL THEN $6::jsonb ELSE NULL END,
            respondent_name = CASE WHEN erased_at IS NULL THEN COALESCE($7::text, respondent_name) ELSE NULL END,
            respondent_phone = CASE WHEN erased_at IS NULL THEN COALESCE($8::text, respondent_phone) ELSE NULL END,
            submitted_at = $9, corrected_at = $10, version = version + 1, age_range = $11, mapping_version = $12,
            respondent_ref = CASE WHEN erased_at IS NULL THEN COALESCE($13::text, respondent_ref) ELSE NULL END
        WHERE response_id = $1
        RETURNING response_id, respondent_key, version
        """,
        response_id,
        r.place.model_dump(mode="json"),
        r.age_band,
        r.gender,
        r.closed,
        r.free_text or None,
        r.name,
        r.phone,
        r.submitted_at,
        corrected_at,
        r.age_range,
        r.mapping_version,
        r.ref,
    )
    assert row is not None  # the caller found this response in the same transaction
    return row


async def get_response(conn: Conn, campaign_id: str, response_id: uuid.UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        SELECT r.*, COALESCE((SELECT array_agg(s.submission_id ORDER BY s.received_at)
                              FROM survey_submissions s WHERE s.response_id = r.response_id), '{}') AS submission_ids
        FROM survey_responses r WHERE r.campaign_id = $1 AND r.response_id = $2
        """,
        campaign_id,
        response_id,
    )
    return row


async def erase_responses(conn: Conn, *, keys: list[str], response_ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    """Blank the personal columns and cut the link to the identity; closed answers (the aggregates' source)
    stay. The respondent key is replaced by a random tombstone so a later wave cannot re-link the person.
    Returns the erased responses' ids and residence (where their personal fields were, to delete them there)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        UPDATE survey_responses SET respondent_name = NULL, respondent_phone = NULL, free_text = NULL,
            respondent_ref = NULL,
            respondent_key = 'rk_erased_' || md5(gen_random_uuid()::text), erased_at = now()
        WHERE respondent_key = ANY($1::text[]) OR response_id = ANY($2::uuid[])
        RETURNING response_id, residence
        """,
        keys,
        response_ids,
    )
    return rows


async def erase(
    conn: Conn, *, keys: list[str], response_ids: list[uuid.UUID], requested_by: str
) -> list[asyncpg.Record]:
    """`erase_responses`, recorded in ``survey_erasures`` (who asked, how many; never whom). Returns the
    erased responses (id and residence)."""
    rows = await erase_responses(conn, keys=keys, response_ids=response_ids)
    await conn.execute(
        "INSERT INTO survey_erasures (erasure_id, requested_by, responses) VALUES ($1, $2, $3)",
        uuid.uuid4(),
        requested_by,
        len(rows),
    )
    return rows


# --- privacy: erasure by request, access, retention, residency --------------------------------------------

_PERSON_COLUMNS = (
    "r.response_id, r.campaign_id, r.respondent_key, r.place, r.place->>'country' AS country, r.age_band, r.age_range,"
    " r.gender, r.answers, r.free_text, r.respondent_name, r.respondent_phone, r.respondent_ref, r.residence,"
    " r.source, r.version, r.submitted_at, r.recorded_at, r.corrected_at, r.recorded_by"
)


async def living_respondents(conn: Conn) -> list[asyncpg.Record]:
    """Every response not erased (its personal fields, or where they are): what a subject token may meet."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {_PERSON_COLUMNS} FROM survey_responses r WHERE r.erased_at IS NULL ORDER BY r.recorded_at"
    )
    return rows


async def responses_by(conn: Conn, keys: list[str], response_ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    """The living responses with one of `keys` or `response_ids`, with their campaign's title and questions."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""
        SELECT {_PERSON_COLUMNS}, c.title AS campaign_title, c.questions AS campaign_questions,
            COALESCE((SELECT array_agg(s.submission_id ORDER BY s.received_at)
                      FROM survey_submissions s WHERE s.response_id = r.response_id), '{{}}') AS submission_ids
        FROM survey_responses r JOIN survey_campaigns c USING (campaign_id)
        WHERE r.erased_at IS NULL AND (r.respondent_key = ANY($1::text[]) OR r.response_id = ANY($2::uuid[]))
        ORDER BY r.submitted_at, r.response_id
        """,
        keys,
        response_ids,
    )
    return rows


async def record_privacy_erasure(conn: Conn, request_id: str, requested: str, counts: dict[str, int]) -> bool:
    """False when this request id was carried out before."""
    status: str = await conn.execute(
        "INSERT INTO survey_privacy_erasures (request_id, requested, counts) VALUES ($1, $2, $3) "
        "ON CONFLICT (request_id) DO NOTHING",
        request_id,
        requested,
        counts,
    )
    return status.endswith(" 1")


async def retention_candidates(conn: Conn) -> list[asyncpg.Record]:
    """Living responses that still hold personal fields, with the day their campaign closed (null: open)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        SELECT r.response_id, c.closed_at FROM survey_responses r JOIN survey_campaigns c USING (campaign_id)
        WHERE r.erased_at IS NULL AND c.closed_at IS NOT NULL
          AND (r.residence IS NOT NULL OR r.respondent_name IS NOT NULL OR r.respondent_phone IS NOT NULL
               OR r.respondent_ref IS NOT NULL OR r.free_text IS NOT NULL)
        """
    )
    return rows


async def residence_of(conn: Conn, response_id: uuid.UUID) -> tuple[str | None, bool]:
    """Where a response's personal fields are (None: here) and whether they were erased."""
    row = await conn.fetchrow(
        "SELECT residence, erased_at IS NOT NULL AS erased FROM survey_responses WHERE response_id = $1", response_id
    )
    return (row["residence"], row["erased"]) if row is not None else (None, False)


async def resident_ids(conn: Conn, country: str, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `ids` are living responses whose personal fields are in `country`'s database."""
    rows = await conn.fetch(
        "SELECT response_id FROM survey_responses WHERE residence = $1 AND erased_at IS NULL "
        "AND response_id = ANY($2::uuid[])",
        country,
        ids,
    )
    return {r["response_id"] for r in rows}


# --- gatherings -----------------------------------------------------------------------------------


async def insert_gathering(
    conn: Conn,
    *,
    gathering_id: str,
    campaign_id: str,
    held_on: date,
    title: dict[str, Any],
    place: dict[str, Any],
    participants: int,
    breakdown: list[dict[str, Any]],
    settlements: list[dict[str, Any]],
    problems: list[dict[str, Any]],
    initiatives: list[dict[str, Any]],
    recorded_by: str,
) -> bool:
    result: str = await conn.execute(
        """
        INSERT INTO survey_gatherings (gathering_id, campaign_id, held_on, title, place, participants, breakdown,
            settlements, problems, initiatives, recorded_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (gathering_id) DO NOTHING
        """,
        gathering_id,
        campaign_id,
        held_on,
        title,
        place,
        participants,
        breakdown,
        settlements,
        problems,
        initiatives,
        recorded_by,
    )
    return result.endswith(" 1")


async def get_gathering(conn: Conn, gathering_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM survey_gatherings WHERE gathering_id = $1", gathering_id
    )
    return row


async def list_gatherings(conn: Conn, campaign_id: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM survey_gatherings WHERE campaign_id = $1 ORDER BY held_on, recorded_at", campaign_id
    )
    return rows


# --- questionnaire from a form, mapping versions, imports, webhooks ----------------------------------------


async def set_questionnaire(conn: Conn, campaign_id: str, questions: list[Question], form: dict[str, Any]) -> None:
    await conn.execute(
        "UPDATE survey_campaigns SET questions = $2, form = $3 WHERE campaign_id = $1",
        campaign_id,
        [q.model_dump(mode="json") for q in questions],
        form,
    )


async def latest_mapping(conn: Conn, campaign_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT version, mappings, origin, created_by, created_at FROM survey_mapping_versions "
        "WHERE campaign_id = $1 ORDER BY version DESC LIMIT 1",
        campaign_id,
    )
    return row


async def mapping_version(conn: Conn, campaign_id: str, version: int) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT version, mappings, origin, created_by, created_at FROM survey_mapping_versions "
        "WHERE campaign_id = $1 AND version = $2",
        campaign_id,
        version,
    )
    return row


async def mapping_versions(conn: Conn, campaign_id: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT version, origin, created_by, created_at FROM survey_mapping_versions WHERE campaign_id = $1 "
        "ORDER BY version",
        campaign_id,
    )
    return rows


async def insert_mapping_version(
    conn: Conn, campaign_id: str, mappings: dict[str, Any], origin: str, created_by: str
) -> int:
    """The next version number (the caller holds the campaign's row lock, so versions do not race)."""
    version: int = await conn.fetchval(
        """
        INSERT INTO survey_mapping_versions (campaign_id, version, mappings, origin, created_by)
        SELECT $1, COALESCE(max(version), 0) + 1, $2, $3, $4 FROM survey_mapping_versions WHERE campaign_id = $1
        RETURNING version
        """,
        campaign_id,
        mappings,
        origin,
        created_by,
    )
    return version


async def insert_import(
    conn: Conn,
    *,
    import_id: uuid.UUID,
    campaign_id: str,
    source: str,
    mapping_version: int,
    counts: dict[str, int],
    imported_by: str,
) -> None:
    await conn.execute(
        """
        INSERT INTO survey_imports (import_id, campaign_id, source, mapping_version, received, recorded, corrected,
            duplicates, skipped, rejected, imported_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        """,
        import_id,
        campaign_id,
        source,
        mapping_version,
        counts["received"],
        counts["recorded"],
        counts["corrected"],
        counts["duplicates"],
        counts["skipped"],
        counts["rejected"],
        imported_by,
    )


async def list_imports(conn: Conn, campaign_id: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM survey_imports WHERE campaign_id = $1 ORDER BY imported_at, import_id", campaign_id
    )
    return rows


async def set_webhook_secret(conn: Conn, campaign_id: str, secret_sha256: str, created_by: str) -> None:
    await conn.execute(
        """
        INSERT INTO survey_webhooks (campaign_id, secret_sha256, created_by) VALUES ($1, $2, $3)
        ON CONFLICT (campaign_id) DO UPDATE SET secret_sha256 = $2, created_by = $3, created_at = now()
        """,
        campaign_id,
        secret_sha256,
        created_by,
    )


async def webhook_secret(conn: Conn, campaign_id: str) -> str | None:
    found: str | None = await conn.fetchval(
        "SELECT secret_sha256 FROM survey_webhooks WHERE campaign_id = $1", campaign_id
    )
    return found


# Errors after which the whole transaction may be tried again (two edits racing for the same rows).
RETRYABLE = (asyncpg.DeadlockDetectedError,)
