"""Reading CSV sheets as people make them: Excel in Latvian or Russian, UTF-8 (with or without BOM) or UTF-16,
separated by commas, semicolons (the usual choice where the comma is the decimal separator) or tabs.

Headings and values are recognised in Latvian, Russian and English. Names are kept exactly as written, only
normalised to Unicode NFC (so a name typed on a Mac, in NFD, matches the same name typed on Windows) and with
surrounding and repeated spaces removed. Row numbers are those a spreadsheet shows: the heading is row 1.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

_SPACES = re.compile(r"\s+")
_QUOTED = re.compile(r'"[^"]*"')


def clean_text(value: str) -> str:
    """NFC, outer spaces stripped, inner runs of white space (including no-break spaces) collapsed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip()


def match_key(value: str) -> str:
    """How names and headings are compared: cleaned and case-folded (Ā = ā, Ж = ж)."""
    return clean_text(value).casefold()


def _heading_key(value: str) -> str:
    return match_key(value).rstrip(":*").strip()


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"row": self.row, "field": self.field, "message": self.message}
        if self.value is not None:
            out["value"] = self.value[:200]
        return out


class SheetError(Exception):
    """The sheet as a whole cannot be read (encoding, no heading, a required column missing)."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


def decode(raw: bytes, encoding: str | None = None) -> str:
    """Bytes to text. A BOM decides; otherwise UTF-8, or the caller's explicit legacy encoding."""
    if not raw.strip():
        raise SheetError("The sheet is empty.", [{"field": "body", "message": "no rows"}])
    if encoding:
        try:
            return raw.decode(encoding)
        except LookupError as exc:
            raise SheetError(
                f"Unknown encoding {encoding!r}.", [{"field": "query:encoding", "message": "unknown encoding"}]
            ) from exc
        except UnicodeDecodeError as exc:
            raise SheetError(
                f"The sheet is not valid {encoding} (byte {exc.start}).",
                [{"field": "body", "message": f"not {encoding}"}],
            ) from exc
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SheetError(
            f"The sheet is not UTF-8 (first bad byte on row {line}). Save it as 'CSV UTF-8', or name its "
            "encoding with ?encoding=windows-1257 (Baltic) or ?encoding=windows-1251 (Cyrillic).",
            [{"field": "body", "row": line, "message": "not UTF-8"}],
        ) from exc


