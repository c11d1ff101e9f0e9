"""Delivery from the outbox to a real receiver on 127.0.0.1, whose signature check is the `standardwebhooks`
package's: alerts from a real watch run, reposts, triage, watch failures, filters, and the faults (500s, a receiver
that is down, 410, Retry-After, the last attempt, a broken endpoint beside good ones), each with nothing lost."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import Session, select

from app.alerts import service as alert_service
from app.alerts.models import Alert
from app.alerts.schemas import AlertUpdate
from app.outbox.models import DeliveryStatus
from app.runtime import Runtime
from app.scheduling import build_watch_runner, register_webhook_dispatcher
from app.webhooks import service
from app.webhooks.jobs import WebhookDispatcher, retry_after_seconds
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from core.clock import utcnow
from tests.app.webhooks.builders import (
    FAST_RETRIES,
    PUBLIC_BASE_URL,
    add_endpoint,
    add_person,
    deliveries,
    dispatch_until,
    raise_alert,
    record_post,
)
from tests.app.webhooks.receiver import Receiver, Reply, Trickler, ids_of
from tests.factories import WATCH_INTERVALS, enrol_person
from tests.support import fixture_bytes, wait_for
from tests.watchers.sources.tme_pages import CannedResponse, ChannelServer
from watchers import service as watch_service
from watchers.scheduler import WatchScheduler
from watchers.schemas import WatchCreate

pytestmark = pytest.mark.usefixtures("cached_faces")  # the face analysis is not under test here (tests/face_cache.py)

OTHER_ORGANIZATION = "Another press office"


def attempts(runtime: Runtime, delivery: WebhookDelivery) -> list[WebhookAttempt]:
    with Session(runtime.db_engine) as session:
        return service.attempts_of(session, [delivery.id])[delivery.id]


def endpoint_of(runtime: Runtime, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    with Session(runtime.db_engine) as session:
        found = session.get(WebhookEndpoint, endpoint.id)
        assert found is not None
        return found


def only_delivery(runtime: Runtime) -> WebhookDelivery:
    [delivery] = deliveries(runtime)
    return delivery


def delivery_to(runtime: Runtime, endpoint: WebhookEndpoint) -> WebhookDelivery:
    [delivery] = [delivery for delivery in deliveries(runtime) if delivery.endpoint_id == endpoint.id]
    return delivery


def watch_of(runtime: Runtime, channel: str) -> WatchCreate:
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        data = WatchCreate.model_validate({"source": {"kind": "tme_preview", "channel": channel}})
        watch = watch_service.create_watch(session, data, WATCH_INTERVALS)
        session.commit()
        return watch


def test_an_alert_from_a_real_watch_run_is_delivered_signed(
    make_runtime, channels: ChannelServer, receiver: Receiver
) -> None:
    runtime = make_runtime(tme_base_url=channels.base_url, public_base_url=PUBLIC_BASE_URL)
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg", aliases=["Барак Обама"])
    _, secret = add_endpoint(runtime, receiver.url, description="press office")
    channels.add_channel("kz_news_fake")
    channels.add_post("kz_news_fake", "Sign a military contract!", photo=fixture_bytes("obama2.jpg"))
    channels.add_post("kz_news_fake", "nobody here", photo=fixture_bytes("kit1.jpg"))
    watch = watch_of(runtime, "kz_news_fake")

    assert build_watch_runner(runtime).run(watch.id).error is None
    dispatcher = WebhookDispatcher(
        runtime.db_engine, httpx.Client(), retry_schedule=FAST_RETRIES, url_policy=runtime.webhook_url_policy
    )
    try:
        dispatch_until(dispatcher, lambda: receiver.count() == 1, "the alert.created delivery")
    finally:
        dispatcher.close()

    [request] = receiver.received
    event = request.verify(secret)
    assert request.webhook_id == event["id"] and event["type"] == "alert.created" and event["version"] == 2
    data = event["data"]
    assert data["person"] == {
        "id": str(obama.id),
        "display_name": "Barack Obama",
        "aliases": ["Барак Обама"],
        "role_title": None,
    }
    assert data["alert"]["person_name"] == "Barack Obama" and data["alert"]["status"] == "new"
    assert data["alert"]["url"] == f"{PUBLIC_BASE_URL}/v1/alerts/{data['alert']['id']}"
    assert [o["permalink"] for o in data["occurrences"]] == ["https://t.me/kz_news_fake/1"]
    assert data["crop_url"] == f"{PUBLIC_BASE_URL}/v1/alerts/{data['alert']['id']}/crop.jpg"
    evidence = data["alert"]["evidence"]
    assert data["alert"]["kind"] == evidence["kind"] == "face_match" and data["alert"]["tier"] == "match"
    assert data["alert"]["subject_key"] == evidence["sha256"] and evidence["crop_url"] == data["crop_url"]
    assert evidence["media_kind"] == "photo" and evidence["best_distance"] <= 0.5
    assert request.headers["content-type"] == "application/json"
    assert "encoding" not in request.body.decode() and len(request.body) < 4000, "no encodings, no image bytes"
    assert only_delivery(runtime).status == DeliveryStatus.DELIVERED


def test_reposts_and_triage_send_alert_updated_and_no_change_sends_nothing(
    runtime: Runtime, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    person = add_person(runtime)
    _, secret = add_endpoint(runtime, receiver.url)
    alert = raise_alert(runtime, person, "clip", channel="first_channel")
    raise_alert(runtime, person, "clip", channel="second_channel")
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        stored = session.get(Alert, alert.id)
        alert_service.triage(session, stored, AlertUpdate(status="dismissed"), public_base_url=PUBLIC_BASE_URL)
        alert_service.triage(session, stored, AlertUpdate(status="dismissed"), public_base_url=PUBLIC_BASE_URL)
        session.commit()

    dispatch_until(dispatcher, lambda: receiver.count() == 3, "three events")
    created, reposted, triaged = (request.verify(secret) for request in receiver.received)
    assert [created["type"], reposted["type"], triaged["type"]] == ["alert.created", "alert.updated", "alert.updated"]
    assert reposted["data"]["changed"] == ["occurrences"] and reposted["data"]["alert"]["occurrences_count"] == 2
    assert [o["channel"] for o in reposted["data"]["occurrences"]] == ["first_channel", "second_channel"]
    assert triaged["data"]["changed"] == ["status"] and triaged["data"]["alert"]["status"] == "dismissed"
    assert len(set(ids_of(receiver.received))) == 3
    dispatcher.run()
    assert receiver.count() == 3, "setting the same status again is no change"


def test_the_outbox_row_is_part_of_the_alerts_transaction(runtime: Runtime, receiver: Receiver) -> None:
    person = add_person(runtime)
    add_endpoint(runtime, receiver.url)
    with Session(runtime.db_engine) as session:
        record_post(session, person, "rolled back", "channel")
        assert len(session.exec(select(WebhookDelivery)).all()) == 1
        session.rollback()
    assert deliveries(runtime) == [], "no alert, no event"
    raise_alert(runtime, person)
    assert len(deliveries(runtime)) == 1


def test_500_twice_then_200_is_delivered_with_three_attempts(
    runtime: Runtime, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    receiver.script(Reply(500, body=b"database locked"), Reply(500), Reply(200))
    _, secret = add_endpoint(runtime, receiver.url)
    raise_alert(runtime, add_person(runtime))

    dispatch_until(dispatcher, lambda: only_delivery(runtime).status == DeliveryStatus.DELIVERED, "delivery")

    delivery = only_delivery(runtime)
    assert delivery.attempts == 3 and delivery.last_status_code == 200 and delivery.last_error is None
    log = attempts(runtime, delivery)
    assert [attempt.status_code for attempt in log] == [500, 500, 200]
    assert log[0].response_excerpt == "database locked" and all(a.duration_ms > 0 for a in log)
    assert len(set(ids_of(receiver.received))) == 1, "one webhook-id for every attempt"
    assert all(request.verify(secret) for request in receiver.received)
    dispatcher.run()
    assert receiver.count() == 3, "nothing more after success"


def test_a_receiver_that_is_down_gets_the_event_when_it_comes_back(
    runtime: Runtime, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    _, secret = add_endpoint(runtime, receiver.url)
    receiver.stop()
    raise_alert(runtime, add_person(runtime))

    dispatch_until(dispatcher, lambda: only_delivery(runtime).attempts >= 2, "two refused attempts")
    assert receiver.count() == 0
    refused = attempts(runtime, only_delivery(runtime))
    assert refused[0].status_code is None and refused[0].error.startswith("ConnectError")
    assert only_delivery(runtime).status == DeliveryStatus.PENDING

    receiver.start()
    dispatch_until(dispatcher, lambda: only_delivery(runtime).status == DeliveryStatus.DELIVERED, "delivery")
    [request] = receiver.received
    assert request.verify(secret)["type"] == "alert.created"


def test_410_disables_the_endpoint_and_nothing_more_is_sent_to_it(
    runtime: Runtime, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    receiver.script(Reply(410))
    gone, _ = add_endpoint(runtime, receiver.url)
    with Receiver() as other:
        add_endpoint(runtime, other.url)
        person = add_person(runtime)
        raise_alert(runtime, person, "first")

        dispatch_until(dispatcher, lambda: receiver.count() == 1 and other.count() == 1, "both endpoints tried")
        disabled = endpoint_of(runtime, gone)
        assert not disabled.enabled and "410" in disabled.disabled_reason
        raise_alert(runtime, person, "second")
        dispatch_until(dispatcher, lambda: other.count() == 2, "the second alert to the other endpoint")
        for _ in range(5):
            dispatcher.run()
        assert receiver.count() == 1, "no more attempts to a gone endpoint"


def test_retry_after_is_honoured(runtime: Runtime, dispatcher: WebhookDispatcher, receiver: Receiver) -> None:
    receiver.script(Reply(503, headers={"Retry-After": "1"}))
    add_endpoint(runtime, receiver.url)
    raise_alert(runtime, add_person(runtime))

    dispatch_until(dispatcher, lambda: receiver.count() == 2, "the retry")
    first, second = receiver.received
    assert second.at - first.at >= 0.95, "not before the receiver asked (the schedule alone says 0.05 s)"
    assert only_delivery(runtime).status == DeliveryStatus.DELIVERED


def test_dead_after_the_last_attempt_then_retried_by_hand(
    runtime: Runtime, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    receiver.script(*[Reply(500)] * (len(FAST_RETRIES) + 2))
    endpoint, secret = add_endpoint(runtime, receiver.url)
    raise_alert(runtime, add_person(runtime))

    dispatch_until(dispatcher, lambda: only_delivery(runtime).status == DeliveryStatus.DEAD, "a dead delivery")
    assert receiver.count() == len(FAST_RETRIES) + 1 and only_delivery(runtime).next_attempt_at is None
    dispatcher.run()
    assert receiver.count() == len(FAST_RETRIES) + 1, "a dead delivery is not retried by itself"

    with Session(runtime.db_engine) as session:
        delivery = session.get(WebhookDelivery, only_delivery(runtime).id)
        service.retry_by_hand(session, session.get(WebhookEndpoint, endpoint.id), delivery, utcnow())
        session.commit()
    dispatch_until(dispatcher, lambda: only_delivery(runtime).status == DeliveryStatus.DEAD, "dead again")
    assert receiver.count() == len(FAST_RETRIES) + 2, "a retry by hand is one attempt"

    with Session(runtime.db_engine) as session:
        delivery = session.get(WebhookDelivery, only_delivery(runtime).id)
        service.retry_by_hand(session, session.get(WebhookEndpoint, endpoint.id), delivery, utcnow())
        session.commit()
    dispatch_until(dispatcher, lambda: only_delivery(runtime).status == DeliveryStatus.DELIVERED, "delivered")
    assert len(set(ids_of(receiver.received))) == 1 and receiver.received[-1].verify(secret)
    assert len(attempts(runtime, only_delivery(runtime))) == len(FAST_RETRIES) + 3


def test_one_broken_endpoint_never_stops_the_others(runtime: Runtime, receiver: Receiver) -> None:
    def transport(request: httpx.Request) -> httpx.Response:
        if request.url.host == "broken.example":
            raise RuntimeError("a bug in the HTTP stack")
        with httpx.Client() as real:
            return real.send(request)

    add_endpoint(runtime, "http://broken.example/hook")
    add_endpoint(runtime, receiver.url)
    raise_alert(runtime, add_person(runtime))
    dispatcher = WebhookDispatcher(
        runtime.db_engine,
        httpx.Client(transport=httpx.MockTransport(transport)),
        retry_schedule=FAST_RETRIES,
        url_policy=runtime.webhook_url_policy,
    )
    try:
        dispatch_until(dispatcher, lambda: receiver.count() == 1, "the good endpoint's delivery")
    finally:
        dispatcher.close()
    statuses = sorted(delivery.status for delivery in deliveries(runtime))
    assert statuses == [DeliveryStatus.DELIVERED, DeliveryStatus.PENDING], "the broken one waits for its lease"


def test_a_trickling_receiver_costs_another_organisations_receiver_nothing(
    make_runtime: Callable[..., Runtime], receiver: Receiver
) -> None:
    """One organisation's receiver answers a byte a second (it would take 60 s); another organisation's delivery,
    due while that attempt is under way, arrives at once, from the dispatcher scheduled as in `impwatch serve`; the
    trickled attempt is recorded as failed at its deadline (2 s) and waits for its retry."""
    runtime = make_runtime(
        public_base_url=PUBLIC_BASE_URL,
        webhook_timeout_seconds=2.0,
        webhook_dispatch_seconds=0.2,
        webhook_retry_schedule_seconds=[60],
    )
    scheduler = WatchScheduler(runtime.db_engine, lambda _watch_id: None, sync_seconds=60, jitter_seconds=0)
    with Trickler() as slow:
        slow_endpoint, _ = add_endpoint(runtime, slow.url)
        _, secret = add_endpoint(runtime, receiver.url, organization=OTHER_ORGANIZATION)
        dispatcher = register_webhook_dispatcher(scheduler, runtime)
        scheduler.start()
        try:
            raise_alert(runtime, add_person(runtime), "obama fake")
            wait_for(lambda: slow.arrivals, what="the attempt to the trickling receiver under way")
            due = time.perf_counter()
            raise_alert(runtime, add_person(runtime, "Joe Biden", organization=OTHER_ORGANIZATION), "biden fake")

            wait_for(lambda: receiver.count() == 1, timeout=5, what="the other organisation's delivery")
            [request] = receiver.received
            assert request.at - due < 2.0, "delivered within 2 s of being due"
            assert request.verify(secret)["data"]["person"]["display_name"] == "Joe Biden"
            [trickled] = wait_for(
                lambda: [a for a in attempts(runtime, delivery_to(runtime, slow_endpoint)) if a.duration_ms],
                timeout=5,
                what="the trickled attempt's outcome",
            )
        finally:
            slow.stop()
            scheduler.shutdown()
            dispatcher.close()
    assert trickled.status_code is None and "2 s deadline" in (trickled.error or "")
    assert 1900 <= trickled.duration_ms < 3000, "ended by the deadline, not by the trickle"
    waiting = delivery_to(runtime, slow_endpoint)
    assert waiting.status == DeliveryStatus.PENDING and waiting.attempts == 1 and "deadline" in waiting.last_error
    assert len(slow.arrivals) == 1, "the retry waits for the schedule"


def test_one_endpoint_gets_its_deliveries_one_at_a_time_beside_the_others(
    runtime: Runtime, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    obama, biden = add_person(runtime, "Barack Obama"), add_person(runtime, "Joe Biden")
    receiver.script(Reply(hold=True))
    add_endpoint(runtime, receiver.url, person_ids=[str(obama.id)])
    with Receiver() as other:
        add_endpoint(runtime, other.url, person_ids=[str(biden.id)])
        for media in ("first", "second"):
            raise_alert(runtime, obama, f"obama {media}")
            raise_alert(runtime, biden, f"biden {media}")

        dispatch_until(dispatcher, lambda: other.count() == 2, "the other endpoint's two deliveries")
        assert receiver.count() == 1, "the second delivery to the held endpoint waits for the first"
        receiver.release()
        dispatch_until(
            dispatcher,
            lambda: all(delivery.status == DeliveryStatus.DELIVERED for delivery in deliveries(runtime)),
            "every delivery",
        )
    assert len(set(ids_of(receiver.received))) == 2 and len(set(ids_of(other.received))) == 2


def test_filters_by_event_and_person(runtime: Runtime, dispatcher: WebhookDispatcher, receiver: Receiver) -> None:
    obama, biden = add_person(runtime, "Barack Obama"), add_person(runtime, "Joe Biden")
    add_endpoint(runtime, receiver.url, events=["alert.created"], person_ids=[str(obama.id)])
    with Receiver() as everything:
        add_endpoint(runtime, everything.url)
        raise_alert(runtime, obama, "obama fake")
        raise_alert(runtime, obama, "obama fake", channel="repost")
        raise_alert(runtime, biden, "biden fake")
        dispatch_until(dispatcher, lambda: everything.count() == 3, "every event to the catch-all endpoint")
    [request] = receiver.received
    event = request.json()
    assert event["type"] == "alert.created" and event["data"]["person"]["display_name"] == "Barack Obama"


def test_a_failing_watch_sends_watch_failed_once_per_streak(
    make_runtime, channels: ChannelServer, receiver: Receiver
) -> None:
    runtime = make_runtime(tme_base_url=channels.base_url, public_base_url=PUBLIC_BASE_URL)
    _, secret = add_endpoint(runtime, receiver.url, events=["watch.failed"], person_ids=[])
    channels.add_channel("flaky")
    channels.respond_with("flaky", CannedResponse(500), times=10)
    watch = watch_of(runtime, "flaky")
    runner = build_watch_runner(runtime)
    later = dataclasses.replace(runner, clock=lambda: utcnow() + timedelta(hours=1))
    assert runner.run(watch.id).error and later.run(watch.id).error, "two failed runs in a row"

    dispatcher = WebhookDispatcher(
        runtime.db_engine, httpx.Client(), retry_schedule=FAST_RETRIES, url_policy=runtime.webhook_url_policy
    )
    try:
        dispatch_until(dispatcher, lambda: receiver.count() == 1, "watch.failed")
        dispatcher.run()
    finally:
        dispatcher.close()
    [request] = receiver.received
    event = request.verify(secret)
    assert event["type"] == "watch.failed" and event["data"]["watch"]["id"] == str(watch.id)
    assert event["data"]["watch"]["consecutive_failures"] == 1 and "500" in event["data"]["error"]
    assert event["data"]["watch"]["url"] == f"{PUBLIC_BASE_URL}/v1/watches/{watch.id}"


def test_a_rotated_secret_signs_beside_the_old_one_until_it_expires(
    runtime: Runtime, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    endpoint, old = add_endpoint(runtime, receiver.url)
    person = add_person(runtime)
    with Session(runtime.db_engine) as session:
        new = service.rotate_secret(session, session.get(WebhookEndpoint, endpoint.id), 3600, utcnow())
        session.commit()
    raise_alert(runtime, person, "during the rotation")
    dispatch_until(dispatcher, lambda: receiver.count() == 1, "the first event")
    assert receiver.received[0].verify(old) and receiver.received[0].verify(new)

    with Session(runtime.db_engine) as session:
        newest = service.rotate_secret(session, session.get(WebhookEndpoint, endpoint.id), 0, utcnow())
        session.commit()
    raise_alert(runtime, person, "after the rotation")
    dispatch_until(dispatcher, lambda: receiver.count() == 2, "the second event")
    latest = receiver.received[1]
    assert latest.verify(newest)
    for retired in (old, new):
        with pytest.raises(Exception, match="signature"):
            latest.verify(retired)


def test_the_payload_never_holds_encodings(runtime: Runtime, receiver: Receiver) -> None:
    add_endpoint(runtime, receiver.url)
    raise_alert(runtime, add_person(runtime))
    [delivery] = deliveries(runtime)
    with Session(runtime.db_engine) as session:
        _, event = service.get_delivery(session, session.get(WebhookEndpoint, delivery.endpoint_id), delivery.id)
    keys = _keys(json.loads(event.payload))
    assert not {"encoding", "crop_jpeg", "box", "secret"} & keys


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in _keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in _keys(item)}
    return set()


def test_retry_after_as_seconds_or_a_date_and_the_schedule_running_out() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Sun, 01 Mar 2026 12:05:00 GMT", now) == 300
    assert retry_after_seconds("Sun, 01 Mar 2026 11:00:00 GMT", now) == 0
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None, now) is None
    schedule = [5, 300]
    assert service.next_attempt_delay(1, schedule, None) == 5
    assert service.next_attempt_delay(1, schedule, 60) == 60, "Retry-After when longer"
    assert service.next_attempt_delay(2, schedule, 1) == 300
    assert service.next_attempt_delay(3, schedule, None) is None, "dead after the last attempt"
