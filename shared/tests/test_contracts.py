"""The published contracts are generated from code and must be current; the registry must be complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsg_events import ALL_EVENTS, topics
from lsg_events.geography import AreaUnit, Place
from lsg_events.i18n import LocalizedText
from lsg_shared import contracts

pytestmark = pytest.mark.unit
DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_checked_in_contracts_are_current() -> None:
    assert contracts.main(["--docs", str(DOCS), "--check"]) == 0, "run `uv run lsg-contracts`"


def test_current_event_schemas_are_compatible_with_the_released_ones() -> None:
    report = contracts.compatibility_report(DOCS)
    assert report, "no released snapshot found under docs/contracts/"
    broken = {event_type: changes for event_type, changes in report.items() if changes}
    assert not broken, f"breaking changes within a version: {broken}"


def test_check_detects_a_stale_schema(tmp_path: Path) -> None:
    assert contracts.main(["--docs", str(tmp_path)]) == 0
    assert contracts.main(["--docs", str(tmp_path), "--check"]) == 0
    schema = tmp_path / "schemas" / f"{ALL_EVENTS[0].event_type}.json"
    schema.write_text(schema.read_text().replace('"required"', '"x-required"'))
    assert contracts.main(["--docs", str(tmp_path), "--check"]) == 1


def test_every_event_travels_on_a_registered_topic_and_consumed_topics_have_a_dlq() -> None:
    for model in ALL_EVENTS:
        assert model.topic in topics.TOPICS_BY_NAME, model.event_type
    for spec in topics.TOPICS:
        if spec.consumers and not spec.name.endswith(".dlq") and spec.consumers != ("integrators",):
            assert topics.dlq_topic(spec.name) in topics.TOPICS_BY_NAME
    assert topics.TOPICS_BY_NAME[topics.INDICATORS].cleanup_policy == "compact"


def test_schemas_carry_id_and_examples() -> None:
    for model in ALL_EVENTS:
        schema = contracts.json_schema(model)
        assert schema["$id"].endswith(f"{model.event_type}.json")
        assert schema["examples"]


def _unit(code: str) -> AreaUnit:
    return AreaUnit(code=code, name=LocalizedText(lv="a", ru="б", en="c"))


def test_place_levels_must_be_contiguous() -> None:
    with pytest.raises(ValueError, match="territory given without its municipality"):
        Place(country="LV", territory=_unit("t"))
    place = Place(country="RU", municipality=_unit("m"), territory=_unit("t"), settlement=_unit("s"))
    assert [level.value for level, _ in place.path()] == ["country", "municipality", "territory", "settlement"]
    assert place.level.value == "settlement"


def test_localized_text_falls_back() -> None:
    text = LocalizedText(lv="Sveiki", ru="Привет", en="Hello")
    assert text.get("ru") == "Привет"
    assert text.get("de") == "Hello"
