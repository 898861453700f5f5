"""Residency: a respondent's personal fields (name, phone, external reference, free-text answers) live in their
country's personal database when one is configured for that country, decided by the response's settlement country
at write time; the pseudonymous facts (key, place, age band, gender, closed answers) stay in the main database.
Without a configured country everything stays in the main database, as before.

The reads back, deletion and orphan sweep are the shared ``lsg_shared.personal.Residency``; what is surveys' own:
the fields that move and placing new and edited responses. Use cases reach the residency through their unit of
work (:class:`SurveysUnitOfWork`, set by the composition root); a plain ``UnitOfWork`` means no residency
(component tests, tools).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from lsg_shared import personal
from lsg_shared.db import Conn
from lsg_shared.uow import Transaction, UnitOfWork
from lsg_surveys.adapters import postgres as repo
from lsg_surveys.domain.responses import PreparedResponse

PERSONAL_FIELDS = ("respondent_name", "respondent_phone", "respondent_ref", "free_text")


class PersonalStore(personal.PersonalStore, Protocol):
    """What the residency needs of the countries' personal databases (``adapters.personal``)."""

    async def put_many(self, country: str, rows: Sequence[tuple[uuid.UUID, Mapping[str, Any]]]) -> None: ...


def personal_fields(r: PreparedResponse) -> dict[str, Any]:
    return {
        "respondent_name": r.name,
        "respondent_phone": r.phone,
        "respondent_ref": r.ref,
        "free_text": r.free_text or None,
    }


def _blanked(r: PreparedResponse, country: str) -> PreparedResponse:
    return dataclasses.replace(r, name=None, phone=None, ref=None, free_text={}, residence=country)


class Residency(personal.Residency[PersonalStore]):
    """Where each response's personal fields go, and the reads that bring them back."""

    key_field = "response_id"
    fields = PERSONAL_FIELDS

    async def place(
        self, rows: Sequence[tuple[uuid.UUID, PreparedResponse]]
    ) -> list[tuple[uuid.UUID, PreparedResponse]]:
        """New responses: the personal fields of residents of a configured country go to its database (before
        the main transaction commits); returns what the main database stores."""
        if self.store is None:
            return list(rows)
        out: list[tuple[uuid.UUID, PreparedResponse]] = []
        by_country: dict[str, list[tuple[uuid.UUID, Mapping[str, Any]]]] = {}
        for rid, r in rows:
            country = r.place.country
            if self.holds(country):
                by_country.setdefault(country, []).append((rid, personal_fields(r)))
                out.append((rid, _blanked(r, country)))
            else:
                out.append((rid, r))
        for where_to, items in by_country.items():
            await self.store.put_many(where_to, items)
        return out

    async def place_edit(self, conn: Conn, response_id: uuid.UUID, r: PreparedResponse) -> PreparedResponse:
        """An edit of a stored response: its personal fields go where the response's already are (a response
        stored before residency was configured stays in the main database; an erased one gets none back)."""
        residence, erased = await repo.residence_of(conn, response_id)
        if erased or not residence or not self.holds(residence):
            return r
        assert self.store is not None
        await self.store.put_many(residence, [(response_id, personal_fields(r))])
        return _blanked(r, residence)

    async def forget(self, rows: Iterable[Any]) -> int:
        """Delete the personal rows of erased responses (rows with ``response_id`` and ``residence``)."""
        return await self.forget_rows(rows)

    async def resident_ids(self, conn: Conn, country: str, ids: list[uuid.UUID]) -> Iterable[uuid.UUID]:
        return await repo.resident_ids(conn, country, ids)


class SurveysUnitOfWork(personal.ResidencyUnitOfWork):
    """The unit of work with the service's residency."""

    __slots__ = ()


_NONE = Residency(None)


def residency_of(where: UnitOfWork | Transaction) -> Residency:
    """The residency of a unit of work (or of the unit of work a transaction was opened on)."""
    return personal.residency_in(where, _NONE)
