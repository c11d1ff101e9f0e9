"""`TextWatchlist.find` over a whole post: every signal of every person, one hit per person, kind, subject and
place, in the order of the fields."""

from __future__ import annotations

import uuid

from watchlist.text import PersonIdentifiers, PostText, TextWatchlist

JOURNALIST = uuid.UUID("00000000-0000-0000-0000-000000000001")
COLLEAGUE = uuid.UUID("00000000-0000-0000-0000-000000000002")


def test_a_fake_call_to_march_carries_every_signal() -> None:
    watchlist = TextWatchlist(
        [
            PersonIdentifiers(
                JOURNALIST,
                ["Динара Сәрсенова", "Dinara Sarsenova"],
                phone_numbers=["+7 701 555 12 34"],
                websites=["https://vlast.kz"],
            ),
            PersonIdentifiers(COLLEAGUE, ["Марат Әбенов"], phone_numbers=["+77015551234"]),  # a shared office line
        ],
        default_region="KZ",
    )
    text = (
        "❗️Журналист Динара Сарсенова зовёт всех на митинг 1 мая в 12:00 у памятника Абаю!\n"
        "Регистрация: 8 (701) 555-12-34. Подробности: https://vlast-kz.info/miting"
    )
    post = PostText(
        text=text,
        urls=["https://vlast-kz.info/miting"],
        phone_entities=["8 (701) 555-12-34"],
        preview="Vlast.kz\nДинара Сәрсенова: все на митинг\n",
    )
    hits = watchlist.find(post)
    assert [(hit.where, hit.kind, hit.person_id, hit.subject) for hit in hits] == [
        ("text", "name_mention", JOURNALIST, "Динара Сәрсенова"),
        ("text", "phone_number", JOURNALIST, "+77015551234"),
        ("text", "phone_number", COLLEAGUE, "+77015551234"),
        ("text", "lookalike_domain", JOURNALIST, "vlast-kz.info"),
        ("preview", "name_mention", JOURNALIST, "Динара Сәрсенова"),
        ("entity", "phone_number", JOURNALIST, "+77015551234"),
        ("entity", "phone_number", COLLEAGUE, "+77015551234"),
        ("url", "lookalike_domain", JOURNALIST, "vlast-kz.info"),
    ]
    name = hits[0]
    assert (name.matched_text, text[name.start : name.end]) == ("Динара Сарсенова", "Динара Сарсенова")


def test_an_empty_watchlist_and_an_empty_post() -> None:
    assert TextWatchlist([]).find(PostText(text="Звоните 8 701 555 12 34, orda.kz, Нұртілеу Иманғали")) == []
    assert TextWatchlist([PersonIdentifiers(JOURNALIST, ["Динара Сәрсенова"])]).find(PostText()) == []


def test_invalid_enrolled_identifiers_are_ignored() -> None:
    watchlist = TextWatchlist(
        [PersonIdentifiers(JOURNALIST, ["", "   ", "Динара"], phone_numbers=["12345", "нет"], websites=["gov.kz", ""])]
    )
    assert watchlist.find(PostText(text="Динара звонила с 12345, сайт gov.kz")) == []
