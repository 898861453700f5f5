"""The simulator's plan, without services: reproducible, mid-year a prefix of full-year, valid partner input."""

from __future__ import annotations

import json

import pytest

from lsg_demo import content as C
from lsg_demo.cli import _parse_speed, build_parser
from lsg_demo.partner import cap_alert
from lsg_demo.scenario import Programme
from lsg_events.partner import cap_time, sign

pytestmark = pytest.mark.unit


def _labels(scenario: str, seed: int) -> list[str]:
    return [f"{s.day} {s.label}" for s in Programme(None, scenario=scenario, seed=seed).steps()]  # type: ignore[arg-type]


def test_same_seed_same_plan_and_data() -> None:
    a = Programme(None, scenario="full-year", seed=7)  # type: ignore[arg-type]
    b = Programme(None, scenario="full-year", seed=7)  # type: ignore[arg-type]
    assert _labels("full-year", 7) == _labels("full-year", 7)
    assert [d.device_id for d in a.devices] == [d.device_id for d in b.devices]
    rows_a = a._kobo_rows(a.rng("survey", 1), 1, "LV", C.SURVEY_WAVES[0][2], C.SURVEY_WAVES[0][3], 260)
    rows_b = b._kobo_rows(b.rng("survey", 1), 1, "LV", C.SURVEY_WAVES[0][2], C.SURVEY_WAVES[0][3], 260)
    assert rows_a == rows_b
    assert len({r["meta/instanceID"] for r in rows_a}) == len(rows_a)
    assert a._trainees() != Programme(None, scenario="full-year", seed=8)._trainees()  # type: ignore[arg-type]


def test_mid_year_is_the_first_half_of_full_year() -> None:
    full, mid = _labels("full-year", 3), _labels("mid-year", 3)
    assert mid == [label for label in full if label[:10] <= C.MID_YEAR.isoformat()]
    assert len(mid) < len(full)


def test_the_plan_covers_every_target() -> None:
    p = Programme(None, scenario="full-year", seed=1)  # type: ignore[arg-type]
    assert len(p.devices) == 35
    assert len({d.device_id for d in p.devices}) == 35
    assert {d.settlement.country for d in p.devices} == {"LV", "RU"}
    assert len(C.SURVEY_WAVES) == 4
    fg = [m for m in C.MEETINGS if m["kind"] == "focus_group"]
    cons = [m for m in C.MEETINGS if m["kind"] == "public_consultation"]
    assert len(fg) == 2
    assert sum(c for m in fg for *_, c in m["participants"]) >= 40
    assert len(cons) == 2
    assert sum(c for m in cons for *_, c in m["participants"]) >= 50
    copies: dict[str, int] = {}
    for _, kind, quantity, *_ in C.DELIVERABLES:
        copies[kind] = copies.get(kind, 0) + quantity
    assert copies["brochure_lsg"] >= 300
    assert copies["handbook_elders"] >= 300
    assert copies["brochure_institute_of_elders"] >= 250
    assert copies["recommendations"] >= 300
    assert copies["emergency_information_material"] >= 500
    # Likert shares: overall top-2-box and mean above the catalogue's targets (60 %, 3.5) with a margin.
    for shares in (C.DIALOGUE_SHARES, C.INVOLVEMENT_SHARES):
        top2 = sum(s[3] + s[4] for s in shares) / 4
        mean = sum(sum((i + 1) * v for i, v in enumerate(s)) for s in shares) / 4
        assert top2 >= 0.62
        assert mean >= 3.6
        assert all(abs(sum(s) - 1) < 1e-9 for s in shares)
    live = [a for a in C.ALERTS if a["outcome"] not in ("drill", "cancel")]
    assert (len(live) - 1) / len(live) >= 0.9  # one of them escalates (acknowledged late)


def test_signature_and_cap_are_what_the_alerts_service_accepts() -> None:
    signing = pytest.importorskip("lsg_alerts.domain.signing")
    cap = pytest.importorskip("lsg_alerts.domain.cap")
    body = b'{"device_id":"LV-SIR-1"}'
    header = sign("s3cret", "1700000000", body)
    signing.verify(
        secrets=["s3cret"],
        timestamp_header="1700000000",
        signature_header=header,
        body=body,
        reference_time=1700000000,
        tolerance_s=300,
    )
    for spec in C.ALERTS:
        doc = cap_alert(
            identifier=f"x-{spec['key']}",
            sender="urn:lsg:test",
            sent=cap_time(),
            device_id="LV-SIR-1",
            area_desc="Nirza",
            status=spec.get("status", "Actual"),
            **{
                k: spec[k]
                for k in (
                    "category",
                    "event",
                    "urgency",
                    "severity",
                    "certainty",
                    "headline",
                    "description",
                    "instruction",
                    "language",
                )
            },
        )
        errors = cap.validate(json.dumps(doc, ensure_ascii=False).encode(), "application/cap+json")
        assert not errors, (spec["key"], [e.as_dict() for e in errors])


def test_cli_speed() -> None:
    assert _parse_speed("max") is None
    assert _parse_speed("86400") == 86400.0
    args = build_parser().parse_args(["--scenario", "mid-year", "--seed", "5"])
    assert (args.scenario, args.seed, args.speed) == ("mid-year", 5, "max")


def test_the_work_plan_summary_prints_every_package_and_the_burn(capsys: pytest.CaptureFixture[str]) -> None:
    from lsg_demo.cli import print_plan

    activity = {"code": "A2.1", "slipping": True, "deliverables": [{"status": "delivered"}, {"status": "overdue"}]}
    plan = {
        "as_of": "2025-12-31",
        "output_progress_pct": 80.5,
        "work_packages": [
            {"code": "WP1", "title": {"en": "Management"}, "output_progress_pct": None, "activities": []},
            {"code": "WP2", "title": {"en": "Social dialogue"}, "output_progress_pct": 75.0, "activities": [activity]},
        ],
        "slippage": [{"kind": "deliverable_overdue"}],
        "burn": {
            "spent": "1.00",
            "budget": "2.00",
            "spent_pct": 50.0,
            "time_pct": 100.0,
            "output_progress_pct": 80.5,
            "forecast": "1.00",
        },
    }
    print_plan(plan)
    out = capsys.readouterr().out
    assert "WP2 Social dialogue" in out
    assert " 1/2  delivered" in out
    assert "slipping: A2.1" in out
    assert "spent EUR 1.00 of 2.00 (50.0 %)" in out
    assert "1 slippage flag(s)" in out
