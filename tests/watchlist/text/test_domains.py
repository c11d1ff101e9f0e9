"""Lookalike sites: each kind of lookalike of a person's own site is found and explained, wherever the address
is written; the person's own site and unrelated sites are not."""

from __future__ import annotations

import uuid

import pytest

from watchlist.text import PersonIdentifiers, PostText, TextHit, TextWatchlist, registrable_domain

EDITOR = uuid.UUID("00000000-0000-0000-0000-000000000001")
REPORTER = uuid.UUID("00000000-0000-0000-0000-000000000002")


@pytest.fixture(scope="module")
def watchlist() -> TextWatchlist:
    return TextWatchlist(
        [
            PersonIdentifiers(EDITOR, ["Гүлнар Бажкенова"], websites=["https://orda.kz/", "t.me/ordakz"]),
            PersonIdentifiers(REPORTER, ["Самал Ибраева"], websites=["www.tengrinews.kz"]),
        ]
    )


def domains(hits: list[TextHit]) -> list[tuple[uuid.UUID, str, str, str]]:
    return [
        (hit.person_id, hit.subject, str(hit.detail["reason"]), str(hit.detail["resembles"]))
        for hit in hits
        if hit.kind == "lookalike_domain"
    ]


@pytest.mark.parametrize(
    ("written", "subject", "reason", "explained"),
    [
        ("https://оrda.kz/news/2024/fake", "оrda.kz", "homoglyph", "Cyrillic 'о' (U+043E) for 'o'"),
        ("https://xn--rda-5cd.kz/news", "аrda.kz", "typosquat", "1 typing error"),
        ("www.0rda.kz/politics/123", "0rda.kz", "homoglyph", "'0' (U+0030) for 'o'"),
        ("https://orda-news.kz/article?id=5", "orda-news.kz", "added_word", "'news' added"),
        ("ordakz.com", "ordakz.com", "added_word", "'kz' added"),
        ("orda-kz.news/2024/05/01/obrashenie", "orda-kz.news", "added_word", "'kz' added"),
        ("http://orda.ru/", "orda.ru", "other_tld", ".ru instead of .kz"),
        ("orda.com.kz", "orda.com.kz", "other_tld", ".com.kz instead of .kz"),
        ("https://orda.kz.news-24.ru/obrashenie", "news-24.ru", "subdomain", "puts orda.kz in front of"),
        ("https://tengrinevvs.kz/", "tengrinevvs.kz", "homoglyph", "look-alike characters"),
        ("https://tengirnews.kz/kazakhstan", "tengirnews.kz", "typosquat", "1 typing error"),
        ("tengrinews-kz.com", "tengrinews-kz.com", "added_word", "'kz' added"),
        ("https://tengrinews.news-kaz.ru/x", "news-kaz.ru", "subdomain", "uses the name of tengrinews.kz"),
    ],
)
def test_every_kind_of_lookalike_is_found_and_explained(
    watchlist: TextWatchlist, written: str, subject: str, reason: str, explained: str
) -> None:
    text = f"СРОЧНО! Полная версия обращения по ссылке: {written} Распространите!"
    [hit] = watchlist.find(PostText(text=text))
    assert hit.kind == "lookalike_domain"
    assert (hit.subject, hit.detail["reason"], hit.matched_text, text[hit.start : hit.end]) == (
        subject,
        reason,
        written,
        written,
    )
    assert explained in str(hit.detail["explanation"])


def test_the_own_site_and_unrelated_sites_are_silent(watchlist: TextWatchlist) -> None:
    text = (
        "Читайте оригинал на https://orda.kz/news/1 и www.orda.kz, а также на tengrinews.kz. Подписывайтесь: "
        "t.me/ordakz, t.me/tengrinews, youtube.com/@orda, https://www.gov.kz/memleket, egov.kz, "
        "instagram.com/orda.kz, mail@orda-news.kz, vlast.kz, zakon.kz"
    )
    assert watchlist.find(PostText(text=text, urls=["https://orda.kz/a", "https://t.me/ordakz/15"])) == []


def test_addresses_from_entities_and_the_link_preview(watchlist: TextWatchlist) -> None:
    post = PostText(
        text="Вот оно, видео! Смотрите по ссылке",
        urls=["https://оrda.kz/video/777", "https://youtube.com/watch?v=1"],
        preview="ORDA.KZ\nОбращение Гүлнар Бажкеновой\nПолное видео на orda-kz.news",
    )
    hits = watchlist.find(post)
    assert [(hit.where, hit.subject, hit.detail["reason"]) for hit in hits if hit.kind == "lookalike_domain"] == [
        ("preview", "orda-kz.news", "added_word"),
        ("url", "оrda.kz", "homoglyph"),
    ]
    url_hit = next(hit for hit in hits if hit.where == "url")
    assert (url_hit.matched_text, url_hit.start, url_hit.end) == ("https://оrda.kz/video/777", 0, 25)


def test_short_names_and_words_run_together() -> None:
    """Three letters are too short to imitate; a name run together with another word is a lookalike only when
    the word is one such sites add (kursiv24, not kursivbank)."""
    person = uuid.uuid4()
    watchlist = TextWatchlist([PersonIdentifiers(person, ["Ерлан Карин"], websites=["ktk.kz", "kursiv.media"])])
    text = "ktk.com, kt.kz, ktkbank.kz, kursivv.media, kurs.kz, kursiv.kz, kursivbank.kz, kursiv24.kz"
    assert domains(watchlist.find(PostText(text=text))) == [
        (person, "kursivv.media", "typosquat", "kursiv.media"),
        (person, "kursiv.kz", "other_tld", "kursiv.media"),
        (person, "kursiv24.kz", "added_word", "kursiv.media"),
    ]


def test_registrable_domain_is_read_offline() -> None:
    assert registrable_domain("https://www.orda.kz/news?id=1") == "orda.kz"
    assert registrable_domain("news.orda.com.kz") == "orda.com.kz"
    assert registrable_domain("orda.kz.news-24.ru") == "news-24.ru"
    assert registrable_domain("xn--rda-5cd.kz") == "аrda.kz"
    assert registrable_domain("gov.kz") is None
    assert registrable_domain("not a domain") is None
