"""HTTP API v1 of the surveys service, one router per resource.

Writes need a bearer token: `editor` for responses, imports and meetings; `admin` for campaign set-up and
erasure. The only reads open to anyone are in `PUBLIC_READS` (campaign descriptions and published results,
which hold no personal data). Routes parse, authorise (the role), call a use case and shape the answer.
"""

from __future__ import annotations

from fastapi import APIRouter

from lsg_surveys.entrypoints.routes import (
    campaigns,
    erasure,
    forms,
    gatherings,
    imports,
    mappings,
    privacy,
    responses,
    webhooks,
)

PUBLIC_READS = frozenset(
    {
        "GET /v1/campaigns",
        "GET /v1/campaigns/{campaign_id}",
        "GET /v1/campaigns/{campaign_id}/results",
    }
)

# One router holding every resource's routes (each already carries its /v1 prefix and tag).
router = APIRouter()
for module in (campaigns, forms, responses, imports, mappings, webhooks, gatherings, erasure, privacy):
    router.routes.extend(module.router.routes)

__all__ = ["PUBLIC_READS", "router"]
