"""The programme's money as plain rules: partners, Interreg cost categories, work packages, budget versions,
expenditure entries (conversion to EUR, VAT, corrections) and their first-level control, and burn figures.

Amounts are `Decimal` EUR rounded to the cent (half up, as accountants do); nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_EUR = Decimal("1000000000000.00")  # what the amount columns (numeric(14, 2)) hold

# The programme (../shared/domain/PROGRAMME.md): EUR 204,600; programme co-financing EUR 184,104, own EUR 20,496.
# "89.98 %" is that share rounded (204,600 x 0.8998 = 184,099.08, EUR 4.92 short): the split uses the exact
# share to ten places, which gives back EUR 184,104.00 / 20,496.00 for the whole budget.
PROGRAMME_TOTAL = Decimal("204600.00")
PROGRAMME_CO_FINANCING = Decimal("184104.00")
CO_FINANCING_RATE = (PROGRAMME_CO_FINANCING / PROGRAMME_TOTAL).quantize(Decimal("0.0000000001"))

CostCategory = Literal["staff", "office_admin", "travel", "external_expertise", "equipment"]
COST_CATEGORIES: tuple[CostCategory, ...] = ("staff", "office_admin", "travel", "external_expertise", "equipment")
CATEGORY_TITLES: dict[str, dict[str, str]] = {
    "staff": {"en": "Staff costs", "lv": "Personāla izmaksas", "ru": "Расходы на персонал"},
    "office_admin": {
        "en": "Office and administration",
        "lv": "Biroja un administratīvās izmaksas",
        "ru": "Офисные и административные расходы",
    },
    "travel": {
        "en": "Travel and accommodation",
        "lv": "Ceļa un uzturēšanās izmaksas",
        "ru": "Командировочные расходы",
    },
    "external_expertise": {
        "en": "External expertise and services",
        "lv": "Ārējo ekspertu un pakalpojumu izmaksas",
        "ru": "Внешняя экспертиза и услуги",
    },
    "equipment": {"en": "Equipment", "lv": "Aprīkojums", "ru": "Оборудование"},
}


@dataclass(frozen=True)
class Partner:
    code: str
    country: str  # ISO 3166-1 alpha-2
    role: Literal["lead", "partner"]
    name: dict[str, str]
    # IATI organisation identifier (no registered one: the "XM-DAC-0" placeholder family of the activity id)
    iati_ref: str


PARTNERS: dict[str, Partner] = {
    "LEAD": Partner(
        "LEAD",
        "RU",
        "lead",
        {
            "en": "Association 'Council of Municipal Formations of the Leningrad Region'",
            "lv": "Asociācija 'Ļeņingradas apgabala pašvaldību padome'",
            "ru": "Ассоциация «Совет муниципальных образований Ленинградской области»",
        },
        "XM-DAC-0-LSG-LEAD",
    ),
    "LPS": Partner(
        "LPS",
        "LV",
        "partner",
        {
            "en": "Latvian Association of Local and Regional Governments (LPS)",
            "lv": "Latvijas Pašvaldību savienība (LPS)",
            "ru": "Союз самоуправлений Латвии (LPS)",
        },
        "XM-DAC-0-LSG-LPS",
    ),
}


@dataclass(frozen=True)
class WorkPackage:
    code: str
    title: dict[str, str]


WORK_PACKAGES: dict[str, WorkPackage] = {
    "WP1": WorkPackage("WP1", {"en": "Management", "lv": "Vadība", "ru": "Управление"}),
    "WP2": WorkPackage("WP2", {"en": "Social dialogue", "lv": "Sociālais dialogs", "ru": "Социальный диалог"}),
    "WP3": WorkPackage(
        "WP3",
        {"en": "Education for local governments", "lv": "Izglītība pašvaldībām", "ru": "Обучение для МСУ"},
    ),
    "WP4": WorkPackage(
        "WP4",
        {
            "en": "Capacity and emergency communication",
            "lv": "Kapacitāte un ārkārtas saziņa",
            "ru": "Потенциал и связь",
        },
    ),
}


class FinanceRuleError(ValueError):
    """A value the money rules refuse, naming the field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def split(amount: Decimal, rate: Decimal = CO_FINANCING_RATE) -> tuple[Decimal, Decimal]:
    """(programme co-financing, own contribution) of an amount; the two always add up to it."""
    programme = cents(amount * rate)
    return programme, cents(amount) - programme


