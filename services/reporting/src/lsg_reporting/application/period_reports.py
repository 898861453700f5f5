"""Period reports: every indicator as of the period end, the narrative per work package (lv/ru/en), the
expenditure summary and list, the evidence list and the adjustments to earlier (locked) periods; the workflow
Draft -> Submitted -> In verification -> Approved (`report.submitted`, `report.approved` through the outbox).

Approval freezes the report: its JSON, XLSX and PDF are stored with it, and every later request for an approved
period returns those bytes (a later correction shows in the next period's report as an adjustment).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from lsg_events.reporting import ReportApproved, ReportSubmitted
from lsg_reporting.adapters import finance as fin
from lsg_reporting.application.errors import Conflict, InvalidValue, NotFound
from lsg_reporting.application.reports import progress
from lsg_reporting.domain import finance as money
from lsg_reporting.domain import report_periods as rp
from lsg_reporting.domain.catalogue import Catalogue
from lsg_reporting.domain.periods import bounds
from lsg_reporting.domain.privacy import public_history
from lsg_reporting.domain.progress import programme_quarters
from lsg_shared.db import Conn
from lsg_shared.uow import UnitOfWork

Format = Literal["json", "xlsx", "pdf"]


@dataclass(frozen=True)
class Renderers:
    """How a report document becomes a file (the adapters' XLSX and PDF writers, injected by the app)."""

    xlsx: Callable[[dict[str, Any]], bytes]
    pdf: Callable[[dict[str, Any]], bytes]


def the_periods(catalogue: Catalogue) -> list[rp.ReportingPeriod]:
    return rp.periods(catalogue.programme.start, catalogue.programme.end)


def period_of(catalogue: Catalogue, period_id: str) -> rp.ReportingPeriod:
    for p in the_periods(catalogue):
        if p.period_id == period_id:
            return p
    raise NotFound("reporting period", period_id)


def quarters_in(catalogue: Catalogue, period: rp.ReportingPeriod) -> list[str]:
    out = []
    for q in programme_quarters(catalogue):
        start, end = bounds("quarter", q)
        if period.start <= start.date() and end.date() <= date.fromordinal(period.end.toordinal() + 1):
            out.append(q)
    return out


async def listing(uow: UnitOfWork, catalogue: Catalogue) -> list[dict[str, Any]]:
    async with uow.read() as conn:
        states = await fin.report_states(conn)
    return [
        {
            "period_id": p.period_id,
            "start": p.start.isoformat(),
            "end": p.end.isoformat(),
            "status": states.get(p.period_id, "draft"),
            "locked": states.get(p.period_id) == "approved",
        }
        for p in the_periods(catalogue)
    ]


async def set_narrative(
    uow: UnitOfWork, catalogue: Catalogue, period_id: str, narrative: dict[str, dict[str, str]]
) -> None:
    period_of(catalogue, period_id)
    for wp in narrative:
        if wp not in money.WORK_PACKAGES:
            raise InvalidValue(f"work_packages.{wp}", f"expected one of {', '.join(money.WORK_PACKAGES)}")
    async with uow.begin() as tx:
        row = await fin.report_for_update(tx.conn, period_id)
        if row["status"] != "draft":
            raise Conflict(f"the report of {period_id} is {row['status'].replace('_', ' ')}: only a draft is edited")
        await fin.set_narrative(tx.conn, period_id, {**row["narrative"], **narrative})


async def act(
    uow: UnitOfWork,
    catalogue: Catalogue,
    renderers: Renderers,
    period_id: str,
    action: rp.Action,
    *,
    by: str,
) -> dict[str, Any]:
    """Move the period's report one step through the workflow (the route checked the role it needs)."""
    period = period_of(catalogue, period_id)
    now = datetime.now(UTC)
    async with uow.begin() as tx:
        await fin.lock_reports(tx.conn)
        row = await fin.report_for_update(tx.conn, period_id)
        try:
            status = rp.transition(row["status"], action)
        except rp.WorkflowError as exc:
            raise Conflict(str(exc)) from None
        if action == "submit":
            earlier = [p for p in the_periods(catalogue) if p.end < period.start]
            states = await fin.report_states(tx.conn)
            open_before = [p.period_id for p in earlier if states.get(p.period_id) != "approved"]
            if open_before:
                raise Conflict(f"the reports of {', '.join(open_before)} are to be approved first")
        step = {"action": action, "by": by, "at": now.isoformat()}
        await fin.set_status(tx.conn, period_id, status, step)
        if action == "submit":
            await tx.emit(
                ReportSubmitted(period_id=period_id, period_start=period.start, period_end=period.end, submitted_at=now)
            )
        if action == "approve":
            doc = await _document(tx.conn, uow, catalogue, period)
            waiting = doc["expenditure"]["unverified"]
            if waiting:
                raise Conflict(f"first-level control has not verified {', '.join(waiting)} yet")
            as_json = canonical(doc)
            digest = hashlib.sha256(as_json).hexdigest()
            await fin.freeze(
                tx.conn,
                period_id,
                as_json=as_json,
                xlsx=renderers.xlsx(doc),
                pdf=renderers.pdf(doc),
                sha256=digest,
            )
            totals = doc["expenditure"]["totals"]
            await tx.emit(
                ReportApproved(
                    period_id=period_id,
                    period_start=period.start,
                    period_end=period.end,
                    approved_at=now,
                    declared_eur=Decimal(totals["declared"]),
                    eligible_eur=Decimal(totals["eligible"]),
                    snapshot_sha256=digest,
                )
            )
    return {"period_id": period_id, "status": status}


async def document(
    uow: UnitOfWork, catalogue: Catalogue, renderers: Renderers, period_id: str, fmt: Format
) -> tuple[bytes, bool]:
    """The report as a file: the frozen bytes of an approved period, else rendered now. Returns (bytes, frozen)."""
    period = period_of(catalogue, period_id)
    async with uow.begin() as tx:
        row = await fin.report(tx.conn, period_id)
        if row is not None and row["status"] == "approved":
            return bytes(row[f"snapshot_{fmt}"]), True
        doc = await _document(tx.conn, uow, catalogue, period)
    if fmt == "json":
        return canonical(doc), False
    return (renderers.xlsx(doc) if fmt == "xlsx" else renderers.pdf(doc)), False


def canonical(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")


async def _document(conn: Conn, uow: UnitOfWork, catalogue: Catalogue, period: rp.ReportingPeriod) -> dict[str, Any]:
    """Everything the report of `period` says, as it stands now (plain JSON values, amounts as text)."""
    row = await fin.report(conn, period.period_id)
    status = row["status"] if row is not None else "draft"
    summaries = await progress(uow, catalogue, period.end)
    own_quarters = quarters_in(catalogue, period)
    indicators = []
    for s in summaries:
        d = s.as_dict()
        indicators.append(
            {
                "code": d["code"],
                "title": d["title"],
                "unit": d["unit"],
                "baseline": d["baseline"],
                "target": d["target"],
                "expected": d["expected_now"],
                "actual": d["actual"],
                "progress_pct": d["progress_pct"],
                "rag": d["rag"],
                "quarters": {q: s.quarters.get(q) for q in own_quarters},
            }
        )
    entries = await fin.entries(conn)
    rows = {r["entry_id"]: r for r in await fin.expenditure(conn)}
    lines = rp.period_lines(period.period_id, entries)
    version = await fin.budget_version(conn)
    budget = await fin.budget_lines(conn, version["version"]) if version is not None else []
    declared = eligible = ineligible = money.ZERO
    by_partner: dict[str, dict[str, Decimal]] = {}
    by_category: dict[str, dict[str, Decimal]] = {}
    listed = []
    evidence = []
    for ln in lines:
        e = ln.entry
        stored = rows[e.entry_id]
        declared += ln.counts
        if ln.eligible is not None:
            eligible += ln.eligible
            ineligible += ln.counts - ln.eligible
        for table, key in ((by_partner, e.partner), (by_category, e.category)):
            cell = table.setdefault(key, {"declared": money.ZERO, "eligible": money.ZERO})
            cell["declared"] += ln.counts
            cell["eligible"] += ln.eligible if ln.eligible is not None else money.ZERO
        listed.append(
            {
                "entry_id": e.entry_id,
                "partner": e.partner,
                "category": e.category,
                "work_package": e.work_package,
                "activity": stored["activity"],
                "spent_on": e.spent_on.isoformat(),
                "currency": stored["currency"],
                "amount": str(stored["amount"]),
                "rate": str(stored["rate"].normalize()),
                "amount_eur": str(e.amount_eur),
                "vat_eur": str(stored["vat_eur"]),
                "eligible_eur": None if e.eligible_eur is None else str(e.eligible_eur),
                "ineligible_eur": None if e.ineligible_eur is None else str(e.ineligible_eur),
                "invoice_ref": stored["invoice_ref"],
                "description": stored["description"],
                "corrects": e.corrects,
                "superseded": ln.superseded,
                "adjustment_of": ln.adjustment_of,
                "counts_eur": str(ln.counts),
            }
        )
        evidence.append({"kind": "expenditure", "id": e.entry_id, "ref": stored["evidence_ref"]})
    for deliverable in await fin.deliverables_between(conn, period.start, period.end):
        if deliverable["evidence_url"]:
            evidence.append(
                {"kind": "deliverable", "id": deliverable["deliverable_id"], "ref": deliverable["evidence_url"]}
            )
    # what changed in earlier, locked periods since their approval
    indicator_adjustments: list[dict[str, object]] = []
    now_quarters = {s.indicator.code: s.quarters for s in summaries}
    for earlier in the_periods(catalogue):
        if earlier.end >= period.start:
            break
        earlier_row = await fin.report(conn, earlier.period_id)
        if earlier_row is None or earlier_row["status"] != "approved":
            continue
        approved = json.loads(bytes(earlier_row["snapshot_json"]))
        before = {i["code"]: i["quarters"] for i in approved["indicators"]}
        for adj in rp.indicator_adjustments(before, now_quarters):
            indicator_adjustments.append({"period_id": earlier.period_id, **adj})
    total_budget = sum((b.amount for b in budget), money.ZERO)
    programme_share, own_share = money.split(eligible)
    return {
        "programme": {
            "id": catalogue.programme.id,
            "iati_identifier": catalogue.programme.iati_identifier,
            "title": catalogue.programme.title.model_dump(),
        },
        "period": {"id": period.period_id, "start": period.start.isoformat(), "end": period.end.isoformat()},
        "status": status,
        # Who took each step is not in the document (issue 30): an erased login cannot be in a frozen report.
        "history": public_history(row["history"]) if row is not None else [],
        "indicators": indicators,
        "narrative": row["narrative"] if row is not None else {},
        "expenditure": {
            "budget_version": version["version"] if version is not None else None,
            "budget_total": str(total_budget),
            "totals": {
                "declared": str(declared),
                "eligible": str(eligible),
                "ineligible": str(ineligible),
                "programme_co_financing": str(programme_share),
                "own_contribution": str(own_share),
            },
            "by_partner": {k: money.as_text(v) for k, v in sorted(by_partner.items())},
            "by_category": {k: money.as_text(v) for k, v in sorted(by_category.items())},
            "lines": listed,
            "unverified": rp.unverified(lines),
        },
        "adjustments": {
            "expenditure": [x for x in listed if x["adjustment_of"]],
            "indicators": indicator_adjustments,
        },
        "evidence": evidence,
    }
