"""Alerts: one per person, kind and subject. Under concurrency the same media reposted in two channels and recorded
by two transactions at once (two watches finding the same deepfake) adds two occurrences, never one; a text signal
(a phone number) spread through many posts is one alert with an occurrence per post."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app.alerts.models import Alert, AlertOccurrence
from app.alerts.schemas import FaceMatchEvidence, NameMentionEvidence, PhoneNumberEvidence, TextSpan
from app.alerts.service import Signal, record_signal, record_signals
from app.runtime import Runtime
from tests.app.webhooks.builders import add_person, raise_alert, record_post
from tests.support import wait_for
from watchers.models import MediaItem, Post, Watch
from watchlist.models import Person


def waiting_for_a_lock(runtime: Runtime) -> bool:
    with runtime.db_engine.connect() as connection:
        return bool(connection.execute(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar())


def test_two_reposts_recorded_at_once_both_count(runtime: Runtime, database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite lets one transaction write at a time: two recordings cannot overlap")
    person = add_person(runtime)
    alert = raise_alert(runtime, person, media="deepfake", channel="first_channel")
    errors: list[BaseException] = []

    def record_the_second_repost() -> None:
        try:
            with Session(runtime.db_engine) as session:
                record_post(session, person, "deepfake", "third_channel")
                session.commit()
        except BaseException as error:  # reported by the assertion below, not lost in the thread
            errors.append(error)

    with Session(runtime.db_engine) as first:
        record_post(first, person, "deepfake", "second_channel")
        second = threading.Thread(target=record_the_second_repost)
        second.start()
        wait_for(lambda: waiting_for_a_lock(runtime), timeout=30, what="the second recording to wait for the first")
        first.commit()
    second.join(timeout=60)
    assert not second.is_alive() and not errors, errors

    with Session(runtime.db_engine) as session:
        stored = session.get(Alert, alert.id)
        occurrences = session.exec(select(AlertOccurrence).where(AlertOccurrence.alert_id == alert.id)).all()
    assert len(occurrences) == 3
    assert stored is not None and stored.occurrences_count == 3


def post_on(session: Session, channel: str, message_id: int, text: str) -> Post:
    watch = session.exec(select(Watch).where(Watch.target == channel)).first()
    if watch is None:
        watch = Watch(kind="tme_preview", target=channel, config={})
        session.add(watch)
        session.flush()
    post = Post(
        watch_id=watch.id,
        channel=channel,
        message_id=message_id,
        permalink=f"https://t.me/{channel}/{message_id}",
        posted_at=datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=message_id),
        text=text,
    )
    session.add(post)
    session.flush()
    return post


def number_signal(person: Person, text: str) -> Signal:
    start = text.index("+7")
    evidence = PhoneNumberEvidence(number="+77015551234", span=TextSpan(text=text[start:], start=start, end=len(text)))
    return Signal(person=person, subject_key="+77015551234", evidence=evidence)


def test_a_number_spread_through_many_posts_is_one_alert_with_an_occurrence_per_post(
    runtime: Runtime, api: httpx.Client
) -> None:
    person = add_person(runtime)
    texts = ["Звоните журналисту: +7 701 555 12 34", "Қоңырау шалыңыз: +7 701 555 12 34"]
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        posts = [post_on(session, "kz_fake", 7, texts[0]), post_on(session, "ru_fake", 8, texts[1])]
        alerts = [record_signal(session, number_signal(person, post.text), post, public_base_url="") for post in posts]
        again = record_signal(session, number_signal(person, posts[0].text), posts[0], public_base_url="")
        session.commit()

    assert {alert.id for alert in [*alerts, again]} == {alerts[0].id}, "one alert per person, kind and number"
    [summary] = api.get("/v1/alerts", params={"kind": "phone_number"}).json()["items"]
    assert (summary["kind"], summary["subject_key"], summary["occurrences_count"]) == (
        "phone_number",
        "+77015551234",
        2,
    )
    assert summary["evidence"] == {
        "kind": "phone_number",
        "number": "+77015551234",
        "span": {"text": "+7 701 555 12 34", "start": 20, "end": 36},
        "where": None,
        "explanation": None,
        "detail": {},
    }
    detail = api.get(f"/v1/alerts/{summary['id']}").json()
    assert [o["permalink"] for o in detail["occurrences"]] == ["https://t.me/kz_fake/7", "https://t.me/ru_fake/8"]
    assert api.get("/v1/alerts", params={"kind": "face_match"}).json()["items"] == []
    assert api.get(f"/v1/alerts/{summary['id']}/crop.jpg").status_code == 404


def test_a_post_is_one_text_occurrence_even_when_two_transactions_race(runtime: Runtime) -> None:
    """The database itself refuses a second occurrence of one post in one text alert."""
    person = add_person(runtime)
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        post = post_on(session, "kz_fake", 9, "Номер: +7 701 555 12 34")
        alert = record_signal(session, number_signal(person, post.text), post, public_base_url="")
        session.commit()
    with Session(runtime.db_engine) as session, pytest.raises(sa.exc.IntegrityError):
        session.add(
            AlertOccurrence(
                alert_id=alert.id,
                post_id=post.id,
                watch_id=post.watch_id,
                channel=post.channel,
                permalink=post.permalink,
                posted_at=post.posted_at,
            )
        )
        session.flush()


def test_priority_follows_where_the_alert_was_seen(runtime: Runtime) -> None:
    """Only on the person's own channel: low; seen elsewhere too: high."""
    person = add_person(runtime)
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        session.add(person)
        person.official_channels = ["akimat_official"]
        session.flush()
        own = post_on(session, "akimat_official", 1, "Пресс-служба: +7 701 555 12 34")
        alert = record_signal(session, number_signal(person, own.text), own, public_base_url="")
        first = (alert.official_only, alert.priority)
        fake = post_on(session, "kz_fake", 2, "Звоните: +7 701 555 12 34")
        record_signal(session, number_signal(person, fake.text), fake, public_base_url="")
        session.commit()
    assert first == (True, "low")
    assert (alert.official_only, alert.priority) == (False, "high")


