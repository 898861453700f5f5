"""``lsg-admin person erase``: the request it publishes carries tokens and local ids, never an identifier."""

from __future__ import annotations

import pytest

from lsg_shared import admin, privacy

pytestmark = pytest.mark.unit


def test_erasure_request_holds_tokens_and_local_ids_only() -> None:
    request = admin.erasure_request(
        "k",
        email="janis@example.lv",
        phone="+371 2000 0001",
        name="Jānis Bērziņš",
        country="LV",
        login="jberzins",
        local=["training=0b6f0c1e-3d0a-4c41-9a57-2f8a1d1f6e2b", "training=p_abc"],
        request_id="er-1",
    )
    text = request.model_dump_json()
    for identifier in ("janis", "2000", "Jānis", "Bērziņš", "jberzins"):
        assert identifier not in text
    assert request.subject_tokens == privacy.subject_tokens(
        "k", email="janis@example.lv", phone="+371 2000 0001", name="Jānis Bērziņš", country="LV", login="jberzins"
    )
    assert request.local_ids == {"training": ["0b6f0c1e-3d0a-4c41-9a57-2f8a1d1f6e2b", "p_abc"]}
    assert request.request_id == "er-1"


def test_erasure_request_needs_someone_and_well_formed_local_ids() -> None:
    with pytest.raises(SystemExit, match="at least one identifier"):
        admin.erasure_request("k")
    with pytest.raises(SystemExit, match="service=id"):
        admin.erasure_request("k", local=["0b6f0c1e"])
    assert admin.erasure_request("k", email="a@b.lv").request_id.startswith("er-")


def test_the_cli_parses_person_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = []

    async def fake_erase(settings: object, request: object) -> int:
        sent.append(request)
        return 0

    monkeypatch.setattr(admin, "person_erase", fake_erase)
    monkeypatch.setenv("LSG_PRIVACY_SUBJECT_KEY", "cli-key")
    assert admin.main(["person", "erase", "--email", "a@b.lv", "--request-id", "er-cli"]) == 0
    assert sent[0].subject_tokens == privacy.subject_tokens("cli-key", email="a@b.lv")
    monkeypatch.delenv("LSG_PRIVACY_SUBJECT_KEY")
    monkeypatch.setenv("LSG_ENVIRONMENT", "production")
    with pytest.raises(SystemExit, match="LSG_PRIVACY_SUBJECT_KEY"):
        admin.main(["person", "erase", "--email", "a@b.lv"])
