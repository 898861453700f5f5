"""The Kobo REST-service webhook: one submission posted by KoboToolbox as it arrives, authenticated by the
campaign's own secret (Kobo REST services send JSON with HTTP basic authentication or custom headers; they do
not sign the body, so the secret is compared, in constant time, as a SHA-256 digest)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from lsg_shared.auth import Principal
from lsg_shared.uow import UnitOfWork
from lsg_surveys.adapters import postgres as repo
from lsg_surveys.application.campaigns import CampaignDefinitions, authorise, definition, writable
from lsg_surveys.application.errors import Invalid, NotFound, WebhookRefused
from lsg_surveys.application.imports import check_rows, log_import
from lsg_surveys.application.mappings import current
from lsg_surveys.application.responses import RowReport, store_rows
from lsg_surveys.domain.imports import kobo_row
from lsg_surveys.domain.model import FieldError
from lsg_surveys.domain.privacy import Pseudonymizer

WEBHOOK = Principal(subject="kobo-webhook", roles=frozenset({"editor"}))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def new_secret(uow: UnitOfWork, definitions: CampaignDefinitions, campaign_id: str, actor: Principal) -> str:
    """A new webhook secret for the campaign (the previous one stops working); shown once, stored as a digest."""
    campaign = await definition(uow, definitions, campaign_id, refresh=True)
    authorise(actor, campaign)
    secret = "whk_" + secrets.token_urlsafe(32)
    async with uow.begin() as tx:
        await repo.set_webhook_secret(tx.conn, campaign_id, _digest(secret), actor.subject)
    return secret


async def receive(
    uow: UnitOfWork,
    definitions: CampaignDefinitions,
    pseudonymizer: Pseudonymizer,
    campaign_id: str,
    presented: str | None,
    payload: Any,
) -> RowReport:
    """One Kobo submission: checked with the campaign's current mapping and stored like an import row (a repeat
    is a no-op, ``meta/deprecatedID`` an edit). WebhookRefused without the right secret; Invalid for a bad row."""
    async with uow.read() as conn:
        digest = await repo.webhook_secret(conn, campaign_id)
    if digest is None or not presented or not hmac.compare_digest(digest, _digest(presented)):
        raise WebhookRefused("missing or wrong webhook secret")
    try:
        campaign = await writable(uow, definitions, campaign_id, WEBHOOK)
    except NotFound:
        raise WebhookRefused("missing or wrong webhook secret") from None
    if not isinstance(payload, dict):
        raise Invalid([FieldError("body", "expected one Kobo submission (a JSON object)")])
    version, mappings = await current(uow, campaign)
    row = kobo_row(campaign, payload, 0, mappings.kobo)
    checked = check_rows(campaign, [row], pseudonymizer, "kobo", mapping_version=version)
    outcome = await store_rows(uow, definitions, campaign, checked, WEBHOOK, partial=False)
    await log_import(uow, outcome, "kobo-webhook", version, WEBHOOK)
    return outcome.rows[0]
