"""The demo's geography: Latgale and Vidzeme municipalities (LV) and Leningrad-region districts (RU).

Names in lv/ru/en. Codes follow the shape of the official ones (ATVK in Latvia, OKTMO in Russia) but are the
demo's own. Two villages share a name (Nikolskoye) in different districts, as the programme card warns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Unit:
    code: str
    lv: str
    ru: str
    en: str

    def json(self) -> dict[str, Any]:
        return {"code": self.code, "name": {"lv": self.lv, "ru": self.ru, "en": self.en}}


@dataclass(frozen=True)
class Settlement:
    country: str
    municipality: Unit
    territory: Unit
    village: Unit

    @property
    def code(self) -> str:
        return self.village.code

    def place(self) -> dict[str, Any]:
        return {
            "country": self.country,
            "municipality": self.municipality.json(),
            "territory": self.territory.json(),
            "settlement": self.village.json(),
        }

    def municipality_place(self) -> dict[str, Any]:
        return {"country": self.country, "municipality": self.municipality.json()}


# (municipality, [(territory, [villages...])...])
_LV: list[tuple[Unit, list[tuple[Unit, list[Unit]]]]] = [
    (
        Unit("0681000", "Ludzas novads", "Лудзенский край", "Ludza municipality"),
        [
            (
                Unit("0681060", "Pildas pagasts", "Пилдская волость", "Pilda parish"),
                [Unit("068106001", "Nirza", "Нирза", "Nirza"), Unit("068106002", "Pilda", "Пилда", "Pilda")],
            ),
            (
                Unit("0681040", "Istras pagasts", "Истринская волость", "Istra parish"),
                [Unit("068104001", "Istra", "Истра", "Istra"), Unit("068104002", "Lauderi", "Лаудери", "Lauderi")],
            ),
            (
                Unit("0681090", "Zvirgzdenes pagasts", "Звиргзденская волость", "Zvirgzdene parish"),
                [Unit("068109001", "Zvirgzdene", "Звиргздене", "Zvirgzdene")],
            ),
        ],
    ),
    (
        Unit("0601000", "Krāslavas novads", "Краславский край", "Krāslava municipality"),
        [
            (
                Unit("0601070", "Piedrujas pagasts", "Пиедруйская волость", "Piedruja parish"),
                [Unit("060107001", "Piedruja", "Пиедруя", "Piedruja")],
            ),
            (
                Unit("0601040", "Indras pagasts", "Индрская волость", "Indra parish"),
                [Unit("060104001", "Indra", "Индра", "Indra"), Unit("060104002", "Kaļvi", "Кальви", "Kalvi")],
            ),
            (
                Unit("0601080", "Skaistas pagasts", "Скайстская волость", "Skaista parish"),
                [Unit("060108001", "Skaista", "Скайста", "Skaista")],
            ),
        ],
    ),
    (
        Unit("0381000", "Balvu novads", "Балвский край", "Balvi municipality"),
        [
            (
                Unit("0381020", "Baltinavas pagasts", "Балтинавская волость", "Baltinava parish"),
                [Unit("038102001", "Baltinava", "Балтинава", "Baltinava")],
            ),
            (
                Unit("0381090", "Vecumu pagasts", "Вецумская волость", "Vecumi parish"),
                [
                    Unit("038109001", "Borisova", "Борисова", "Borisova"),
                    Unit("038109002", "Vecumi", "Вецуми", "Vecumi"),
                ],
            ),
        ],
    ),
    (
        Unit("0360000", "Alūksnes novads", "Алуксненский край", "Alūksne municipality"),
        [
            (
                Unit("0360060", "Jaunlaicenes pagasts", "Яунлайценская волость", "Jaunlaicene parish"),
                [Unit("036006001", "Jaunlaicene", "Яунлайцене", "Jaunlaicene")],
            ),
            (
                Unit("0360100", "Veclaicenes pagasts", "Вецлайценская волость", "Veclaicene parish"),
                [Unit("036010001", "Korneti", "Корнети", "Korneti")],
            ),
        ],
    ),
]

_RU: list[tuple[Unit, list[tuple[Unit, list[Unit]]]]] = [
    (
        Unit("41639000", "Podporožjes rajons", "Подпорожский муниципальный район", "Podporozhye district"),
        [
            (
                Unit(
                    "41639410",
                    "Vinnicu lauku apdzīvotā vieta",
                    "Винницкое сельское поселение",
                    "Vinnitsy rural settlement",
                ),
                [
                    Unit("4163941001", "Vinnici", "Винницы", "Vinnitsy"),
                    Unit("4163941002", "Kaziči", "Казыченская", "Kazychenskaya"),
                ],
            ),
            (
                Unit(
                    "41639420",
                    "Važinu lauku apdzīvotā vieta",
                    "Важинское сельское поселение",
                    "Vazhiny rural settlement",
                ),
                [Unit("4163942001", "Nikoļskoje", "Никольское", "Nikolskoye")],
            ),
        ],
    ),
    (
        Unit("41633000", "Lodeinoje Poles rajons", "Лодейнопольский муниципальный район", "Lodeynoye Pole district"),
        [
            (
                Unit(
                    "41633410",
                    "Aļohovščinas lauku apdzīvotā vieta",
                    "Алёховщинское сельское поселение",
                    "Alekhovshchina rural settlement",
                ),
                [
                    Unit("4163341001", "Aļohovščina", "Алёховщина", "Alekhovshchina"),
                    Unit("4163341002", "Jarovščina", "Яровщина", "Yarovshchina"),
                ],
            ),
        ],
    ),
    (
        Unit("41645000", "Tihvinas rajons", "Тихвинский муниципальный район", "Tikhvin district"),
        [
            (
                Unit(
                    "41645440",
                    "Šugozero lauku apdzīvotā vieta",
                    "Шугозёрское сельское поселение",
                    "Shugozero rural settlement",
                ),
                [Unit("4164544001", "Šugozero", "Шугозеро", "Shugozero")],
            ),
            (
                Unit(
                    "41645430",
                    "Pašozero lauku apdzīvotā vieta",
                    "Пашозёрское сельское поселение",
                    "Pashozero rural settlement",
                ),
                [
                    Unit("4164543001", "Pašozero", "Пашозеро", "Pashozero"),
                    Unit("4164543002", "Nikoļskoje", "Никольское", "Nikolskoye"),
                ],
            ),
        ],
    ),
    (
        Unit("41606000", "Boksitogorskas rajons", "Бокситогорский муниципальный район", "Boksitogorsk district"),
        [
            (
                Unit(
                    "41606440",
                    "Samoilovas lauku apdzīvotā vieta",
                    "Самойловское сельское поселение",
                    "Samoylovo rural settlement",
                ),
                [Unit("4160644001", "Samoilova", "Самойлово", "Samoylovo")],
            ),
            (
                Unit(
                    "41606410",
                    "Bolšojdvoras lauku apdzīvotā vieta",
                    "Большедворское сельское поселение",
                    "Bolshoy Dvor rural settlement",
                ),
                [Unit("4160641001", "Bolšoj Dvor", "Большой Двор", "Bolshoy Dvor")],
            ),
        ],
    ),
    (
        Unit("41642000", "Slancu rajons", "Сланцевский муниципальный район", "Slantsy district"),
        [
            (
                Unit(
                    "41642420",
                    "Gosticu lauku apdzīvotā vieta",
                    "Гостицкое сельское поселение",
                    "Gostitsy rural settlement",
                ),
                [Unit("4164242001", "Gostici", "Гостицы", "Gostitsy")],
            ),
        ],
    ),
]


def _flatten(country: str, data: list[tuple[Unit, list[tuple[Unit, list[Unit]]]]]) -> list[Settlement]:
    return [Settlement(country, m, t, v) for m, territories in data for t, villages in territories for v in villages]


LV_SETTLEMENTS: list[Settlement] = _flatten("LV", _LV)
RU_SETTLEMENTS: list[Settlement] = _flatten("RU", _RU)
ALL_SETTLEMENTS: list[Settlement] = LV_SETTLEMENTS + RU_SETTLEMENTS


def settlements(country: str) -> list[Settlement]:
    return LV_SETTLEMENTS if country == "LV" else RU_SETTLEMENTS


def by_village(en: str, country: str | None = None) -> Settlement:
    for s in ALL_SETTLEMENTS:
        if s.village.en == en and (country is None or s.country == country):
            return s
    raise KeyError(en)


COUNTRY_NAMES = {
    "LV": {"lv": "Latvija", "ru": "Латвия", "en": "Latvia"},
    "RU": {"lv": "Ļeņingradas apgabals", "ru": "Ленинградская область", "en": "Leningrad region"},
}
