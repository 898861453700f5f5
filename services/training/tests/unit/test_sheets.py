"""Reading CSV sheets in Latvian, Russian and English."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lsg_training.domain import sheets

pytestmark = pytest.mark.unit


def test_decoding_boms_utf8_and_explicit_legacy_encodings() -> None:
    text = "ФИО;Paraksts\nŠķēle Ģirts;✓\n"
    assert sheets.decode(b"\xef\xbb\xbf" + text.encode()) == text
    assert sheets.decode(text.encode("utf-16")) == text
    assert sheets.decode(text.encode()) == text
    assert sheets.decode("Vārds\nĻena".encode("cp1257"), "windows-1257") == "Vārds\nĻena"
    with pytest.raises(sheets.SheetError, match="not UTF-8"):
        sheets.decode("Vārds\nĻena".encode("cp1257"))
    with pytest.raises(sheets.SheetError, match="empty"):
        sheets.decode(b"  \n")
    with pytest.raises(sheets.SheetError, match="Unknown encoding"):
        sheets.decode(b"x", "klingon")


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters_and_row_numbers(delimiter: str) -> None:
    text = delimiter.join(['"Vārds, uzvārds"', "Klātesošs"]) + "\n\n" + delimiter.join(["Anna", "jā"]) + "\n"
    headings, rows = sheets.read(text)
    assert headings == ["Vārds, uzvārds", "Klātesošs"]
    assert rows == [(3, ["Anna", "jā"])]  # the blank row 2 is skipped, numbering is kept


def test_headings_in_three_languages() -> None:
    for heading in ("Vārds, uzvārds", "ФИО", "Ф.И.О.", "Full name", " NAME: "):
        found = sheets.layout([heading, "x"], sheets.SIGNIN_COLUMNS, one_of=("participant_id", "ref", "name"))
        assert found.index["name"] == 0
    with pytest.raises(sheets.SheetError) as err:
        sheets.layout(["Foo"], sheets.PARTICIPANT_COLUMNS)
    assert {e["field"] for e in err.value.errors} == {"name", "role", "country"}


def test_values() -> None:
    assert sheets.parse_role("Староста") == "elder"
    assert sheets.parse_role("Pašvaldības vadītājs") == "municipal_head"
    assert sheets.parse_role("initiative_group") == "initiative_group"
    assert sheets.parse_role("mayor") is None
    assert sheets.parse_gender("Ж") == "female"
    assert sheets.parse_gender("vīrietis") == "male"
    assert sheets.parse_gender("") == "undisclosed"
    assert sheets.parse_country("Россия") == "RU"
    assert sheets.parse_country("Latvija") == "LV"
    assert sheets.parse_present("Да") is True
    assert sheets.parse_present("nē") is False
    assert sheets.parse_present("varbūt") is None


@given(st.text(alphabet=st.sampled_from("ĀāČčĒēĢģĪīĶķĻļŅņŠšŪūŽžЁёЙйЩщЪъЫыAbc -'"), min_size=1, max_size=40))
def test_names_survive_nfd_and_case(name: str) -> None:
    clean = sheets.clean_text(name)
    assert sheets.match_key(unicodedata.normalize("NFD", name)) == sheets.match_key(clean)
    assert sheets.clean_text(clean) == clean
