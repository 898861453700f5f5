"""What the IATI 2.03 activity file says about the programme beyond its results, as plain rules: the
organisations and their roles, the activity status and dates, the recipient countries' shares, the budget per
reporting period and the transactions from verified expenditure (code lists: IATI's OrganisationRole,
OrganisationType, ActivityStatus, ActivityDateType, BudgetType, BudgetStatus, TransactionType, Sector (DAC 5))."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from lsg_reporting.domain.finance import PARTNERS, ZERO, BudgetLine, Entry, cents, in_force
from lsg_reporting.domain.progress import Summary
from lsg_reporting.domain.report_periods import ReportingPeriod

REPORTING_ORG_REF = "XM-DAC-0-LSG"  # the identifier prefix of the activity (XM-DAC-0-LSG-DEV)
ORG_TYPE_NATIONAL_NGO = "22"  # associations of local governments
ROLE_FUNDING, ROLE_ACCOUNTABLE, ROLE_IMPLEMENTING = "1", "2", "4"
SECTOR_DECENTRALISATION = "15112"  # DAC 5: decentralisation and support to subnational government
TRANSACTION_EXPENDITURE = "4"
FUNDER = {
    "en": "Cross-border cooperation programme (Priority 3, Measure 3.1)",
    "lv": "Pārrobežu sadarbības programma (3. prioritāte, 3.1. pasākums)",
    "ru": "Программа приграничного сотрудничества (приоритет 3, мера 3.1)",
}


def activity_status(on: date, start: date, end: date, closed: bool) -> str:
    """1 pipeline, 2 implementation, 3 finalisation (work done, accounts open), 4 closed (last report approved)."""
    if on < start:
        return "1"
    if on <= end:
        return "2"
    return "4" if closed else "3"


def activity_dates(on: date, start: date, end: date) -> list[tuple[str, date]]:
    """(type, date): 1 planned start, 2 actual start (once begun), 3 planned end, 4 actual end (once over)."""
    out = [("1", start)]
    if on >= start:
        out.append(("2", start))
    out.append(("3", end))
    if on > end:
        out.append(("4", end))
    return out


def country_shares(lines: Iterable[BudgetLine]) -> list[tuple[str, Decimal]]:
    """Recipient countries and their percentage, by each partner's budget (half each without a budget); the
    percentages add up to exactly 100."""
    by_country: dict[str, Decimal] = {}
    for line in lines:
        country = PARTNERS[line.partner].country
        by_country[country] = by_country.get(country, ZERO) + line.amount
    total = sum(by_country.values(), ZERO)
    countries = sorted({p.country for p in PARTNERS.values()})
    if total == 0:
        shares = {c: Decimal(100) / len(countries) for c in countries}
    else:
        shares = {c: by_country.get(c, ZERO) / total * 100 for c in countries}
    rounded = [(c, cents(shares[c])) for c in countries[:-1]]
    rounded.append((countries[-1], Decimal(100) - sum((v for _, v in rounded), ZERO)))
    return rounded


def budget_per_period(total: Decimal, periods: Sequence[ReportingPeriod]) -> list[tuple[ReportingPeriod, Decimal]]:
    """The budget spread over the reporting periods by their days (the budget has no time dimension); the
    last period takes the cents left so the parts add up to the total."""
    days = sum((p.end - p.start).days + 1 for p in periods)
    out: list[tuple[ReportingPeriod, Decimal]] = []
    left = total
    for i, p in enumerate(periods):
        part = left if i == len(periods) - 1 else cents(total * ((p.end - p.start).days + 1) / days)
        out.append((p, part))
        left -= part
    return out


@dataclass(frozen=True)
class Transaction:
    ref: str
    partner: str
    on: date
    value: Decimal


def transactions(entries: Iterable[Entry]) -> list[Transaction]:
    """Expenditure transactions: every verified entry in force, at its eligible amount (nothing for nil)."""
    return [
        Transaction(e.entry_id, e.partner, e.spent_on, e.eligible_eur)
        for e in sorted(in_force(entries), key=lambda x: (x.spent_on, x.entry_id))
        if e.eligible_eur is not None and e.eligible_eur > 0
    ]


DESCRIPTION = {
    "en": (
        "Raising rural residents' involvement in regional development through social dialogue, training village "
        "elders and municipal staff, and improving local self-government capacity, including emergency "
        "communication, in the Leningrad region (Russia) and Latvia."
    ),
    "lv": (
        "Lauku iedzīvotāju iesaistes reģionu attīstībā veicināšana ar sociālo dialogu, ciemu vecāko un pašvaldību "
        "darbinieku apmācība un pašvaldību kapacitātes, tostarp ārkārtas saziņas, stiprināšana Ļeņingradas "
        "apgabalā (Krievija) un Latvijā."
    ),
    "ru": (
        "Вовлечение сельских жителей в развитие регионов через социальный диалог, обучение сельских старост и "
        "муниципальных служащих и укрепление потенциала местного самоуправления, включая экстренную связь, в "
        "Ленинградской области (Россия) и Латвии."
    ),
}


@dataclass(frozen=True)
class Activity:
    on: date
    summaries: list[Summary]
    status: str
    dates: list[tuple[str, date]]
    countries: list[tuple[str, Decimal]]
    budgets: list[tuple[ReportingPeriod, Decimal]]
    transactions: list[Transaction]
    # (indicator, quarter) -> country -> value, for indicators counting things (never persons: no small cells)
    by_country: dict[tuple[str, str], dict[str, float]]
