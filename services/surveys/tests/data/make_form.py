"""Writes kobo_form.xlsx, the XLSForm of the tests and of the README's worked example (run it to regenerate).

A form as people build it in KoboToolbox: groups, lv/ru/en label columns, the form's own choice names (age
bands 18_29 / 30_44 / 45_64 / 65_plus, genders sieviete / virietis / cits, villages v1..v3 and v9 whose labels
are the campaign's settlement names, a satisfaction scale with word names and the likert appearance).
"""

from __future__ import annotations

from pathlib import Path

import openpyxl

LANGS = ("label::Latvian (lv)", "label::Russian (ru)", "label::English (en)")
SURVEY = [
    ("type", "name", *LANGS, "appearance", "required", "lsg_indicator"),
    ("start", "start", "", "", "", "", "", ""),
    ("end", "end", "", "", "", "", "", ""),
    ("begin_group", "resp", "Respondents", "Респондент", "Respondent", "", "", ""),
    ("text", "name", "Vārds", "Имя", "Name", "", "", ""),
    ("text", "phone", "Tālrunis", "Телефон", "Phone", "", "", ""),
    ("select_one ages", "age_group", "Vecums", "Возраст", "Age", "", "yes", ""),
    ("select_one genders", "gender", "Dzimums", "Пол", "Gender", "", "", ""),
    ("select_one villages", "settlement", "Ciems", "Деревня", "Village", "", "", ""),
    ("end_group", "", "", "", "", "", "", ""),
    ("begin_group", "grp", "Jautājumi", "Вопросы", "Questions", "field-list", "", ""),
    (
        "select_one satisfaction",
        "q_dialogue",
        "Dialogs",
        "Диалог",
        "Dialogue",
        "likert",
        "yes",
        "satisfaction_dialogue",
    ),
    ("select_one agree5", "q_involvement", "Iesaiste", "Участие", "Involvement", "", "", ""),
    ("select_one channels", "q_channel", "Kanāls", "Канал", "Channel", "", "", ""),
    ("select_multiple topics", "q_topics", "Tēmas", "Темы", "Topics", "", "", ""),
    ("integer", "q_meetings", "Sapulces", "Собрания", "Meetings", "", "", ""),
    ("text", "q_comment", "Komentārs", "Комментарий", "Comment", "", "", ""),
    ("note", "thanks", "Paldies", "Спасибо", "Thank you", "", "", ""),
    ("end_group", "", "", "", "", "", "", ""),
]
CHOICES = [
    ("list_name", "name", *LANGS),
    ("ages", "18_29", "18–29", "18–29", "18–29"),
    ("ages", "30_44", "30–44", "30–44", "30–44"),
    ("ages", "45_64", "45–64", "45–64", "45–64"),
    ("ages", "65_plus", "65 un vairāk", "65 и старше", "65 and over"),
    ("genders", "sieviete", "Sieviete", "Женщина", "Female"),
    ("genders", "virietis", "Vīrietis", "Мужчина", "Male"),
    ("genders", "cits", "Cits", "Другое", "Other"),
    ("villages", "v1", "Ciems 1", "Деревня 1", "Village 1"),
    ("villages", "v2", "Ciems 2", "Деревня 2", "Village 2"),
    ("villages", "v3", "Ciems 3", "Деревня 3", "Village 3"),
    ("villages", "v9", "Cits ciems", "Другая деревня", "Another village"),
    ("satisfaction", "very_dissatisfied", "Ļoti neapmierināts", "Очень недоволен", "Very dissatisfied"),
    ("satisfaction", "dissatisfied", "Neapmierināts", "Недоволен", "Dissatisfied"),
    ("satisfaction", "neutral", "Neitrāli", "Нейтрально", "Neutral"),
    ("satisfaction", "satisfied", "Apmierināts", "Доволен", "Satisfied"),
    ("satisfaction", "very_satisfied", "Ļoti apmierināts", "Очень доволен", "Very satisfied"),
    *[("agree5", str(i), str(i), str(i), str(i)) for i in range(1, 6)],
    ("channels", "meeting", "Sapulce", "Собрание", "Meeting"),
    ("channels", "phone", "Tālrunis", "Телефон", "Phone"),
    ("channels", "online", "Internets", "Интернет", "Online"),
    ("topics", "roads", "Ceļi", "Дороги", "Roads"),
    ("topics", "water", "Ūdens", "Вода", "Water"),
    ("topics", "safety", "Drošība", "Безопасность", "Safety"),
]
SETTINGS = [("form_title", "form_id", "version", "default_language"), ("Dialogs 2026", "lsg_dialogue_2026", "1", "lv")]


def build(path: Path) -> None:
    book = openpyxl.Workbook()
    for title, rows in (("survey", SURVEY), ("choices", CHOICES), ("settings", SETTINGS)):
        sheet = book.active if title == "survey" else book.create_sheet(title)
        assert sheet is not None
        sheet.title = title
        for row in rows:
            sheet.append(list(row))
    book.save(path)


if __name__ == "__main__":
    build(Path(__file__).with_name("kobo_form.xlsx"))
