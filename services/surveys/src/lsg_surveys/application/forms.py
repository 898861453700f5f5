"""A campaign's XLSForm: the questionnaire and a mapping version derived from it (upload the form, then the
export). The questionnaire can be replaced while the campaign is a draft; once open, questions are fixed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lsg_shared.auth import Principal
from lsg_shared.uow import UnitOfWork
from lsg_surveys.adapters import postgres as repo
from lsg_surveys.application.campaigns import CampaignDefinitions, authorise, definition
from lsg_surveys.application.errors import Invalid, NotEditable, NotFound
from lsg_surveys.domain.mappings import MappingSet, mapping_errors
from lsg_surveys.domain.model import CampaignStatus, FieldError, Question, bad_text
from lsg_surveys.domain.xlsform import parse_xlsform


@dataclass(frozen=True)
class FormOutcome:
    campaign_id: str
    form: dict[str, Any]
    questions: list[Question]
    mapping_version: int
    mappings: MappingSet


async def upload(
    uow: UnitOfWork, definitions: CampaignDefinitions, campaign_id: str, data: bytes, actor: Principal
) -> FormOutcome:
    """Read the XLSForm, replace the draft campaign's questions with its questions and store its mappings as a
    new mapping version (origin ``xlsform``)."""
    campaign = await definition(uow, definitions, campaign_id, refresh=True)
    authorise(actor, campaign)
    if not campaign.is_survey:
        raise Invalid([FieldError("campaign_id", f"a {campaign.kind.value} has no questionnaire", campaign_id)])
    if campaign.status != CampaignStatus.DRAFT:
        raise NotEditable(
            f"Campaign {campaign_id!r} is {campaign.status.value}: its questions are fixed once it opens "
            "(its mappings can still be edited: PUT /v1/campaigns/{id}/mappings)."
        )
    parsed, errors = parse_xlsform(data, campaign)
    if errors or parsed is None:
        raise Invalid(errors, "The XLSForm cannot be used; each error names its sheet, row and column.")
    campaign.questions = parsed.questions
    errors = bad_text([q.model_dump(mode="json") for q in parsed.questions], "questions")
    errors += bad_text(parsed.mappings.model_dump(mode="json"), "mappings")
    errors += mapping_errors(campaign, parsed.mappings)
    if errors:
        raise Invalid(errors)
    async with uow.begin() as tx:
        row = await repo.get_campaign_row(tx.conn, campaign_id, lock="update")
        if row is None:
            raise NotFound("campaign", campaign_id)
        if CampaignStatus(row["status"]) != CampaignStatus.DRAFT:
            raise NotEditable(f"Campaign {campaign_id!r} opened meanwhile: its questions are fixed.")
        await repo.set_questionnaire(tx.conn, campaign_id, parsed.questions, parsed.summary)
        version = await repo.insert_mapping_version(
            tx.conn, campaign_id, parsed.mappings.model_dump(mode="json"), "xlsform", actor.subject
        )
    await definition(uow, definitions, campaign_id, refresh=True)
    return FormOutcome(campaign_id, parsed.summary, parsed.questions, version, parsed.mappings)
