"""``/v1/places``: places of the shared geography."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from lsg_shared.deps import Editor, RuntimeDep
from lsg_training.application import places
from lsg_training.entrypoints.schemas import PlaceIn

router = APIRouter(prefix="/v1", tags=["places"])


@router.post("/places", status_code=201, summary="Register a place of the shared geography")
async def create_place(place: PlaceIn, rt: RuntimeDep, who: Editor) -> dict[str, Any]:
    """Register a place so sessions, participants and sheets can name it by its deepest unit's code."""
    code = await places.register_place(rt.uow, who, place)
    return {"country": place.country, "code": code, "place": place.model_dump(mode="json")}


@router.get("/places", summary="Registered places")
async def get_places(rt: RuntimeDep) -> list[dict[str, Any]]:
    return [{"country": r["country"], "code": r["code"], "place": r["place"]} for r in await places.list_places(rt.uow)]