@dataclass(frozen=True)
class BudgetLine:
    partner: str
    category: str
    work_package: str
    amount: Decimal


def check_budget(lines: Sequence[BudgetLine]) -> list[BudgetLine]:
    """The lines of a budget version, checked: known partner, category and work package, positive cents, each
    (partner, category, work package) once. Returns them in a stable order."""
    if not lines:
        raise FinanceRuleError("lines", "a budget needs at least one line")
    seen: set[tuple[str, str, str]] = set()
    for i, line in enumerate(lines):
        where = f"lines.{i}"
        if line.partner not in PARTNERS:
            raise FinanceRuleError(f"{where}.partner", f"{line.partner!r}: expected one of {', '.join(PARTNERS)}")
        if line.category not in COST_CATEGORIES:
            raise FinanceRuleError(
                f"{where}.category", f"{line.category!r}: expected one of {', '.join(COST_CATEGORIES)}"
            )
        if line.work_package not in WORK_PACKAGES:
            raise FinanceRuleError(
                f"{where}.work_package", f"{line.work_package!r}: expected one of {', '.join(WORK_PACKAGES)}"
            )
        if line.amount < 0 or cents(line.amount) != line.amount:
            raise FinanceRuleError(f"{where}.amount", "a non-negative amount in whole cents")
        key = (line.partner, line.category, line.work_package)
        if key in seen:
            raise FinanceRuleError(where, f"{'/'.join(key)} appears twice")
        seen.add(key)
    return sorted(lines, key=lambda b: (b.partner, COST_CATEGORIES.index(b.category), b.work_package))


def budget_totals(lines: Iterable[BudgetLine]) -> dict[str, object]:
    """Totals of a budget: in all, per partner, category and work package, with the co-financing split."""
    total = ZERO
    by: dict[str, dict[str, Decimal]] = {"partner": {}, "category": {}, "work_package": {}}
    for line in lines:
        total += line.amount
        for dim, key in (("partner", line.partner), ("category", line.category), ("work_package", line.work_package)):
            by[dim][key] = by[dim].get(key, ZERO) + line.amount
    programme, own = split(total)
    return {"total": total, "programme": programme, "own": own, **by}


# ---- expenditure -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Declared:
    """The EUR figures of an expenditure entry: converted at the entered rate, VAT out when recoverable."""

    amount_eur: Decimal  # the declared amount
    vat_eur: Decimal


def declare(amount: Decimal, currency: str, rate: Decimal, vat: Decimal, vat_recoverable: bool) -> Declared:
    """Convert an invoice amount (VAT included) to EUR at `rate` (EUR per unit; 1 for EUR, never fetched)."""
    if amount <= 0:
        raise FinanceRuleError("amount", "must be positive (a correction replaces an entry; no negative entries)")
    if vat < 0 or vat > amount:
        raise FinanceRuleError("vat", "between 0 and the amount (VAT is part of the amount)")
    if rate <= 0:
        raise FinanceRuleError("rate", "must be positive")
    if currency == "EUR" and rate != 1:
        raise FinanceRuleError("rate", "an amount in EUR has the rate 1")
    gross = cents(amount * rate)
    if gross >= MAX_EUR:
        raise FinanceRuleError("rate", f"amount x rate is {gross} EUR: at most {MAX_EUR - CENT} EUR an entry")
    vat_eur = cents(vat * rate)
    return Declared(gross - vat_eur if vat_recoverable else gross, vat_eur)


