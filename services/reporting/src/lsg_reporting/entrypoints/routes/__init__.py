"""The HTTP API under /v1, one router per resource, and what they share: the catalogue the app loaded."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from lsg_reporting.domain.catalogue import Catalogue
from lsg_reporting.domain.workplan import WorkPlan


def catalogue(request: Request) -> Catalogue:
    loaded: Catalogue = request.app.state.catalogue
    return loaded


CatalogueDep = Annotated[Catalogue, Depends(catalogue)]


def loaded_workplan(request: Request) -> WorkPlan:
    loaded: WorkPlan = request.app.state.workplan
    return loaded


WorkPlanDep = Annotated[WorkPlan, Depends(loaded_workplan)]
