"""/v1/campaigns: set-up, open, close, published results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from lsg_events.surveys import CampaignKind
from lsg_shared.auth import Principal
from lsg_shared.deps import Admin, Offset
from lsg_surveys.application import campaigns
from lsg_surveys.application.campaigns import CampaignView
from lsg_surveys.domain.model import CampaignStatus
from lsg_surveys.entrypoints.dependencies import Definitions, Uow
from lsg_surveys.entrypoints.schemas import CampaignIn, CampaignOut, CampaignPage

router = APIRouter(prefix="/v1", tags=["campaigns"])


def campaign_out(view: CampaignView) -> CampaignOut:
    campaign = view.campaign
    return CampaignOut(
        campaign_id=campaign.campaign_id,
        kind=campaign.kind,
        wave=campaign.wave,
        title=campaign.title,
        place=campaign.place,
        planned_start=campaign.planned_start,
        planned_end=campaign.planned_end,
        target_size=campaign.target_size,
        status=campaign.status,
        questions=campaign.questions,
        mappings=campaign.mappings,
        settlements=campaign.settlements,
        questionnaire_from=campaign.questionnaire_from,
        responses=view.responses,
        created_at=view.created_at,
        opened_at=view.opened_at,
        closed_at=view.closed_at,
    )


@router.post("/campaigns", status_code=201, response_model=CampaignOut)
async def create_campaign(body: CampaignIn, principal: Admin, uow: Uow, response: Response) -> CampaignOut:
    """Create a campaign (status draft). For an opinion survey, its questionnaire comes with it."""
    campaign = body.campaign()
    view = await campaigns.create(uow, campaign, principal)
    response.headers["Location"] = f"/v1/campaigns/{campaign.campaign_id}"
    return campaign_out(view)


@router.get("/campaigns", response_model=CampaignPage)
async def list_campaigns(
    uow: Uow,
    kind: CampaignKind | None = None,
    status: CampaignStatus | None = None,
    country: Annotated[str | None, Query(pattern="^(LV|RU)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page.")] = 100,
    offset: Offset = 0,
) -> CampaignPage:
    found = await campaigns.list_page(
        uow,
        kind=kind.value if kind else None,
        status=status.value if status else None,
        country=country,
        limit=limit,
        offset=offset,
    )
    return CampaignPage(items=[campaign_out(v) for v in found], limit=limit, offset=offset)


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
async def get_campaign(campaign_id: str, uow: Uow) -> CampaignOut:
    return campaign_out(await campaigns.get(uow, campaign_id, count=True))


async def _move(
    campaign_id: str, wanted: CampaignStatus, principal: Principal, uow: Uow, definitions: Definitions
) -> JSONResponse:
    changed, view = await campaigns.move(uow, definitions, campaign_id, wanted, principal)
    return JSONResponse(
        campaign_out(view).model_dump(mode="json"), status_code=200, headers={"X-LSG-Changed": str(changed).lower()}
    )


@router.post("/campaigns/{campaign_id}/open", response_model=CampaignOut)
async def open_campaign(campaign_id: str, principal: Admin, uow: Uow, definitions: Definitions) -> JSONResponse:
    """draft -> open (emits survey.opened). Opening an open campaign is a no-op."""
    return await _move(campaign_id, CampaignStatus.OPEN, principal, uow, definitions)


@router.post("/campaigns/{campaign_id}/close", response_model=CampaignOut)
async def close_campaign(campaign_id: str, principal: Admin, uow: Uow, definitions: Definitions) -> JSONResponse:
    """open -> closed. A survey publishes survey.completed with its aggregates, once."""
    return await _move(campaign_id, CampaignStatus.CLOSED, principal, uow, definitions)


@router.get("/campaigns/{campaign_id}/results")
async def results(campaign_id: str, uow: Uow) -> dict[str, Any]:
    """The aggregates published when the survey closed (the `survey.completed` data)."""
    return await campaigns.results(uow, campaign_id)
