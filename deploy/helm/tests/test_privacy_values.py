"""Issue 30 in the chart: per-country personal databases (residency), the shared subject key and the retention
periods reach the services as secretKeyRefs and plain values; without them nothing changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

CHART = Path(__file__).resolve().parents[1] / "lsg"
SCHEMA = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
RESIDENCY = [
    "components.training.personalDatabases.LV.existingSecret=lsg-training-personal-lv",
    "components.training.personalDatabases.LV.key=dsn",
    "components.training.personalDatabases.RU.existingSecret=lsg-training-personal-ru",
    "components.training.personalDatabases.RU.key=dsn",
    "privacy.subjectKey.existingSecret=lsg-privacy",
    "privacy.trainingParticipantRetentionDays=365",
    "audit.identityRetentionDays=180",
]


def _env(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, dict[str, Any]]:
    [obj] = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    [container] = obj["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e for e in container.get("env", [])}


def test_schema_takes_per_country_databases_and_refuses_others() -> None:
    validator = jsonschema.Draft7Validator(SCHEMA)
    ok = {"components": {"training": {"enabled": True, "port": 8002, "personalDatabases": {
        "RU": {"existingSecret": "lsg-training-personal-ru", "key": "dsn"}}}}}  # fmt: skip
    validator.validate(ok)
    for bad in (
        {"DE": {"existingSecret": "x", "key": "dsn"}},  # no such country in the programme
        {"RU": {"key": "dsn"}},  # no Secret named
        {"RU": {"existingSecret": "x", "key": "dsn", "value": "postgresql://inline"}},  # never inline
    ):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate({"components": {"training": {"enabled": True, "port": 8002, "personalDatabases": bad}}})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"privacy": {"trainingParticipantRetentionDays": -1}})


def test_per_country_urls_subject_key_and_retention_reach_training(render: Any) -> None:
    objs = render(sets=RESIDENCY)
    for kind, name in (("Deployment", "lsg-training"), ("Job", "lsg-training-migrate")):
        env = _env(objs, kind, name)
        for country in ("LV", "RU"):
            ref = env[f"LSG_TRAINING_PERSONAL_DATABASE_URL_{country}"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": f"lsg-training-personal-{country.lower()}", "key": "dsn"}
        assert env["LSG_PRIVACY_SUBJECT_KEY"]["valueFrom"]["secretKeyRef"] == {
            "name": "lsg-privacy",
            "key": "subject-key",
        }
        assert env["LSG_TRAINING_PARTICIPANT_RETENTION_DAYS"]["value"] == "365"
        assert env["LSG_AUDIT_IDENTITY_RETENTION_DAYS"]["value"] == "180"
    surveys = _env(objs, "Deployment", "lsg-surveys")
    assert not [n for n in surveys if "PERSONAL_DATABASE_URL" in n or n == "LSG_TRAINING_PARTICIPANT_RETENTION_DAYS"]
    assert "LSG_PRIVACY_SUBJECT_KEY" in surveys  # every service shares the key


def test_without_the_settings_nothing_changes(render: Any) -> None:
    env = _env(render(), "Deployment", "lsg-training")
    assert not [n for n in env if "PERSONAL_DATABASE_URL" in n or "PRIVACY" in n or "IDENTITY_RETENTION" in n]


SURVEYS_RESIDENCY = [
    "components.surveys.personalDatabases.LV.existingSecret=lsg-surveys-personal-lv",
    "components.surveys.personalDatabases.LV.key=dsn",
    "components.surveys.personalDatabases.RU.existingSecret=lsg-surveys-personal-ru",
    "components.surveys.personalDatabases.RU.key=dsn",
    "privacy.subjectKey.existingSecret=lsg-privacy",
    "privacy.surveysRespondentRetentionDays=730",
]


def test_per_country_urls_and_respondent_retention_reach_surveys(render: Any) -> None:
    objs = render(sets=SURVEYS_RESIDENCY)
    for kind, name in (("Deployment", "lsg-surveys"), ("Job", "lsg-surveys-migrate")):
        env = _env(objs, kind, name)
        for country in ("LV", "RU"):
            ref = env[f"LSG_SURVEYS_PERSONAL_DATABASE_URL_{country}"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": f"lsg-surveys-personal-{country.lower()}", "key": "dsn"}
        assert env["LSG_SURVEYS_RESPONDENT_RETENTION_DAYS"]["value"] == "730"
    training = _env(objs, "Deployment", "lsg-training")
    assert not [n for n in training if "PERSONAL_DATABASE_URL" in n or n == "LSG_SURVEYS_RESPONDENT_RETENTION_DAYS"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(SCHEMA).validate({"privacy": {"surveysRespondentRetentionDays": -1}})


def test_without_the_settings_surveys_is_unchanged(render: Any) -> None:
    env = _env(render(), "Deployment", "lsg-surveys")
    assert not [n for n in env if "PERSONAL_DATABASE_URL" in n or "RESPONDENT_RETENTION" in n]


ALERTS_RESIDENCY = [
    "components.alerts.personalDatabases.LV.existingSecret=lsg-alerts-personal-lv",
    "components.alerts.personalDatabases.LV.key=dsn",
    "components.alerts.personalDatabases.RU.existingSecret=lsg-alerts-personal-ru",
    "components.alerts.personalDatabases.RU.key=dsn",
    "privacy.subjectKey.existingSecret=lsg-privacy",
    "privacy.alertsContactRetentionDays=400",
]


def test_per_country_urls_and_contact_retention_reach_alerts(render: Any) -> None:
    objs = render(sets=ALERTS_RESIDENCY)
    for kind, name in (("Deployment", "lsg-alerts"), ("Job", "lsg-alerts-migrate")):
        env = _env(objs, kind, name)
        for country in ("LV", "RU"):
            ref = env[f"LSG_ALERTS_PERSONAL_DATABASE_URL_{country}"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": f"lsg-alerts-personal-{country.lower()}", "key": "dsn"}
        assert env["LSG_ALERTS_CONTACT_RETENTION_DAYS"]["value"] == "400"
        assert env["LSG_PRIVACY_SUBJECT_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "lsg-privacy"
    for other in ("lsg-training", "lsg-surveys"):
        env = _env(objs, "Deployment", other)
        assert not [n for n in env if "PERSONAL_DATABASE_URL" in n or n == "LSG_ALERTS_CONTACT_RETENTION_DAYS"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(SCHEMA).validate({"privacy": {"alertsContactRetentionDays": -1}})


def test_without_the_settings_alerts_is_unchanged(render: Any) -> None:
    env = _env(render(), "Deployment", "lsg-alerts")
    assert not [n for n in env if "PERSONAL_DATABASE_URL" in n or "CONTACT_RETENTION" in n]


def test_identity_retention_reaches_reporting_only(render: Any) -> None:
    objs = render(sets=["privacy.reportingIdentityRetentionDays=1825", "privacy.subjectKey.existingSecret=lsg-privacy"])
    env = _env(objs, "Deployment", "lsg-reporting")
    assert env["LSG_REPORTING_IDENTITY_RETENTION_DAYS"]["value"] == "1825"
    assert env["LSG_PRIVACY_SUBJECT_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "lsg-privacy"
    for other in ("lsg-training", "lsg-surveys", "lsg-alerts"):
        assert "LSG_REPORTING_IDENTITY_RETENTION_DAYS" not in _env(objs, "Deployment", other)
    assert "LSG_REPORTING_IDENTITY_RETENTION_DAYS" not in _env(render(), "Deployment", "lsg-reporting")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(SCHEMA).validate({"privacy": {"reportingIdentityRetentionDays": -1}})
