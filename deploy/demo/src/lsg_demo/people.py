"""Names of residents, elders and municipal staff, in their own script (Latvian with diacritics, Russian in
Cyrillic with patronymics). Drawn from a seeded random generator, so a seed gives the same people."""

from __future__ import annotations

import random

_LV_FIRST = {
    "male": [
        "Jānis",
        "Pēteris",
        "Aivars",
        "Māris",
        "Valdis",
        "Edgars",
        "Juris",
        "Kaspars",
        "Ivars",
        "Andris",
        "Guntis",
        "Raimonds",
        "Artūrs",
        "Oskars",
        "Dainis",
    ],
    "female": [
        "Inese",
        "Anda",
        "Ilze",
        "Līga",
        "Gunta",
        "Daiga",
        "Sandra",
        "Zane",
        "Ruta",
        "Dace",
        "Ināra",
        "Vija",
        "Aija",
        "Kristīne",
        "Solvita",
    ],
}
_LV_LAST = [
    ("Bērziņš", "Bērziņa"),
    ("Kalniņš", "Kalniņa"),
    ("Ozoliņš", "Ozoliņa"),
    ("Jansons", "Jansone"),
    ("Liepiņš", "Liepiņa"),
    ("Krūmiņš", "Krūmiņa"),
    ("Vītols", "Vītola"),
    ("Zariņš", "Zariņa"),
    ("Pētersons", "Pētersone"),
    ("Kļaviņš", "Kļaviņa"),
    ("Šmits", "Šmite"),
    ("Circenis", "Circene"),
    ("Ločmelis", "Ločmele"),
    ("Bogdanovs", "Bogdanova"),
    ("Ivanovs", "Ivanova"),
]
_RU_FIRST = {
    "male": [
        "Алексей",
        "Сергей",
        "Николай",
        "Владимир",
        "Андрей",
        "Михаил",
        "Иван",
        "Дмитрий",
        "Юрий",
        "Виктор",
        "Павел",
        "Геннадий",
    ],
    "female": [
        "Ольга",
        "Татьяна",
        "Елена",
        "Наталья",
        "Ирина",
        "Светлана",
        "Галина",
        "Людмила",
        "Юлия",
        "Валентина",
        "Надежда",
        "Марина",
    ],
}
_RU_LAST = [
    ("Иванов", "Иванова"),
    ("Смирнов", "Смирнова"),
    ("Кузнецов", "Кузнецова"),
    ("Попов", "Попова"),
    ("Васильев", "Васильева"),
    ("Петров", "Петрова"),
    ("Соколов", "Соколова"),
    ("Михайлов", "Михайлова"),
    ("Фёдоров", "Фёдорова"),
    ("Морозов", "Морозова"),
    ("Щёголев", "Щёголева"),
    ("Волков", "Волкова"),
    ("Лебедев", "Лебедева"),
    ("Егоров", "Егорова"),
]
_RU_PATRONYMIC = {
    "male": ["Иванович", "Петрович", "Сергеевич", "Николаевич", "Александрович", "Викторович", "Юрьевич"],
    "female": ["Ивановна", "Петровна", "Сергеевна", "Николаевна", "Александровна", "Викторовна", "Эдуардовна"],
}


def full_name(rng: random.Random, country: str, gender: str) -> str:
    g = gender if gender in ("male", "female") else rng.choice(["male", "female"])
    if country == "LV":
        last = rng.choice(_LV_LAST)[0 if g == "male" else 1]
        return f"{rng.choice(_LV_FIRST[g])} {last}"
    last = rng.choice(_RU_LAST)[0 if g == "male" else 1]
    return f"{last} {rng.choice(_RU_FIRST[g])} {rng.choice(_RU_PATRONYMIC[g])}"


def phone(rng: random.Random, country: str) -> str:
    if country == "LV":
        return f"+371 2{rng.randrange(1000000, 9999999)}"
    return f"+7 921 {rng.randrange(100, 999)}-{rng.randrange(10, 99)}-{rng.randrange(10, 99)}"


def gender(rng: random.Random) -> str:
    return rng.choices(["female", "male", "undisclosed"], weights=[52, 45, 3])[0]
