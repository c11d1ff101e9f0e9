"""The watch pipeline end to end inside one process: a local t.me preview server, real faces, a real database."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app.alerts.models import Alert, AlertOccurrence
from app.runtime import Runtime
from app.scheduling import build_watch_runner
from app.webhooks.models import WebhookEvent
from core.clock import utcnow
from tests.app.webhooks.builders import add_endpoint
from tests.factories import WATCH_INTERVALS, enrol_person
from tests.support import fixture_bytes, fixture_path
from tests.watchers.sources.tme_pages import CannedResponse, ChannelServer
from watchers import service
from watchers.jobs import WatchRunner
from watchers.models import MediaAnalysis, MediaItem, MediaStatus, Post, Watch, WatchState
from watchers.schemas import WatchCreate
from watchers.sources.base import RetryLater, SourceContext
from watchers.sources.registry import build_source, parse_source_config
from watchlist.models import Person

pytestmark = pytest.mark.usefixtures("cached_faces")  # the face analysis is not under test here (tests/face_cache.py)


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime], channels: ChannelServer) -> Runtime:
    return make_runtime(tme_base_url=channels.base_url)


def add_watch(runtime: Runtime, channel: str) -> Watch:
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        data = WatchCreate.model_validate({"source": {"kind": "tme_preview", "channel": channel}})
        watch = service.create_watch(session, data, WATCH_INTERVALS)
        session.commit()
        return watch


def alerts_of(runtime: Runtime) -> list[tuple[Alert, list[AlertOccurrence]]]:
    with Session(runtime.db_engine) as session:
        alerts = list(session.exec(select(Alert).order_by(Alert.created_at)))
        return [
            (alert, list(session.exec(select(AlertOccurrence).where(AlertOccurrence.alert_id == alert.id))))
            for alert in alerts
        ]


def reload(runtime: Runtime, watch: Watch) -> Watch:
    with Session(runtime.db_engine) as session:
        return session.get(Watch, watch.id)


def test_one_alert_per_person_and_media_and_reposts_add_occurrences(runtime: Runtime, channels: ChannelServer) -> None:
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg", official_channels=["obama_official"])
    channels.add_channel("kz_news_fake")
    channels.add_post("kz_news_fake", "Sign the contract today!", photo=fixture_bytes("obama2.jpg"))
    channels.add_post("kz_news_fake", "Biden says", photo=fixture_bytes("biden.jpg"))
    channels.add_post("kz_news_fake", "just text")
    channels.add_post("kz_news_fake", "a clip", video=fixture_bytes("short_hamilton_clip.mp4"))
    runner = build_watch_runner(runtime)
    first = add_watch(runtime, "kz_news_fake")

    report = runner.run(first.id)

    assert report.error is None
    assert (report.posts_stored, report.media_analysed) == (4, 3)
    [(alert, seen)] = alerts_of(runtime)
    assert (
        alert.person_id == obama.id
        and alert.evidence["media_kind"] == "photo"
        and alert.evidence["best_distance"] <= 0.5
    )
    assert [o.permalink for o in seen] == ["https://t.me/kz_news_fake/1"]
    assert not alert.official_only
    assert reload(runtime, first).cursor == "4"

    channels.add_channel("repost_channel")
    channels.add_post("repost_channel", "forwarded", photo=fixture_bytes("obama2.jpg"), forwarded_from="KZ News")
    channels.add_channel("obama_official")
    channels.add_post("obama_official", "my own post", photo=fixture_bytes("obama4.jpg"))
    second, official = add_watch(runtime, "repost_channel"), add_watch(runtime, "obama_official")
    repost = runner.run(second.id)
    assert (repost.media_analysed, repost.media_cached) == (0, 1)
    runner.run(official.id)

    alerts = alerts_of(runtime)
    assert len(alerts) == 2
    reposted, own = alerts
    assert sorted(o.permalink for o in reposted[1]) == [
        "https://t.me/kz_news_fake/1",
        "https://t.me/repost_channel/1",
    ]
    assert reposted[0].occurrences_count == 2
    assert own[0].official_only and own[1][0].official


def test_running_twice_creates_no_duplicates(runtime: Runtime, channels: ChannelServer) -> None:
    enrol_person(runtime, "Barack Obama", "obama.jpg")
    channels.add_channel("chan_one")
    channels.add_post("chan_one", photo=fixture_bytes("obama2.jpg"))
    watch = add_watch(runtime, "chan_one")
    runner = build_watch_runner(runtime)
    runner.run(watch.id)
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        stored = session.get(Watch, watch.id)
        stored.cursor = None
        session.add(stored)
        session.commit()
    again = runner.run(watch.id)
    assert again.posts_stored == 0
    assert len(alerts_of(runtime)) == 1
    with Session(runtime.db_engine) as session:
        assert session.exec(select(sa.func.count()).select_from(Post)).one() == 1


def test_the_database_itself_refuses_duplicate_posts_and_alerts(runtime: Runtime) -> None:
    watch = add_watch(runtime, "chan_two")
    now = utcnow()
    with Session(runtime.db_engine) as session, pytest.raises(sa.exc.IntegrityError):
        for _ in range(2):
            session.add(Post(watch_id=watch.id, channel="c", message_id=7, permalink="p", posted_at=now))
            session.flush()


def test_failed_download_is_visible_and_retried_next_run(runtime: Runtime, channels: ChannelServer) -> None:
    enrol_person(runtime, "Barack Obama", "obama.jpg")
    channels.add_channel("flaky")
    channels.add_post("flaky", photo=fixture_bytes("obama2.jpg"))
    [media_path] = [path for path in channels.served_files() if "obama" in path or path.endswith(".jpg")][:1]
    channels.respond_to(media_path, CannedResponse(500), times=1)
    watch = add_watch(runtime, "flaky")
    runner = build_watch_runner(runtime)

    first = runner.run(watch.id)
    assert first.media_failed == 1 and alerts_of(runtime) == []
    stored = reload(runtime, watch)
    assert "media download" in stored.last_error and stored.cursor == "1"
    with Session(runtime.db_engine) as session:
        [item] = session.exec(select(MediaItem)).all()
        assert item.status == MediaStatus.FAILED and item.attempts == 1 and item.error

    second = runner.run(watch.id)
    assert second.media_analysed == 1
    assert len(alerts_of(runtime)) == 1
    assert reload(runtime, watch).last_error is None


def test_a_crash_mid_batch_resumes_where_it_stopped(runtime: Runtime, channels: ChannelServer) -> None:
    enrol_person(runtime, "Barack Obama", "obama.jpg")
    channels.add_channel("crashy")
    for name in ("biden.jpg", "obama2.jpg", "kit1.jpg"):
        channels.add_post("crashy", photo=fixture_bytes(name))
    watch = add_watch(runtime, "crashy")

    def crashing_after_first_post(watch: Watch, context: object) -> object:
        source = build_source(parse_source_config(watch.config), context)

        class Crashing:
            def fetch(self, cursor: str | None, limit: int) -> Iterator[object]:
                posts = source.fetch(cursor, limit)
                yield next(posts)
                raise RuntimeError("process killed")

            def download(self, *args: object) -> None:
                source.download(*args)

        return Crashing()

    crashing = build_watch_runner(runtime)
    crashing.source_factory = crashing_after_first_post
    assert crashing.run(watch.id).error == "process killed"
    stored = reload(runtime, watch)
    assert stored.cursor == "1" and stored.consecutive_failures == 1

    resumed = build_watch_runner(runtime).run(watch.id)
    assert resumed.error is None
    assert resumed.posts_stored == 2
    with Session(runtime.db_engine) as session:
        assert session.exec(select(sa.func.count()).select_from(MediaAnalysis)).one() == 3
    assert len(alerts_of(runtime)) == 1


def test_rate_limit_reschedules_and_unknown_channel_needs_attention(runtime: Runtime, channels: ChannelServer) -> None:
    channels.add_channel("busy_channel")
    channels.respond_with("busy_channel", CannedResponse(429, {"Retry-After": "120"}))
    busy, missing = add_watch(runtime, "busy_channel"), add_watch(runtime, "no_such_channel")
    runner: WatchRunner = build_watch_runner(runtime)

    runner.run(busy.id)
    runner.run(missing.id)

    rate_limited = reload(runtime, busy)
    assert rate_limited.state == WatchState.RETRYING
    assert rate_limited.retry_at - utcnow() > timedelta(seconds=100)
    assert reload(runtime, missing).state == WatchState.NEEDS_ATTENTION
    assert "not public" in reload(runtime, missing).last_error
    assert runner.run(busy.id).posts_stored == 0, "a watch waiting for its retry time is not run early"


def test_retry_later_is_a_typed_error() -> None:
    assert RetryLater(5).seconds == 5


def test_downloaded_media_is_not_kept_after_analysis(runtime: Runtime, channels: ChannelServer) -> None:
    enrol_person(runtime, "Barack Obama", "obama.jpg")
    channels.add_channel("leaves_nothing")
    channels.add_post("leaves_nothing", photo=fixture_bytes("obama2.jpg"))
    watch = add_watch(runtime, "leaves_nothing")
    assert build_watch_runner(runtime).run(watch.id).error is None
    assert len(alerts_of(runtime)) == 1
    kept = [path for path in runtime.media_store.root.rglob("*") if path.is_file()]
    assert kept == []


def add_export_watch(runtime: Runtime, folder: object) -> Watch:
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        data = WatchCreate.model_validate({"source": {"kind": "telegram_export", "path": str(folder)}})
        watch = service.create_watch(session, data, WATCH_INTERVALS)
        session.commit()
        return watch


def write_export(folder: Path, messages: list[dict[str, object]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    document = {"name": "Chat", "type": "public_channel", "id": 1, "messages": messages}
    (folder / "result.json").write_text(json.dumps(document), encoding="utf-8")


def photo_message(message_id: int, photo: str) -> dict[str, object]:
    return {"id": message_id, "type": "message", "date_unixtime": "1700000000", "text": "", "photo": photo}


def run_in_thread(runner: WatchRunner, watch: Watch) -> object:
    """Run the watch in a thread and fail (not hang) when it does not finish within seconds."""
    reports: list[object] = []
    thread = threading.Thread(target=lambda: reports.append(runner.run(watch.id)), daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), "the watch run hangs"
    return reports[0]


def test_media_outside_the_export_is_reported_as_skipped_not_as_failed(runtime: Runtime, tmp_path: Path) -> None:
    export = tmp_path / "export"
    (tmp_path / "secret.jpg").write_bytes(fixture_bytes("biden.jpg"))
    write_export(export, [photo_message(1, "../secret.jpg")])
    watch = add_export_watch(runtime, export)

    run_in_thread(build_watch_runner(runtime), watch)

    last_error = reload(runtime, watch).last_error
    assert last_error is not None
    assert "1 media item skipped for good" in last_error and "outside" in last_error
    assert "retried" not in last_error


def test_a_fifo_in_an_export_is_skipped_and_the_run_finishes(runtime: Runtime, tmp_path: Path) -> None:
    export = tmp_path / "export"
    (export / "photos").mkdir(parents=True)
    os.mkfifo(export / "photos" / "fifo.jpg")
    (export / "photos" / "real.jpg").write_bytes(fixture_bytes("biden.jpg"))
    write_export(export, [photo_message(1, "photos/fifo.jpg"), photo_message(2, "photos/real.jpg")])
    watch = add_export_watch(runtime, export)

    run_in_thread(build_watch_runner(runtime), watch)

    with Session(runtime.db_engine) as session:
        items = {item.locator: item for item in session.exec(select(MediaItem))}
    assert items["photos/fifo.jpg"].status == MediaStatus.SKIPPED
    assert "not a regular file" in (items["photos/fifo.jpg"].error or "")
    assert items["photos/real.jpg"].status == MediaStatus.DONE
    assert "not a regular file" in (reload(runtime, watch).last_error or "")


def test_a_face_on_the_poster_of_a_video_too_big_raises_a_poster_only_alert(
    runtime: Runtime, channels: ChannelServer
) -> None:
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg")
    channels.add_channel("deepfake_clips")
    channels.add_post(
        "deepfake_clips", "The minister's full address", unsupported_video=True, poster=fixture_bytes("obama2.jpg")
    )
    channels.add_post("deepfake_clips", "Open the app", hidden_media=True)
    watch = add_watch(runtime, "deepfake_clips")

    report = build_watch_runner(runtime).run(watch.id)

    assert (report.error, report.posts_stored, report.media_analysed) == (None, 2, 1)
    [(alert, [seen])] = alerts_of(runtime)
    assert alert.person_id == obama.id and alert.evidence["poster_only"] is True
    assert alert.evidence["media_kind"] == "video"
    assert seen.permalink == "https://t.me/deepfake_clips/1"
    with Session(runtime.db_engine) as session:
        poster, hidden = sorted(session.exec(select(MediaItem)), key=lambda item: item.locator == "")
    assert (poster.status, poster.poster_only) == (MediaStatus.DONE, True)
    assert "Media is too big" in poster.not_fetched
    assert (hidden.status, hidden.error) == (
        MediaStatus.SKIPPED,
        "t.me preview: Please open Telegram to view this post",
    )
    coverage = reload(runtime, watch).coverage
    assert (coverage["poster_only"], coverage["not_fetched"], coverage["awaiting_file"]) == (1, 1, 0)


def test_export_media_missing_from_the_folder_are_counted_warned_once_and_analysed_when_they_appear(
    runtime: Runtime, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.watchers.sources.export_builder import Message, at, build_export, photo

    obama = enrol_person(runtime, "Barack Obama", "obama.jpg")
    messages = [
        Message(n, at(2024, 3, 1, 9, n), text=f"post {n}", media=photo(None if n < 4 else fixture_path("obama2.jpg")))
        for n in range(1, 5)
    ]
    folder = build_export(tmp_path / "export", messages)
    (next((folder / "photos").iterdir())).unlink()  # message 4: its path is there, its file is not
    watch = add_export_watch(runtime, folder)
    runner = build_watch_runner(runtime)

    with caplog.at_level(logging.WARNING, logger="watchers.jobs"):
        first = runner.run(watch.id)

    assert (first.error, first.posts_stored, first.media_analysed, len(first.media_awaiting)) == (None, 4, 0, 4)
    assert [r.getMessage() for r in caplog.records if "not in the folder yet" in r.getMessage()] != []
    assert len([r for r in caplog.records if r.name == "watchers.jobs"]) == 1
    assert reload(runtime, watch).coverage["awaiting_file"] == 4
    assert reload(runtime, watch).cursor == "4"
    assert runner.run(watch.id).media_awaiting != []

    downloaded_again = [
        Message(n, at(2024, 3, 1, 9, n), text=f"post {n}", media=photo(fixture_path("obama2.jpg"))) for n in range(1, 5)
    ]
    build_export(folder, downloaded_again)
    later = runner.run(watch.id)

    assert (later.error, later.posts_stored, later.media_awaiting) == (None, 0, [])
    assert later.media_analysed + later.media_cached == 4
    [(alert, seen)] = alerts_of(runtime)
    assert alert.person_id == obama.id and len(seen) == 4
    assert reload(runtime, watch).coverage["awaiting_file"] == 0


def test_a_watch_created_with_since_reads_older_pages_over_several_runs_and_new_posts_first(
    runtime: Runtime, channels: ChannelServer
) -> None:
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg")
    start = utcnow() - timedelta(days=100)
    channels.add_channel("campaign_source")
    channels.add_post("campaign_source", "before since", date=start - timedelta(days=1))
    first_fake = channels.add_post("campaign_source", "old fake", photo=fixture_bytes("obama2.jpg"), date=start)
    for n in range(70):
        channels.add_post("campaign_source", f"filler {n}", date=start + timedelta(hours=n + 1))
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        data = WatchCreate.model_validate(
            {"source": {"kind": "tme_preview", "channel": "campaign_source"}, "since": start - timedelta(hours=1)}
        )
        watch = service.create_watch(session, data, WATCH_INTERVALS)
        session.commit()
    runner = build_watch_runner(runtime)
    runner.history_pages = 2

    first = runner.run(watch.id)

    assert first.error is None and alerts_of(runtime) == []
    after_first = reload(runtime, watch)
    assert after_first.cursor == str(channels_newest(runtime, watch)) and not after_first.history_complete
    channels.add_post("campaign_source", "brand new")
    second = runner.run(watch.id)
    assert second.error is None
    with Session(runtime.db_engine) as session:
        texts = set(session.exec(select(Post.text).where(Post.watch_id == watch.id)))
    assert "brand new" in texts and "old fake" in texts and "before since" not in texts
    assert reload(runtime, watch).history_complete
    assert len(texts) == 72
    [(alert, [seen])] = alerts_of(runtime)
    assert alert.person_id == obama.id and seen.permalink == f"https://t.me/campaign_source/{first_fake}"


def channels_newest(runtime: Runtime, watch: Watch) -> int:
    with Session(runtime.db_engine) as session:
        return max(session.exec(select(Post.message_id).where(Post.watch_id == watch.id)))


def test_two_telegram_watches_on_one_account_under_a_long_flood_wait_are_both_rescheduled(
    runtime: Runtime,
) -> None:
    from telethon import errors

    from tests.watchers.sources.fake_telethon import FakeTelegramClient
    from watchers.telegram_client import TelegramGateway

    fake = FakeTelegramClient()
    fake.add_channel("akorda_fakes").post("one")
    fake.add_channel("second_fakes").post("two")
    watches = []
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        for channel in ("akorda_fakes", "second_fakes"):
            data = WatchCreate.model_validate({"source": {"kind": "telegram", "channel": channel}})
            watches.append(service.create_watch(session, data, WATCH_INTERVALS))
        session.commit()
    fake.fail_next("iter_messages", errors.FloodWaitError(request=None, capture=900))
    with TelegramGateway(lambda: fake) as gateway:
        runner = build_watch_runner(runtime)
        runner.source_context = SourceContext(telegram_client=gateway)
        first = runner.run(watches[0].id)
        sent = len(fake.requests)
        second = runner.run(watches[1].id)

    assert "wait 900 s" in first.error and "waiting out a flood wait" in second.error
    assert len(fake.requests) == sent, "the second watch sent nothing"
    for watch in watches:
        stored = reload(runtime, watch)
        assert stored.state == WatchState.RETRYING
        assert timedelta(seconds=890) < stored.retry_at - utcnow() <= timedelta(seconds=900)


def test_an_edited_post_whose_media_was_replaced_is_analysed_again_as_the_same_post(
    runtime: Runtime, channels: ChannelServer
) -> None:
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg")
    channels.add_channel("edited_fakes")
    message_id = channels.add_post("edited_fakes", "Harmless picture", photo=fixture_bytes("kit1.jpg"), date=utcnow())
    watch = add_watch(runtime, "edited_fakes")
    runner = build_watch_runner(runtime)
    assert runner.run(watch.id).media_analysed == 1 and alerts_of(runtime) == []
    assert runner.run(watch.id).media_from_edits == 0, "an unchanged post adds nothing"

    channels.edit_post("edited_fakes", message_id, photo=fixture_bytes("obama2.jpg"))
    after_edit = runner.run(watch.id)

    assert (after_edit.error, after_edit.posts_stored, after_edit.media_from_edits) == (None, 0, 1)
    [(alert, [seen])] = alerts_of(runtime)
    assert alert.person_id == obama.id and seen.permalink == f"https://t.me/edited_fakes/{message_id}"
    with Session(runtime.db_engine) as session:
        positions = sorted(item.position for item in session.exec(select(MediaItem)))
    assert positions == [0, 1]
    assert runner.run(watch.id).media_from_edits == 0


def test_posts_older_than_the_edit_window_are_not_read_again(runtime: Runtime, channels: ChannelServer) -> None:
    channels.add_channel("old_posts")
    message_id = channels.add_post(
        "old_posts", "old", photo=fixture_bytes("kit1.jpg"), date=utcnow() - timedelta(days=3)
    )
    watch = add_watch(runtime, "old_posts")
    runner = build_watch_runner(runtime)
    runner.run(watch.id)
    channels.edit_post("old_posts", message_id, photo=fixture_bytes("obama2.jpg"))

    assert runner.run(watch.id).media_from_edits == 0


def test_an_iphone_photo_sent_as_a_heic_file_is_analysed(runtime: Runtime, tmp_path: Path) -> None:
    import io as bytes_io

    from PIL import Image
    from pillow_heif import register_heif_opener

    from tests.watchers.sources.export_builder import Message, at, build_export, document

    register_heif_opener()
    heic = bytes_io.BytesIO()
    Image.open(fixture_path("obama2.jpg")).save(heic, format="HEIF", quality=90)
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg")
    message = Message(
        2, at(2024, 3, 1), text="from an iPhone", media=document(heic.getvalue(), "IMG_4711.HEIC", "image/heic")
    )
    watch = add_export_watch(runtime, build_export(tmp_path / "export", [message]))

    report = build_watch_runner(runtime).run(watch.id)

    assert (report.error, report.media_analysed) == (None, 1)
    [(alert, _)] = alerts_of(runtime)
    assert alert.person_id == obama.id and alert.evidence["media_kind"] == "image_document"


def test_a_run_reads_the_newest_page_once_for_new_posts_history_and_edits(
    runtime: Runtime, channels: ChannelServer
) -> None:
    channels.add_channel("small_channel")
    channels.add_post("small_channel", "recent", date=utcnow())
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        data = WatchCreate.model_validate(
            {"source": {"kind": "tme_preview", "channel": "small_channel"}, "since": utcnow() - timedelta(days=1)}
        )
        watch = service.create_watch(session, data, WATCH_INTERVALS)
        session.commit()

    assert build_watch_runner(runtime).run(watch.id).error is None

    assert channels.page_requests("small_channel") == ["/s/small_channel"]
    assert reload(runtime, watch).history_complete


def test_text_work_that_fails_never_fails_the_run(runtime: Runtime, channels: ChannelServer) -> None:
    """The text hook raising on one post: logged and counted; that post, the next ones and their media go on."""
    from prometheus_client import REGISTRY

    enrol_person(runtime, "Barack Obama", "obama.jpg")
    channels.add_post("kz_news_fake", "Звоните: +7 701 555 12 34")
    channels.add_post("kz_news_fake", "Фото", photo=fixture_bytes("obama2.jpg"))
    read: list[str] = []

    def breaks_on_the_first(session: Session, post: Post) -> None:
        read.append(post.text)
        if len(read) == 1:
            raise RuntimeError("a broken matcher")

    runner = build_watch_runner(runtime)
    runner.on_post = breaks_on_the_first
    failures = REGISTRY.get_sample_value("impwatch_text_failures_total") or 0.0
    watch = add_watch(runtime, "kz_news_fake")

    report = runner.run(watch.id)

    assert report.error is None and report.posts_stored == 2 and report.media_analysed == 1
    assert read == ["Звоните: +7 701 555 12 34", "Фото"]
    assert REGISTRY.get_sample_value("impwatch_text_failures_total") == failures + 1
    assert [alert.kind for alert, _ in alerts_of(runtime)] == ["face_match"]
    assert reload(runtime, watch).cursor == "2"


RECEIVER_URL = "https://93.184.215.14/impwatch"  # public, so allowed; events are only enqueued here, never sent


def two_offices_with_one_face(runtime: Runtime) -> tuple[Person, Person]:
    """The same face enrolled by two organisations, each with a webhook endpoint: one photo raises an alert in each."""
    people = []
    for office, name in (("Office A", "Joe Legacy"), ("Office B", "Barack Obama")):
        people.append(enrol_person(runtime, name, "obama.jpg", organization=office))
        add_endpoint(runtime, RECEIVER_URL, organization=office)
    return people[0], people[1]


def events_about(runtime: Runtime, person: Person) -> list[WebhookEvent]:
    with Session(runtime.db_engine) as session:
        events = session.exec(select(WebhookEvent).order_by(WebhookEvent.created_at)).all()
        return [event for event in events if json.loads(event.payload)["data"]["person"]["id"] == str(person.id)]


def media_item(runtime: Runtime) -> MediaItem:
    with Session(runtime.db_engine) as session:
        [item] = session.exec(select(MediaItem)).all()
        return item


def test_a_legacy_alias_with_a_lone_surrogate_stops_nobody(runtime: Runtime, channels: ChannelServer) -> None:
    """An alias stored with a lone surrogate before input was held to the rule once failed every run on the webhook
    body (UnicodeEncodeError), rolled the item back and retried it for ever, and no organisation got any alert."""
    joe, other = two_offices_with_one_face(runtime)
    with Session(runtime.db_engine) as session:
        stored = session.get(Person, joe.id)
        assert stored is not None
        stored.aliases = ["Joe \ud83d"]  # as the API let it in once; the JSON column holds it escaped
        session.add(stored)
        session.commit()
    channels.add_channel("kz_news_fake")
    channels.add_post("kz_news_fake", "Sign the contract today!", photo=fixture_bytes("obama2.jpg"))
    watch = add_watch(runtime, "kz_news_fake")
    runner = build_watch_runner(runtime)

    report = runner.run(watch.id)

    assert report.error is None and reload(runtime, watch).last_error is None
    assert {alert.person_id for alert, _ in alerts_of(runtime)} == {joe.id, other.id}
    [sent] = events_about(runtime, joe)
    assert json.loads(sent.payload)["data"]["person"]["aliases"] == ["Joe \ufffd"]
    assert len(events_about(runtime, other)) == 1
    again = runner.run(watch.id)
    assert (again.error, again.media_analysed, again.media_cached) == (None, 0, 0), "nothing left to retry"


def test_a_failure_recording_one_persons_alert_fails_that_item_alone_and_is_not_retried_for_ever(
    make_runtime: Callable[..., Runtime], channels: ChannelServer
) -> None:
    """Office A's alert about the photo was stored by an older version in a shape this one cannot read, so its
    update event cannot be written: Office B still gets its alert at once, the item says why it failed, the next run
    tries once more without doubling B's alert, and then the item is skipped for good."""
    runtime = make_runtime(tme_base_url=channels.base_url, media_max_attempts=2)
    joe, other = two_offices_with_one_face(runtime)
    with Session(runtime.db_engine) as session:
        legacy = Alert(
            kind="face_match",
            person_id=joe.id,
            subject_key=hashlib.sha256(fixture_bytes("obama2.jpg")).hexdigest(),
            evidence={"kind": "face_match", "media": "photo"},
        )
        session.add(legacy)
        session.commit()
        legacy_id = legacy.id
    channels.add_channel("kz_news_fake")
    channels.add_post("kz_news_fake", "Sign the contract today!", photo=fixture_bytes("obama2.jpg"))
    watch = add_watch(runtime, "kz_news_fake")
    runner = build_watch_runner(runtime)

    first = runner.run(watch.id)

    assert first.error is None and len(first.alerts_failed) == 1
    [(_, seen)] = [(alert, seen) for alert, seen in alerts_of(runtime) if alert.person_id == other.id]
    assert len(seen) == 1 and len(events_about(runtime, other)) == 1
    [(unchanged, none_seen)] = [(alert, seen) for alert, seen in alerts_of(runtime) if alert.id == legacy_id]
    assert unchanged.occurrences_count == 0 and none_seen == [], "Office A's part was undone, not half-written"
    item = media_item(runtime)
    assert item.status == MediaStatus.FAILED and item.error and str(joe.id) in item.error
    status = reload(runtime, watch)
    assert status.state == WatchState.OK and "alerts not recorded" in (status.last_error or "")

    second = runner.run(watch.id)
    assert second.error is None and second.media_skipped and "alerts not recorded" in second.media_skipped[0]
    assert media_item(runtime).status == MediaStatus.SKIPPED
    assert "skipped for good" in (reload(runtime, watch).last_error or "")
    [(_, seen_again)] = [(alert, seen) for alert, seen in alerts_of(runtime) if alert.person_id == other.id]
    assert len(seen_again) == 1 and len(events_about(runtime, other)) == 1, "retried without doubling B's alert"

    third = runner.run(watch.id)
    assert (third.media_analysed, third.media_cached, third.media_skipped) == (0, 0, [])
    assert media_item(runtime).attempts == 2, "out of attempts: never tried again"