def check_verification(declared: Decimal, eligible: Decimal, ineligible: Decimal) -> None:
    """First-level control splits the declared amount into an eligible and an ineligible part, nothing else."""
    if eligible < 0 or ineligible < 0:
        raise FinanceRuleError("eligible_eur" if eligible < 0 else "ineligible_eur", "must not be negative")
    if cents(eligible) != eligible or cents(ineligible) != ineligible:
        raise FinanceRuleError("eligible_eur", "amounts in whole cents")
    if eligible + ineligible != declared:
        raise FinanceRuleError(
            "ineligible_eur",
            f"eligible + ineligible must equal the declared {declared} EUR (got {eligible + ineligible})",
        )


@dataclass(frozen=True)
class Entry:
    """What the burn and the period reports need of one stored expenditure entry."""

    entry_id: str
    partner: str
    category: str
    work_package: str
    spent_on: date
    amount_eur: Decimal
    period_id: str
    corrects: str | None = None
    eligible_eur: Decimal | None = None  # None until verified
    ineligible_eur: Decimal | None = None

    @property
    def verified(self) -> bool:
        return self.eligible_eur is not None

    @property
    def spent(self) -> Decimal:
        """What the entry counts in the burn: the eligible part once verified, the declared amount until then."""
        return self.eligible_eur if self.eligible_eur is not None else self.amount_eur


def in_force(entries: Iterable[Entry]) -> list[Entry]:
    """Entries no later entry corrects (a correction supersedes the entry it names)."""
    items = list(entries)
    corrected = {e.corrects for e in items if e.corrects}
    return [e for e in items if e.entry_id not in corrected]


@dataclass
class Burn:
    """Spent (eligible once verified) against budget per partner, category and work package, by month."""

    budget_total: Decimal
    spent_total: Decimal
    by: dict[str, dict[str, dict[str, Decimal]]] = field(default_factory=dict)  # dim -> key -> {budget, spent}
    months: dict[str, Decimal] = field(default_factory=dict)  # yyyy-mm -> cumulative spent


def burn(lines: Iterable[BudgetLine], entries: Iterable[Entry]) -> Burn:
    budget_lines = list(lines)
    current = in_force(entries)
    result = Burn(budget_total=sum((b.amount for b in budget_lines), ZERO), spent_total=ZERO)
    for dim in ("partner", "category", "work_package"):
        result.by[dim] = {}
    for b in budget_lines:
        for dim, key in (("partner", b.partner), ("category", b.category), ("work_package", b.work_package)):
            cell = result.by[dim].setdefault(key, {"budget": ZERO, "spent": ZERO})
            cell["budget"] += b.amount
    monthly: dict[str, Decimal] = {}
    for e in current:
        result.spent_total += e.spent
        for dim, key in (("partner", e.partner), ("category", e.category), ("work_package", e.work_package)):
            cell = result.by[dim].setdefault(key, {"budget": ZERO, "spent": ZERO})
            cell["spent"] += e.spent
        month = e.spent_on.strftime("%Y-%m")
        monthly[month] = monthly.get(month, ZERO) + e.spent
    running = ZERO
    for month in sorted(monthly):
        running += monthly[month]
        result.months[month] = running
    return result


def pct(part: Decimal, whole: Decimal) -> float | None:
    return None if whole == 0 else round(float(part / whole * 100), 2)


def time_elapsed_pct(start: date, end: date, on: date) -> float:
    """Share of the programme's days elapsed on `on` (end inclusive)."""
    days = (end - start).days + 1
    done = min(max((on - start).days + 1, 0), days)
    return round(done / days * 100, 2)


def forecast(spent: Decimal, start: date, end: date, on: date) -> Decimal:
    """Spending at the end of the programme if it goes on at the average daily rate so far (linear)."""
    elapsed = min(max((on - start).days + 1, 0), (end - start).days + 1)
    if elapsed == 0:
        return ZERO
    return cents(spent / elapsed * ((end - start).days + 1))


def as_text(values: Mapping[str, Decimal]) -> dict[str, str]:
    return {k: str(cents(v)) for k, v in values.items()}