def possible_face(session: Session, person: Person, post: Post) -> Signal:
    item = MediaItem(post_id=post.id, kind="photo", locator="photo-1", sha256="c" * 64, status="done")
    session.add(item)
    session.flush()
    evidence = FaceMatchEvidence(sha256="c" * 64, media_kind="photo", best_distance=0.55)
    return Signal(person=person, subject_key="c" * 64, evidence=evidence, tier="possible", media_item=item)


def test_a_possible_face_in_a_post_that_names_the_person_becomes_a_match_saying_why(runtime: Runtime) -> None:
    person = add_person(runtime)
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        post = post_on(session, "kz_fake", 3, "Барак Обама призывает подписать контракт")
        named = NameMentionEvidence(name="Барак Обама", span=TextSpan(text="Барак Обама", start=0, end=11))
        mention = Signal(person=person, subject_key="Барак Обама", evidence=named, tier="possible")
        record_signals(session, [mention], post, public_base_url="")
        [face] = record_signals(session, [possible_face(session, person, post)], post, public_base_url="")
        session.commit()

    assert (face.tier, face.priority, face.corroborated_by) == ("match", "high", ["name_mention"])
    assert face.tier_reason == "a possible face match, and the same post names the person"


def test_a_possible_face_alone_stays_possible_and_a_campaign_term_raises_it(runtime: Runtime) -> None:
    person = add_person(runtime)
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        quiet = post_on(session, "kz_fake", 4, "Фото дня")
        [face] = record_signals(session, [possible_face(session, person, quiet)], quiet, public_base_url="")
        first = (face.tier, face.priority, face.tier_reason)
        loud = post_on(session, "kz_fake", 5, "Подпиши контракт сегодня")
        record_signals(
            session, [possible_face(session, person, loud)], loud, public_base_url="", campaign_terms=["контракт"]
        )
        session.commit()

    assert first == ("possible", "normal", None)
    assert (face.tier, face.priority, face.campaign_terms) == ("possible", "high", ["контракт"])
