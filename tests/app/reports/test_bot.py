"""The reporting bot through the real python-telegram-bot against the local Bot API stand-in (and the t.me/s
stand-in for links), with real face work on real photos: readers' photos, videos and links are answered in their
language, naming only people who agreed to it; each report is an occurrence on the person's alert; the reader is
kept only as a keyed hash; a file too large, an unreadable one, a private link and too many reports get an answer."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterator
from hashlib import sha256
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from app.alerts.models import Alert, AlertOccurrence
from app.notifications.telegram import TelegramBots
from app.reports.jobs import ReportingBot
from app.reports.models import PublicReport
from app.runtime import Runtime
from app.scheduling import build_button_presses, build_reporting_bot, scheduled_work, telegram_bots
from tests.app.notifications.bot_api import TOKEN, BotApi
from tests.factories import enrol_person, face_clip
from tests.impwatch import run
from tests.support import fixture_bytes, wait_for
from tests.watchers.sources.tme_pages import ChannelServer

HASH_KEY = "a-key-only-the-installation-knows"
READER = 4242


@pytest.fixture
def bot_api() -> Iterator[BotApi]:
    with BotApi() as api:
        yield api


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime], bot_api: BotApi, channels: ChannelServer) -> Runtime:
    return make_runtime(
        telegram_bot_api_base_url=bot_api.base_url,
        telegram_bot_file_base_url=bot_api.base_file_url,
        tme_base_url=channels.base_url,
        report_bot_token=TOKEN,
        report_bot_hash_key=HASH_KEY,
        report_bot_rate_per_hour=5,
        report_bot_max_bytes=2 * 1024 * 1024,
        report_bot_poll_seconds=0,
    )


@pytest.fixture
def bots(runtime: Runtime) -> Iterator[TelegramBots]:
    built = telegram_bots(runtime)
    yield built
    built.close()


@pytest.fixture
def bot(runtime: Runtime, bots: TelegramBots) -> ReportingBot:
    return build_reporting_bot(runtime, bots, build_button_presses(runtime, bots))


@pytest.fixture
def obama(runtime: Runtime) -> object:
    """Accepts public reports and agreed to be named."""
    return enrol_person(runtime, "Barack Obama", "obama.jpg", public_reports=True, public_name=True)


def answers(bot_api: BotApi) -> list[str]:
    return [sent.params["text"] for sent in bot_api.sent_by("sendMessage")]


def answered(bot: ReportingBot, bot_api: BotApi, count: int = 1) -> list[str]:
    wait_for(lambda: bot.poll_once() >= 0 and len(answers(bot_api)) >= count, timeout=60, what="the bot's answer")
    return answers(bot_api)


def forward_photo(bot_api: BotApi, data: bytes, *, language: str = "ru", reader: int = READER) -> None:
    photo = bot_api.add_file(data, "photos/file_1.jpg")
    origin = {"type": "channel", "date": 1, "chat": {"id": -1005, "type": "channel", "username": "kz_fake"}}
    bot_api.send_from_reader(
        reader,
        language=language,
        photo=[{**photo, "width": 800, "height": 600}],
        forward_origin={**origin, "message_id": 77},
    )


def occurrences(runtime: Runtime) -> list[tuple[Alert, AlertOccurrence]]:
    with Session(runtime.db_engine) as session:
        rows = session.exec(
            select(Alert, AlertOccurrence).join(AlertOccurrence, col(AlertOccurrence.alert_id) == Alert.id)
        )
        return list(rows.all())


def test_a_forwarded_photo_is_answered_naming_the_person_and_becomes_an_occurrence(
    runtime: Runtime, bot: ReportingBot, bot_api: BotApi, obama: object
) -> None:
    forward_photo(bot_api, fixture_bytes("obama2.jpg"))

    [reply] = answered(bot, bot_api)

    assert "Barack Obama" in reply and reply.startswith("Спасибо")
    [message] = bot_api.sent_by("sendMessage")
    assert message.chat_id == READER and json.loads(message.params["reply_parameters"])["message_id"] >= 100
    [(alert, occurrence)] = occurrences(runtime)
    assert (alert.kind, alert.person_id) == ("face_match", obama.id)  # type: ignore[attr-defined]
    assert (occurrence.channel, occurrence.permalink) == ("reporting bot", "https://t.me/kz_fake/77")
    with Session(runtime.db_engine) as session:
        [report] = session.exec(select(PublicReport)).all()
    expected = hmac.new(HASH_KEY.encode(), str(READER).encode(), sha256).hexdigest()
    assert (report.reporter_hash, report.outcome, report.matched) == (expected, "matched", 1)
    assert str(READER) not in report.reporter_hash


def test_a_forwarded_video_is_answered_without_a_name_when_the_person_did_not_agree(
    runtime: Runtime, bot: ReportingBot, bot_api: BotApi, tmp_path: Path
) -> None:
    enrol_person(runtime, "Barack Obama", "obama.jpg", public_reports=True, public_name=False)
    clip = face_clip(tmp_path / "clip.mp4", "mp4", "libx264", seconds=2).read_bytes()
    video = bot_api.add_file(clip, "videos/file_2.mp4")
    bot_api.send_from_reader(READER, language="en", video={**video, "width": 320, "height": 240, "duration": 2})

    [reply] = answered(bot, bot_api)

    assert reply == "Thank you. A person on our watchlist appears in it; it was passed on to their press office."
    assert len(occurrences(runtime)) == 1


def test_people_who_do_not_accept_public_reports_are_not_looked_for(
    runtime: Runtime, bot: ReportingBot, bot_api: BotApi
) -> None:
    enrol_person(runtime, "Barack Obama", "obama.jpg")  # public_reports is off by default
    forward_photo(bot_api, fixture_bytes("obama2.jpg"), language="kk")

    [reply] = answered(bot, bot_api)

    assert reply.startswith("Рақмет. Мұнда біздің бақылау тізіміндегі ешкім табылмады")
    assert occurrences(runtime) == []


def test_a_link_to_a_public_post_is_resolved_through_its_t_me_s_page(
    runtime: Runtime, bot: ReportingBot, bot_api: BotApi, channels: ChannelServer, obama: object
) -> None:
    channels.add_channel("kz_news_fake")
    channels.add_post("kz_news_fake", "older post")
    message_id = channels.add_post("kz_news_fake", "Подпишите контракт!", photo=fixture_bytes("obama2.jpg"))
    channels.add_post("kz_news_fake", "newer post")
    bot_api.send_from_reader(READER, language="en", text=f"is this real? https://t.me/kz_news_fake/{message_id}")

    [reply] = answered(bot, bot_api)

    assert reply.startswith("Thank you. This shows Barack Obama")
    [(_, occurrence)] = occurrences(runtime)
    assert occurrence.permalink == f"https://t.me/kz_news_fake/{message_id}"


def test_private_links_unknown_posts_and_plain_text_get_clear_answers(
    runtime: Runtime, bot: ReportingBot, bot_api: BotApi, channels: ChannelServer
) -> None:
    channels.add_channel("closed_chan", public=False)
    channels.add_channel("open_chan")
    channels.add_post("open_chan", "text only")
    for text in (
        "https://t.me/c/123456/7",
        "t.me/+AbCdEfGh",
        "https://t.me/closed_chan/3",
        "https://t.me/open_chan/999",
        "https://t.me/open_chan/1",
        "hello",
    ):
        bot_api.send_from_reader(READER, language="en", text=text)

    replies = answered(bot, bot_api, count=6)

    assert [reply.split(".")[0] for reply in replies] == [
        "This link is to a private channel or group, which cannot be checked",
        "This link is to a private channel or group, which cannot be checked",
        "This link is to a private channel or group, which cannot be checked",
        "That post was not found on the channel's public page (t",
        "That post has no photo or video to check",
        "Forward a suspicious photo or video here, or send a link to a public post (t",
    ]


def test_a_file_too_large_is_refused_before_it_is_downloaded(bot: ReportingBot, bot_api: BotApi) -> None:
    video = bot_api.add_file(b"x" * 100, "videos/big.mp4", declared_size=50 * 1024 * 1024)
    bot_api.send_from_reader(READER, language="en", video={**video, "width": 1, "height": 1, "duration": 600})

    [reply] = answered(bot, bot_api)

    assert reply.startswith("This file is too large to check (the limit is 2 MB)")
    assert bot_api.sent_by("getFile") == []


def test_a_file_larger_than_it_said_is_cut_off_at_the_cap(bot: ReportingBot, bot_api: BotApi) -> None:
    lying = bot_api.add_file(b"\xff\xd8" + b"x" * (3 * 1024 * 1024), "photos/lying.jpg", declared_size=1000)
    bot_api.send_from_reader(READER, language="en", photo=[{**lying, "width": 10, "height": 10}])

    [reply] = answered(bot, bot_api)

    assert reply.startswith("This file is too large to check")


def test_an_unreadable_file_is_answered(bot: ReportingBot, bot_api: BotApi) -> None:
    document = bot_api.add_file(b"%PDF-1.4 not a photo at all", "documents/file.pdf")
    bot_api.send_from_reader(READER, language="en", document={**document, "mime_type": "application/pdf"})

    [reply] = answered(bot, bot_api)

    assert reply.startswith("This file could not be read as a photo or a video")


def test_a_reader_is_limited_to_the_reports_of_an_hour(runtime: Runtime, bot: ReportingBot, bot_api: BotApi) -> None:
    for _ in range(6):
        bot_api.send_from_reader(READER, language="en", text="https://t.me/c/1/1")
    bot_api.send_from_reader(READER + 1, language="en", text="https://t.me/c/1/1")

    replies = answered(bot, bot_api, count=7)

    assert [reply.startswith("You have sent many reports") for reply in replies] == [False] * 5 + [True, False]


def test_serve_and_worker_run_the_bot_when_a_token_is_set(runtime: Runtime, bot_api: BotApi) -> None:
    bot_api.send_from_reader(READER, language="ru", text="привет")
    with scheduled_work(runtime):
        wait_for(lambda: answers(bot_api), timeout=30, what="the running bot's answer")
    assert answers(bot_api)[0].startswith("Перешлите сюда подозрительное фото")


def test_bot_run_without_a_token_or_key_says_so(tmp_path: Path) -> None:
    refused = run(tmp_path, "bot", "run")
    assert refused.returncode == 2 and "IMPWATCH_REPORT_BOT_TOKEN" in refused.stderr