def read(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(headings, [(row number, cells)]) with the delimiter guessed from the heading line; blank rows skipped."""
    first_line = _QUOTED.sub("", text.lstrip("\ufeff").split("\n", 1)[0])  # "Vārds, uzvārds" is one heading
    counts = {d: first_line.count(d) for d in (";", "\t", ",")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    headings: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            number = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if headings is None:
                headings = cells
                continue
            rows.append((number, cells))
    except csv.Error as exc:
        raise SheetError(f"The sheet cannot be read as CSV near row {reader.line_num}: {exc}.") from exc
    if headings is None:
        raise SheetError("The sheet has no heading row.", [{"field": "body", "row": 1, "message": "no heading"}])
    return headings, rows


@dataclass(frozen=True)
class Column:
    name: str
    aliases: tuple[str, ...]
    required: bool = False


@dataclass
class Layout:
    """Which cell holds which field, found from the heading row."""

    index: dict[str, int] = field(default_factory=dict)

    def get(self, cells: list[str], name: str) -> str | None:
        i = self.index.get(name)
        if i is None:
            return None
        return cells[i] if i < len(cells) else ""


def layout(headings: list[str], columns: Iterable[Column], *, one_of: Iterable[str] = ()) -> Layout:
    cols = list(columns)
    by_alias = {_heading_key(a): c.name for c in cols for a in (c.name, *c.aliases)}
    found = Layout()
    for i, heading in enumerate(headings):
        name = by_alias.get(_heading_key(heading))
        if name is not None and name not in found.index:
            found.index[name] = i
    missing = [c for c in cols if c.required and c.name not in found.index]
    alternatives = list(one_of)
    if alternatives and not any(a in found.index for a in alternatives):
        missing += [c for c in cols if c.name in alternatives]
    if missing:
        errors = [
            {
                "field": c.name,
                "row": 1,
                "message": "no column for this field; accepted headings: " + ", ".join((c.name, *c.aliases)),
            }
            for c in missing
        ]
        what = " or ".join(c.name for c in missing) if alternatives else ", ".join(c.name for c in missing)
        raise SheetError(f"The heading row (row 1) has no column for {what}.", errors)
    return found


def _lookup(table: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    return {match_key(alias): value for value, aliases in table.items() for alias in (value, *aliases)}


_ROLES = _lookup(
    {
        "elder": ("elder", "village elder", "vecākais", "ciema vecākais", "starosta", "староста", "старейшина"),
        "municipal_head": (
            "municipal head",
            "head",
            "pašvaldības vadītājs",
            "vadītājs",
            "domes priekšsēdētājs",
            "priekšsēdētājs",
            "глава",
            "глава администрации",
            "глава поселения",
            "глава муниципального образования",
        ),
        "municipal_representative": (
            "municipal representative",
            "representative",
            "pašvaldības pārstāvis",
            "pārstāvis",
            "deputāts",
            "speciālists",
            "представитель",
            "представитель администрации",
            "представитель муниципалитета",
            "депутат",
            "специалист",
        ),
        "initiative_group": (
            "initiative group",
            "iniciatīvas grupa",
            "iniciatīvas grupas dalībnieks",
            "инициативная группа",
            "член инициативной группы",
        ),
        "resident": ("iedzīvotājs", "житель"),
        "staff": ("darbinieks", "сотрудник"),
        "other": ("cits", "cita", "другое", "иное", "другой"),
    }
)
_GENDERS = _lookup(
    {
        "female": ("f", "w", "woman", "s", "sieviete", "sieviešu", "ж", "жен", "женский", "женщина"),
        "male": ("m", "man", "v", "vīrietis", "vīriešu", "м", "муж", "мужской", "мужчина"),
        "other": ("cits", "cita", "другое", "иное"),
        "undisclosed": ("", "nav norādīts", "не указан", "не указано", "-"),
    }
)
_COUNTRIES = _lookup(
    {
        "LV": ("lv", "latvia", "latvija", "латвия", "lat"),
        "RU": ("ru", "russia", "krievija", "россия", "рф", "российская федерация"),
    }
)
_YES = {
    match_key(v)
    for v in (
        "1",
        "true",
        "yes",
        "y",
        "jā",
        "ja",
        "j",
        "да",
        "д",
        "+",
        "x",
        "✓",
        "✔",
        "v",
        "present",
        "klāt",
        "klātesošs",
        "piedalījās",
        "присутствовал",
        "присутствовала",
        "был",
        "была",
        "присутствует",
    )
}
_NO = {
    match_key(v)
    for v in (
        "",
        "0",
        "false",
        "no",
        "n",
        "nē",
        "ne",
        "нет",
        "н",
        "-",
        "absent",
        "nav",
        "nepiedalījās",
        "отсутствовал",
        "отсутствовала",
        "не был",
        "не была",
        "отсутствует",
    )
}


def parse_role(value: str) -> str | None:
    return _ROLES.get(match_key(value).replace("_", " ")) or _ROLES.get(match_key(value))


def parse_gender(value: str) -> str | None:
    return _GENDERS.get(match_key(value))


def parse_country(value: str) -> str | None:
    return _COUNTRIES.get(match_key(value))


def parse_present(value: str) -> bool | None:
    key = match_key(value)
    if key in _YES:
        return True
    if key in _NO:
        return False
    return None


ROLE_CHOICES = "elder, municipal_head, municipal_representative, initiative_group, resident, staff, other"


# --- the two sheets the service reads -------------------------------------------------------------------------------

PARTICIPANT_COLUMNS = (
    Column("ref", ("reference", "registration no", "reģ. nr.", "reģistrācijas nr.", "рег. №", "регистрационный номер")),
    Column(
        "name",
        (
            "full name",
            "participant",
            "vārds, uzvārds",
            "vārds uzvārds",
            "vārds",
            "dalībnieks",
            "фио",
            "ф.и.о.",
            "ф. и. о.",
            "фамилия, имя, отчество",
            "фамилия имя отчество",
            "участник",
            "имя",
        ),
        required=True,
    ),
    Column("role", ("loma", "amats", "statuss", "роль", "статус", "должность"), required=True),
    Column("country", ("valsts", "страна"), required=True),
    Column(
        "place_code",
        (
            "place",
            "settlement code",
            "vietas kods",
            "apdzīvotās vietas kods",
            "код места",
            "код населённого пункта",
            "код населенного пункта",
        ),
    ),
    Column("gender", ("sex", "dzimums", "пол")),
    Column(
        "organisation",
        ("organization", "organizācija", "iestāde", "pašvaldība", "организация", "учреждение", "муниципалитет"),
    ),
    Column("email", ("e-mail", "e-pasts", "epasts", "эл. почта", "электронная почта", "email адрес")),
    Column("phone", ("telephone", "tālrunis", "telefons", "телефон")),
)

SIGNIN_COLUMNS = (
    Column("participant_id", ("participant id", "dalībnieka id", "id участника")),
    Column("ref", PARTICIPANT_COLUMNS[0].aliases),
    Column("name", PARTICIPANT_COLUMNS[1].aliases),
    Column(
        "present",
        ("attended", "klātesošs", "klāt", "piedalījās", "apmeklējums", "присутствие", "присутствовал", "явка"),
    ),
    Column("signature", ("paraksts", "подпись")),
)


SESSION_COLUMNS = (
    Column("session", ("session id", "session_id", "nodarbība", "nodarbības id", "сессия", "занятие", "id занятия")),
    Column("module", ("module code", "modulis", "moduļa kods", "модуль", "код модуля")),
    Column("date", ("datums", "дата")),
)


def parse_date(value: str) -> date | None:
    value = value.strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d.%m.%y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


# Characters a spreadsheet cell cannot hold (the C0 controls but tab, line feed and carriage return).
_CELL_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# What a spreadsheet program reads as the start of a formula (OWASP, "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value: str) -> str:
    """Text safe to put in a spreadsheet cell: control characters a workbook cannot hold are dropped, and text
    a spreadsheet program would run as a formula is prefixed with an apostrophe so it stays text."""
    text = _CELL_ILLEGAL.sub("", value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text
