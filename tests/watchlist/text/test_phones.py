"""Phone numbers in posts: every real format of an enrolled number is found with its exact span; other digit
runs (IIN, dates, amounts, card numbers, an IBAN, somebody else's number) are not."""

from __future__ import annotations

import uuid

import pytest

from watchlist.text import PersonIdentifiers, PostText, TextWatchlist, to_e164

JOURNALIST = uuid.UUID("00000000-0000-0000-0000-000000000001")
EDITOR = uuid.UUID("00000000-0000-0000-0000-000000000002")


@pytest.fixture(scope="module")
def watchlist() -> TextWatchlist:
    return TextWatchlist(
        [
            PersonIdentifiers(JOURNALIST, ["Динара Сәрсенова"], phone_numbers=["+7 701 555 12 34"]),
            PersonIdentifiers(EDITOR, ["Марат Жұмабаев"], phone_numbers=["8 (777) 123-45-67", "+7 7172 55 44 33"]),
        ]
    )


@pytest.mark.parametrize(
    "written",
    [
        "+7 701 555 12 34",
        "8 (701) 555-12-34",
        "87015551234",
        "+7-701-555-1234",
        "8.701.555.12.34",
        "+77015551234",
        "8 701 555 1234",
    ],
)
def test_every_format_of_an_enrolled_number_is_found_with_its_span(watchlist: TextWatchlist, written: str) -> None:
    text = f"ВНИМАНИЕ! Завтра в 11:00 собираемся у акимата. Все вопросы по номеру {written}, звонить до вечера."
    [hit] = watchlist.find(PostText(text=text))
    assert (hit.person_id, hit.kind, hit.subject, hit.where) == (JOURNALIST, "phone_number", "+77015551234", "text")
    assert (hit.matched_text, text[hit.start : hit.end]) == (written, written)


def test_a_number_split_by_spaces_inside_kazakh_words(watchlist: TextWatchlist) -> None:
    text = "Құрметті қала тұрғындары! Шеруге қатысқыңыз келсе, 8 701 555 12 34-ке қоңырау шалыңыз немесе жазыңыз."
    [hit] = watchlist.find(PostText(text=text))
    assert (hit.subject, hit.matched_text) == ("+77015551234", "8 701 555 12 34")
    assert text[hit.start : hit.end] == "8 701 555 12 34"


def test_a_number_glued_to_cyrillic_words(watchlist: TextWatchlist) -> None:
    text = "Подробности у организатора, тел.87771234567звоните"
    [hit] = watchlist.find(PostText(text=text))
    assert (hit.person_id, hit.subject, hit.matched_text) == (EDITOR, "+77771234567", "87771234567")


def test_a_number_followed_by_other_digits_after_a_space(watchlist: TextWatchlist) -> None:
    """The matcher reads "+7 701 555 12 34 12.03.2024" as one longer number; the enrolled digits are still
    a group of their own."""
    for text, written in [
        ("Сбор у акимата, координатор +7 701 555 12 34 12.03.2024 в 10:00", "+7 701 555 12 34"),
        ("Звоните: 8 (701) 555-12-34 1 500 000 тенге соберём вместе", "8 (701) 555-12-34"),
    ]:
        [hit] = watchlist.find(PostText(text=text))
        assert (hit.subject, hit.matched_text, text[hit.start : hit.end]) == ("+77015551234", written, written)


def test_a_landline_and_the_link_preview(watchlist: TextWatchlist) -> None:
    post = PostText(
        text="Редакция сообщает: все справки по телефону 8 (7172) 55-44-33.",
        preview="Astana Times\nКонтакты редакции\nЗвоните +7 701 555 12 34 в рабочее время",
    )
    hits = watchlist.find(post)
    assert [(hit.person_id, hit.subject, hit.where) for hit in hits] == [
        (EDITOR, "+77172554433", "text"),
        (JOURNALIST, "+77015551234", "preview"),
    ]
    assert post.preview[hits[1].start : hits[1].end] == "+7 701 555 12 34"


def test_telegram_phone_entities(watchlist: TextWatchlist) -> None:
    hits = watchlist.find(PostText(text="Звоните!", phone_entities=["+7 701 555 12 34", "+7 705 000 00 00"]))
    assert [(hit.subject, hit.where, hit.matched_text, hit.start, hit.end) for hit in hits] == [
        ("+77015551234", "entity", "+7 701 555 12 34", 0, 16)
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Заявитель: Сәрсенова Д., ИИН 870155512341, адрес: г. Алматы, ул. Абая 10",
        "ИИН 900101300123, дата рождения 01.01.1990",
        "Митинг перенесён на 12.03.2024, сбор в 10:00; протокол от 2024-03-12 № 15-12/3456",
        "Собрали 1 500 000 тенге, а всего нужно 70 155 512 340 тенге",
        "Переводите на карту 4400 4302 1234 5678 или 4400 4370 1555 1234, или 4400437015551234",
        "Номер договора 87015551234567 от 01.02.2024",
        "Реквизиты: IBAN KZ86125KZT5004100100, БИН 070155512345",
        "Звоните нашему координатору: +7 702 999 88 77 или 8 (705) 123-45-67",
    ],
)
def test_other_digit_runs_are_silent(watchlist: TextWatchlist, text: str) -> None:
    assert watchlist.find(PostText(text=text)) == []


def test_to_e164_maps_the_trunk_prefix_and_refuses_what_is_not_a_number() -> None:
    assert to_e164("8 (701) 555-12-34") == "+77015551234"
    assert to_e164("+7 701 555 12 34") == "+77015551234"
    assert to_e164("+44 20 7946 0958") == "+442079460958"
    assert to_e164("12345") is None
    assert to_e164("не номер") is None
