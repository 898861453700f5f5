"""/v1/campaigns/{campaign_id}/gatherings: focus groups, public consultations, the forum."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from lsg_shared.deps import Editor, Viewer
from lsg_shared.openapi import REPEAT
from lsg_surveys.application import gatherings
from lsg_surveys.application.gatherings import NewGathering
from lsg_surveys.entrypoints.dependencies import Definitions, Uow
from lsg_surveys.entrypoints.schemas import GatheringIn, GatheringOut, GatheringStored

router = APIRouter(prefix="/v1", tags=["meetings"])


@router.post("/campaigns/{campaign_id}/gatherings", status_code=201, response_model=GatheringStored, responses=REPEAT)
async def record_gathering(
    campaign_id: str, body: GatheringIn, principal: Editor, uow: Uow, definitions: Definitions
) -> JSONResponse:
    """Record a focus group, public consultation or forum meeting: participant counts by role and gender, the
    settlements represented, the problems and initiatives raised. Events carry the counts, not the texts."""
    meeting = NewGathering(
        gathering_id=body.gathering_id,
        held_on=body.held_on,
        title=body.title,
        place=body.place,
        participants=body.participants,
        settlements=body.settlements_represented,
        problems=[s.model_dump() for s in body.problems],
        initiatives=[s.model_dump() for s in body.initiatives],
    )
    gathering_id, created = await gatherings.record(uow, definitions, campaign_id, meeting, principal)
    return JSONResponse(
        GatheringStored(gathering_id=gathering_id, status="recorded" if created else "duplicate").model_dump(),
        status_code=201 if created else 200,
    )


@router.get("/campaigns/{campaign_id}/gatherings", response_model=list[GatheringOut])
async def list_gatherings(campaign_id: str, principal: Viewer, uow: Uow) -> list[GatheringOut]:
    return [
        GatheringOut(
            gathering_id=r["gathering_id"],
            campaign_id=r["campaign_id"],
            held_on=r["held_on"],
            title=r["title"],
            place=r["place"],
            participants=r["participants"],
            breakdown=r["breakdown"],
            settlements_represented=r["settlements"],
            problems=r["problems"],
            initiatives=r["initiatives"],
            recorded_at=r["recorded_at"],
        )
        for r in await gatherings.list_for(uow, campaign_id)
    ]
