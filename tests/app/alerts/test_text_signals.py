"""Text signals through a real watch: posts in Russian and Kazakh on the local t.me/s stand-in, read by the
`tme_preview` source, recorded as alerts, seen through the alerts API and the webhook outbox."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlmodel import Session, col, select

from app.runtime import Runtime
from app.scheduling import build_watch_runner
from app.webhooks.models import WebhookEvent
from tests.app.webhooks.builders import add_endpoint
from tests.factories import WATCH_INTERVALS, enrol_person
from tests.support import fixture_bytes
from tests.watchers.sources.tme_pages import ChannelServer, LinkPreview
from watchers import service as watches
from watchers.models import Post
from watchers.schemas import WatchCreate
from watchlist.models import Person

CAMPAIGN_TERMS = ["контракт", "Бессмертный полк", "Өлмес полк"]
NUMBER = "+77015551234"


@pytest.fixture
def runtime(make_runtime, channels: ChannelServer) -> Runtime:
    return make_runtime(tme_base_url=channels.base_url, campaign_terms=CAMPAIGN_TERMS)


@pytest.fixture
def journalist(runtime: Runtime) -> Person:
    """A journalist with her public number and her outlet's site; her name in Latin and Kazakh Cyrillic."""
    return enrol_person(
        runtime,
        "Aigerim Nurtileu",
        aliases=["Айгерим Нұртілеу"],
        phone_numbers=["8 701 555 12 34"],
        websites=["https://www.orda.kz/"],
        official_channels=["nurtileu_official"],
    )


def watch_channels(runtime: Runtime, *names: str) -> list[uuid.UUID]:
    ids = []
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        for name in names:
            data = WatchCreate.model_validate({"source": {"kind": "tme_preview", "channel": name}})
            ids.append(watches.create_watch(session, data, WATCH_INTERVALS).id)
        session.commit()
    return ids


def run_watches(runtime: Runtime, watch_ids: list[uuid.UUID]) -> None:
    runner = build_watch_runner(runtime)
    for watch_id in watch_ids:
        report = runner.run(watch_id)
        assert report.error is None, report.error


def alerts(api: httpx.Client, **params: object) -> list[dict]:
    return api.get("/v1/alerts", params=params).json()["items"]


def pushed_events(runtime: Runtime) -> list[dict]:
    with Session(runtime.db_engine) as session:
        rows = session.exec(select(WebhookEvent).order_by(col(WebhookEvent.created_at))).all()
    return [json.loads(row.payload) for row in rows if row.type.startswith("alert.")]


def created_count(kind: str, tier: str = "match") -> float:
    return REGISTRY.get_sample_value("impwatch_alerts_created_total", {"kind": kind, "tier": tier}) or 0.0


def test_her_number_reposted_in_two_channels_is_one_alert_with_two_occurrences(
    runtime: Runtime, channels: ChannelServer, journalist: Person, api: httpx.Client
) -> None:
    add_endpoint(runtime, "http://127.0.0.1:9/hook")
    channels.add_post(
        "marsh_almaty",
        "Все на марш 1 мая! Организатор — звоните 8 (701) 555-12-34.\n"
        "Для записи ИИН 870412300415, взнос 5000 тг на карту 4400 4301 2345 6789, сбор 01.05.2024 в 10:00.",
    )
    channels.add_post("qazaq_chat", "Шеруге шығыңыз! Байланыс: +7-701-555-1234")
    channels.add_post("qazaq_chat", "Ауа райы: ертең +25, жел 5 м/с. Анықтама: +7 727 244 00 00")
    before = created_count("phone_number")

    run_watches(runtime, watch_channels(runtime, "marsh_almaty", "qazaq_chat"))

    [alert] = alerts(api)
    assert (alert["kind"], alert["subject_key"], alert["tier"], alert["priority"]) == (
        "phone_number",
        NUMBER,
        "match",
        "high",
    )
    assert alert["occurrences_count"] == 2 and alert["official_only"] is False
    evidence = alert["evidence"]
    assert (evidence["number"], evidence["where"], evidence["span"]["text"]) == (NUMBER, "text", "8 (701) 555-12-34")
    detail = api.get(f"/v1/alerts/{alert['id']}").json()
    assert sorted(o["channel"] for o in detail["occurrences"]) == ["marsh_almaty", "qazaq_chat"]
    assert detail["related_alert_ids"] == []
    assert created_count("phone_number") == before + 1
    assert [(event["type"], event["data"]["alert"]["evidence"]["kind"]) for event in pushed_events(runtime)] == [
        ("alert.created", "phone_number"),
        ("alert.updated", "phone_number"),
    ]
    assert pushed_events(runtime)[1]["data"]["changed"] == ["occurrences"]


