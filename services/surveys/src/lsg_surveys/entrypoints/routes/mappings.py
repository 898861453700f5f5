"""/v1/campaigns/{campaign_id}/mappings: the import mappings as versioned data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from lsg_shared.deps import Editor
from lsg_surveys.application import mappings
from lsg_surveys.application.mappings import MappingView
from lsg_surveys.domain.mappings import MappingSet
from lsg_surveys.entrypoints.dependencies import Definitions, Uow
from lsg_surveys.entrypoints.schemas import MappingsIn, MappingsOut

router = APIRouter(prefix="/v1", tags=["imports"])


def mappings_out(view: MappingView) -> MappingsOut:
    return MappingsOut(
        campaign_id=view.campaign_id,
        version=view.version,
        origin=view.origin,
        created_by=view.created_by,
        created_at=view.created_at,
        mappings=view.mappings,
        versions=view.versions,
    )


@router.get("/campaigns/{campaign_id}/mappings", response_model=MappingsOut)
async def current_mappings(campaign_id: str, principal: Editor, uow: Uow, definitions: Definitions) -> MappingsOut:
    """The mapping version imports use now, and the list of versions."""
    return mappings_out(await mappings.get(uow, definitions, campaign_id, None))


@router.get("/campaigns/{campaign_id}/mappings/{version}", response_model=MappingsOut)
async def mapping_version(
    campaign_id: str,
    version: Annotated[int, Path(ge=0, le=1_000_000)],
    principal: Editor,
    uow: Uow,
    definitions: Definitions,
) -> MappingsOut:
    return mappings_out(await mappings.get(uow, definitions, campaign_id, version))


@router.put("/campaigns/{campaign_id}/mappings", status_code=201, response_model=MappingsOut)
async def put_mappings(
    campaign_id: str, body: MappingsIn, principal: Editor, uow: Uow, definitions: Definitions, response: Response
) -> MappingsOut:
    """Store a new mapping version (draft or open campaigns). Imports after it use it; earlier imports keep the
    version they recorded. Each value must be a valid target (an option code of the question, Likert 1-5, a suite
    age band or a range like 18-29 / 65+, a gender, a settlement code of the campaign)."""
    version = await mappings.put(uow, definitions, campaign_id, MappingSet.model_validate(body.model_dump()), principal)
    response.headers["Location"] = f"/v1/campaigns/{campaign_id}/mappings/{version}"
    return mappings_out(await mappings.get(uow, definitions, campaign_id, version))
