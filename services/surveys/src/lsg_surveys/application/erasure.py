"""Erasure of a person's personal data on request: names, phones and free-text answers are blanked and the
pseudonymous key is cut from the identity. Closed answers stay, so results already published remain true;
nothing new is published."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from lsg_shared.uow import UnitOfWork
from lsg_surveys.adapters import postgres as repo
from lsg_surveys.application.errors import Invalid
from lsg_surveys.application.residency import residency_of
from lsg_surveys.domain.model import FieldError, bad_text
from lsg_surveys.domain.privacy import Pseudonymizer


@dataclass
class ErasureRequest:
    """Whose data: the identity the respondent gave (ref, phone, name with settlement code) or response ids."""

    respondent_ref: str | None = None
    phone: str | None = None
    name: str | None = None
    settlement_code: str | None = None
    response_ids: list[str] = field(default_factory=list)


async def erase(uow: UnitOfWork, pseudonymizer: Pseudonymizer, request: ErasureRequest, requested_by: str) -> int:
    """Erase the matching responses' personal data; how many responses were erased."""
    errors = bad_text(request.__dict__)
    response_ids: list[uuid.UUID] = []
    for i, rid in enumerate(request.response_ids):
        try:
            response_ids.append(uuid.UUID(rid))
        except ValueError:
            errors.append(FieldError(f"response_ids[{i}]", "not a response id (UUID)", rid))
    if request.name and not request.settlement_code:
        errors.append(FieldError("settlement_code", "a name identifies a person only with the settlement code"))
    if not (request.respondent_ref or request.phone or request.name or response_ids) and not errors:
        errors.append(FieldError("body", "give respondent_ref, phone, name with settlement_code, or response_ids"))
    if errors:
        raise Invalid(errors)
    keys = []
    if request.respondent_ref:
        keys.append(pseudonymizer.respondent_key(ref=request.respondent_ref, fallback=""))
    if request.phone:
        keys.append(pseudonymizer.respondent_key(phone=request.phone, fallback=""))
    if request.name and request.settlement_code:
        keys.append(
            pseudonymizer.respondent_key(name=request.name, settlement_code=request.settlement_code, fallback="")
        )
    async with uow.begin() as tx:
        rows = await repo.erase(tx.conn, keys=keys, response_ids=response_ids, requested_by=requested_by)
        # The country databases' rows go too (in the transaction's time: a failure after it leaves nothing
        # there to restore, and a repeated request erases the rest).
        await residency_of(uow).forget(rows)
        return len(rows)