def test_her_name_in_kazakh_russian_and_latin_is_a_possible_mention_kept_for_review(
    runtime: Runtime, channels: ChannelServer, journalist: Person, api: httpx.Client
) -> None:
    add_endpoint(runtime, "http://127.0.0.1:9/hook")
    channels.add_post("zhana_habar", "Журналист Айгерим Нұртілеудің мәлімдемесі: барлығы алаңға!")
    channels.add_post("zhana_habar", "Нуртлеу Айгерим призвала читателей выйти на площадь")
    channels.add_post("zhana_habar", "Aigerim Nurtileu called on readers to join the march")
    channels.add_post("zhana_habar", "Айгерим, привет! Встречаемся в 18:00 у Айгерим дома")

    run_watches(runtime, watch_channels(runtime, "zhana_habar"))

    [mention] = alerts(api, kind="name_mention")
    assert (mention["tier"], mention["priority"], mention["subject_key"]) == ("possible", "normal", "name")
    assert mention["occurrences_count"] == 3, "one alert in three scripts; the given name alone is silent"
    assert mention["evidence"]["span"]["text"] == "Айгерим Нұртілеудің"
    assert pushed_events(runtime) == [], "possible name mentions are reviewed in the API, never pushed"


def test_a_person_who_asks_for_name_mentions_gets_them_pushed(
    runtime: Runtime, channels: ChannelServer, api: httpx.Client
) -> None:
    enrol_person(runtime, "Дина Ержанова", aliases=["Dina Yerzhanova"], name_mentions="match")
    add_endpoint(runtime, "http://127.0.0.1:9/hook")
    channels.add_post("fake_akimat", "Аким поручил: Ержанова Дина возглавит штаб")

    run_watches(runtime, watch_channels(runtime, "fake_akimat"))

    [mention] = alerts(api)
    assert (mention["kind"], mention["tier"], mention["priority"]) == ("name_mention", "match", "high")
    assert [event["type"] for event in pushed_events(runtime)] == ["alert.created"]


def test_lookalikes_of_her_site_alert_and_her_real_site_does_not(
    runtime: Runtime, channels: ChannelServer, journalist: Person, api: httpx.Client
) -> None:
    journalist_off = enrol_person(runtime, "Ерлан Сатыбалды", websites=["kaztag.kz"], website_alerts=False)
    channels.add_post(
        "news_24_kz",
        "Эксклюзив: новое расследование",
        link_preview=LinkPreview(
            url="https://orda.kz.news-24.ru/2024/05/kontrakt",
            site_name="Orda.kz",
            title="Редакция призывает читателей записаться добровольцами",
        ),
    )
    channels.add_post("news_24_kz", "Толығырақ: https://0rda.kz/news/123 және оrda.kz сайтында")
    channels.add_post("news_24_kz", "Оригинал статьи: https://orda.kz/news/2024/05/01 и https://www.orda.kz/ru")
    channels.add_post("news_24_kz", "Подробности на https://kaztag.kz.news-24.ru/x")

    run_watches(runtime, watch_channels(runtime, "news_24_kz"))

    found = {a["subject_key"]: a for a in alerts(api, kind="lookalike_domain")}
    assert set(found) == {"news-24.ru", "0rda.kz", "оrda.kz"}
    assert {a["person_id"] for a in found.values()} == {str(journalist.id)}, "website alerts off: silent"
    subdomain = found["news-24.ru"]["evidence"]
    assert (subdomain["resembles"], subdomain["reason"], subdomain["where"]) == ("orda.kz", "subdomain", "url")
    assert subdomain["url"] == "https://orda.kz.news-24.ru/2024/05/kontrakt"
    assert found["оrda.kz"]["evidence"]["reason"] == "homoglyph"
    assert "Cyrillic" in found["оrda.kz"]["evidence"]["explanation"]
    assert journalist_off.websites == ["kaztag.kz"]


