"""The use cases without HTTP: run on the shared unit of work over real PostgreSQL, what each writes and emits
is seen in the transaction that wrote it (the way a consumer or a script would call them)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from surveys_support import PSEUDONYM_KEY, response_body, survey_body

from lsg_events.envelope import CloudEvent
from lsg_local.testing import unique
from lsg_shared import db, migrate
from lsg_shared.auth import Principal
from lsg_shared.uow import Transaction, UnitOfWork
from lsg_surveys.application import campaigns, responses
from lsg_surveys.application.campaigns import CampaignDefinitions
from lsg_surveys.application.errors import CampaignNotOpen, Invalid
from lsg_surveys.domain.model import Campaign, CampaignStatus
from lsg_surveys.domain.privacy import Pseudonymizer
from lsg_surveys.domain.responses import ResponseInput
from lsg_surveys.entrypoints.schemas import CampaignIn

pytestmark = [pytest.mark.component, pytest.mark.postgres]

ADMIN = Principal(subject="admin", roles=frozenset({"admin"}))
EDITOR = Principal(subject="editor", roles=frozenset({"editor"}))


class RecordingUnitOfWork(UnitOfWork):
    """The shared unit of work, keeping what each committed transaction emitted."""

    __slots__ = ("committed",)

    def __init__(self, pool: Any, source: str) -> None:
        super().__init__(pool, source)
        self.committed: list[CloudEvent] = []

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[Transaction]:
        async with super().begin() as tx:
            yield tx
        self.committed.extend(tx.emitted)


@pytest.fixture
async def uow(module_db: str) -> AsyncIterator[RecordingUnitOfWork]:
    pool = await db.create_pool(module_db, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await migrate.apply(conn, migrate.for_service("lsg_surveys"))
        yield RecordingUnitOfWork(pool, "/lsg/surveys/test")
    finally:
        await pool.close()


def new_campaign(cid: str) -> Campaign:
    return CampaignIn.model_validate(survey_body(cid)).campaign()


async def test_a_response_is_stored_and_emitted_in_one_transaction(uow: RecordingUnitOfWork) -> None:
    definitions, pseudo = CampaignDefinitions(), Pseudonymizer(PSEUDONYM_KEY)
    cid = unique("uc")
    view = await campaigns.create(uow, new_campaign(cid), ADMIN)
    assert (view.campaign.status, uow.committed) == (CampaignStatus.DRAFT, [])
    data = ResponseInput.model_validate(response_body(1))
    with pytest.raises(CampaignNotOpen):
        await responses.submit(uow, definitions, pseudo, cid, data, EDITOR)
    assert await campaigns.open_campaign(uow, definitions, cid)
    assert not await campaigns.open_campaign(uow, definitions, cid)  # a no-op, nothing emitted
    first = await responses.submit(uow, definitions, pseudo, cid, data, EDITOR)
    again = await responses.submit(uow, definitions, pseudo, cid, data, EDITOR)
    assert (first.outcome, again.outcome, again.response_id) == ("recorded", "duplicate", first.response_id)
    bad = ResponseInput.model_validate(response_body(2, answers={"q_dialogue": 9}))
    with pytest.raises(Invalid) as refused:
        await responses.submit(uow, definitions, pseudo, cid, bad, EDITOR)
    assert [e.field for e in refused.value.errors] == ["answers.q_dialogue"]
    assert await campaigns.close_campaign(uow, definitions, cid)
    assert [e.type for e in uow.committed] == [
        "lv.lsg.survey.opened.v1",
        "lv.lsg.survey.response.recorded.v1",
        "lv.lsg.survey.completed.v1",
    ]
    assert (await campaigns.get(uow, cid, count=True)).responses == 1
    assert (await campaigns.results(uow, cid))["respondents"] == 1
