"""The shared residency (lsg_shared.personal.Residency) on an in-memory store: what the three services' residencies
now inherit — reads back, deletions grouped by country, the orphan sweep, and the unit of work carrying it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from lsg_shared.personal import Residency, ResidencyUnitOfWork, residency_in, where
from lsg_shared.uow import Transaction, UnitOfWork


class Store:
    """A country -> id -> personal part map standing in for the countries' databases."""

    def __init__(self, **countries: dict[uuid.UUID, Any]) -> None:
        self.rows = countries
        self.deleted: list[tuple[str, list[uuid.UUID]]] = []

    def holds(self, country: str) -> bool:
        return country in self.rows

    def where(self, country: str) -> str:
        return f"db.{country.lower()}/personal"

    async def get_many(self, country: str, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
        return {i: self.rows[country][i] for i in ids if i in self.rows[country]}

    async def delete(self, country: str, ids: Sequence[uuid.UUID]) -> int:
        self.deleted.append((country, list(ids)))
        return sum(1 for i in ids if self.rows[country].pop(i, None) is not None)

    async def settled_ids(self, country: str, older_than_s: float) -> list[uuid.UUID]:
        return list(self.rows[country])


class People(Residency[Store]):
    key_field = "person_id"
    fields = ("name",)

    def __init__(self, store: Store | None, living: Iterable[uuid.UUID] = ()) -> None:
        super().__init__(store, "main.example/db")
        self.living = set(living)

    async def resident_ids(self, conn: Any, country: str, ids: list[uuid.UUID]) -> Iterable[uuid.UUID]:
        return [i for i in ids if i in self.living]


A, B, C = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


async def test_fill_reads_residents_back_and_leaves_the_rest() -> None:
    store = Store(LV={A: {"name": "Jānis"}}, RU={B: {"name": "Юлия"}})
    people = People(store)
    rows = [
        {"person_id": A, "residence": "LV", "name": ""},
        {"person_id": B, "residence": "RU", "name": ""},
        {"person_id": C, "residence": None, "name": "Līga"},
    ]
    filled = await people.fill(rows)
    assert [r["name"] for r in filled] == ["Jānis", "Юлия", "Līga"]
    assert rows[0]["name"] == ""  # the caller's rows are not changed
    assert await people.fill_one(None) is None
    assert people.where("LV") == {"database": "db.lv/personal", "country": "LV", "kind": "personal_database"}
    assert people.where(None) == {"database": "main.example/db", "country": "-", "kind": "main_database"}
    assert People(None).where("LV")["kind"] == "main_database"  # no store: everything where it always was


async def test_forget_rows_deletes_per_country_and_only_residents() -> None:
    store = Store(LV={A: {"name": "Jānis"}}, RU={B: {"name": "Юлия"}})
    people = People(store)
    rows = [
        {"person_id": A, "residence": "LV"},
        {"person_id": B, "residence": "RU"},
        {"person_id": C, "residence": None},
        {"person_id": uuid.uuid4(), "residence": "EE"},  # no database of that country: nothing to delete
    ]
    assert await people.forget_rows(rows) == 2
    assert sorted(c for c, _ in store.deleted) == ["LV", "RU"]
    assert await people.forget_ids("LV", []) == 0
    assert await People(None).forget_rows(rows) == 0


async def test_orphans_sweeps_rows_no_living_record_points_at() -> None:
    store = Store(LV={A: {"name": "kept"}, B: {"name": "orphan"}}, RU={C: {"name": "orphan"}})
    people = People(store, living=[A])
    assert await people.orphans(conn=None) == 2
    assert list(store.rows["LV"]) == [A]
    assert store.rows["RU"] == {}
    assert await People(None).orphans(conn=None) == 0


def test_the_unit_of_work_carries_the_residency() -> None:
    people = People(Store(LV={}))
    none = People(None)
    uow = ResidencyUnitOfWork(pool=None, source="/lsg/test", residency=people)  # type: ignore[arg-type]
    assert residency_in(uow, none) is people
    assert residency_in(Transaction(uow, conn=None), none) is people  # type: ignore[arg-type]
    assert residency_in(UnitOfWork(pool=None, source="/lsg/test"), none) is none  # type: ignore[arg-type]


def test_where_names_host_and_database_never_the_password() -> None:
    assert where("postgresql://user:secret@db.lv.example:5433/lsg_training_lv") == "db.lv.example:5433/lsg_training_lv"