def test_her_own_channel_publishing_her_number_is_low_priority(
    runtime: Runtime, channels: ChannelServer, journalist: Person, api: httpx.Client
) -> None:
    channels.add_post("nurtileu_official", "Редакцияға хабарласыңыз: +7 701 555 12 34. Бессмертный полк туралы.")

    run_watches(runtime, watch_channels(runtime, "nurtileu_official"))

    [alert] = alerts(api)
    assert (alert["kind"], alert["official_only"], alert["priority"]) == ("phone_number", True, "low")
    assert alert["campaign_terms"] == [], "her own channel is not a campaign"


def test_a_campaign_term_with_a_signal_raises_the_priority(
    runtime: Runtime, channels: ChannelServer, journalist: Person, api: httpx.Client
) -> None:
    channels.add_post("polk_2024", "«Өлмес полк» шеруіне жазылыңыз: 8 701 555 12 34")
    channels.add_post("polk_2024", "Өлмес полк шеруі 9 мамырда өтеді")

    run_watches(runtime, watch_channels(runtime, "polk_2024"))

    [alert] = alerts(api)
    assert (alert["kind"], alert["priority"], alert["campaign_terms"]) == ("phone_number", "urgent", ["Өлмес полк"])


def test_a_face_named_in_its_post_is_corroborated_and_linked_to_the_mention(
    runtime: Runtime, channels: ChannelServer, api: httpx.Client
) -> None:
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg", aliases=["Барак Обама"])
    channels.add_post("fake_news_kz", "Барак Обама поддержал марш в Алматы", photo=fixture_bytes("obama2.jpg"))
    channels.add_post("fake_news_kz", "Фото дня", photo=fixture_bytes("obama4.jpg"))

    run_watches(runtime, watch_channels(runtime, "fake_news_kz"))

    named, unnamed = sorted(alerts(api, kind="face_match"), key=lambda a: a["created_at"])
    assert (named["priority"], named["corroborated_by"], named["tier_reason"]) == ("urgent", ["name_mention"], None)
    assert (unnamed["priority"], unnamed["corroborated_by"]) == ("high", [])
    [mention] = alerts(api, kind="name_mention")
    assert mention["person_id"] == str(obama.id) and mention["corroborated_by"] == ["face_match"]
    assert api.get(f"/v1/alerts/{named['id']}").json()["related_alert_ids"] == [mention["id"]]
    assert api.get(f"/v1/alerts/{mention['id']}").json()["related_alert_ids"] == [named["id"]]


def test_text_only_posts_and_their_links_are_stored_for_the_record(
    runtime: Runtime, channels: ChannelServer, journalist: Person
) -> None:
    channels.add_post(
        "marsh_almaty",
        text_html='Звоните: <a href="tel:+77015551234">+7 701 555 12 34</a>',
        link_preview=LinkPreview(url="https://0rda.kz/a", site_name="Orda", title="Срочно"),
    )

    run_watches(runtime, watch_channels(runtime, "marsh_almaty"))

    with Session(runtime.db_engine) as session:
        [post] = session.exec(select(Post)).all()
    assert (post.urls, post.phone_entities, post.preview) == (["https://0rda.kz/a"], ["+77015551234"], "Orda\nСрочно")


def test_erasing_her_erases_the_text_evidence_about_her(
    runtime: Runtime, channels: ChannelServer, journalist: Person, api: httpx.Client
) -> None:
    add_endpoint(runtime, "http://127.0.0.1:9/hook")
    channels.add_post("marsh_almaty", "Айгерим Нұртілеу: звоните 8 (701) 555-12-34, подробнее на 0rda.kz")
    run_watches(runtime, watch_channels(runtime, "marsh_almaty"))
    assert {a["kind"] for a in alerts(api)} == {"phone_number", "name_mention", "lookalike_domain"}

    erased = api.delete(f"/v1/persons/{journalist.id}")

    assert erased.status_code == 200, erased.text
    assert (erased.json()["alerts"], erased.json()["occurrences"]) == (3, 3)
    assert alerts(api) == []
    assert pushed_events(runtime) == []
    assert api.get(f"/v1/persons/{journalist.id}").status_code == 404
