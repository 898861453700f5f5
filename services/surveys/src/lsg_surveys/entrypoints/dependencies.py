"""What the surveys routes take besides the shared aliases (``lsg_shared.deps``): the unit of work, the cache
of campaign definitions, the pseudonymiser and the batch limit, all set up by ``create_app``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from lsg_shared.deps import RuntimeDep
from lsg_shared.uow import UnitOfWork
from lsg_surveys.application.campaigns import CampaignDefinitions
from lsg_surveys.domain.privacy import Pseudonymizer


def unit_of_work(rt: RuntimeDep) -> UnitOfWork:
    return rt.uow


def campaign_definitions(request: Request) -> CampaignDefinitions:
    definitions: CampaignDefinitions = request.app.state.campaign_definitions
    return definitions


def pseudonymizer(request: Request) -> Pseudonymizer:
    p: Pseudonymizer = request.app.state.pseudonymizer
    return p


def max_batch_rows(request: Request) -> int:
    n: int = request.app.state.max_batch_rows
    return n


Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
Definitions = Annotated[CampaignDefinitions, Depends(campaign_definitions)]
Pseudo = Annotated[Pseudonymizer, Depends(pseudonymizer)]
MaxRows = Annotated[int, Depends(max_batch_rows)]
Partial = Annotated[bool, Query(description="Store the good rows and report the bad ones (else: all or nothing)")]
