"""The telegram source against a stand-in Telethon client (real Telethon messages and errors, see fake_telethon),
run through a real TelegramGateway event-loop thread."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import ValidationError
from telethon import TelegramClient, errors
from telethon.sessions import StringSession
from telethon.tl import types

from tests.watchers.sources.fake_telethon import (
    FakeTelegramClient,
    animated_sticker,
    entity,
    forward_from_channel,
    forward_from_hidden_user,
    gif,
    image_file,
    pdf,
    photo,
    round_video,
    sticker,
    video,
    video_as_file,
    voice_note,
    web_page,
)
from watchers.sources.base import (
    FetchedPost,
    MediaKind,
    MediaRef,
    MediaTooLarge,
    NeedsAttention,
    RetryLater,
    Source,
    SourceContext,
)
from watchers.sources.telegram import (
    MAX_SHORT_WAITS_PER_CALL,
    NO_ACCOUNT_REASON,
    SHORT_FLOOD_WAIT_SECONDS,
    TelegramConfig,
    TelegramSource,
)
from watchers.telegram_client import TelegramGateway, build_client, login
from watchers.telegram_limits import FloodLimiter

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
JPEG = (FIXTURES / "obama_small.jpg").read_bytes()
MP4 = (FIXTURES / "short_hamilton_clip.mp4").read_bytes()
CHANNEL = "akorda_fakes"


@pytest.fixture
def fake() -> FakeTelegramClient:
    return FakeTelegramClient()


@pytest.fixture
def gateway(fake: FakeTelegramClient) -> Iterator[TelegramGateway]:
    with TelegramGateway(lambda: fake) as running:
        yield running


class Clock:
    """Monotonic seconds for the account's flood limiter, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clocked_gateway(fake: FakeTelegramClient) -> Iterator[tuple[TelegramGateway, Clock]]:
    clock = Clock()
    with TelegramGateway(lambda: fake, limiter=FloodLimiter(clock)) as running:
        yield running, clock


class Sleeps:
    """The injected `sleep`: records how long the source asked to wait instead of waiting."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def make_source(gateway: TelegramGateway | None, channel: str = CHANNEL, sleep: Sleeps | None = None) -> TelegramSource:
    config = TelegramConfig(channel=channel)
    return TelegramSource(config, SourceContext(telegram_client=gateway), sleep=sleep or Sleeps())


def fetch(source: TelegramSource, cursor: str | None, limit: int = 50) -> list[FetchedPost]:
    return list(source.fetch(cursor, limit))


def download(source: TelegramSource, post: FetchedPost, index: int = 0, max_bytes: int = 10_000_000) -> bytes:
    dest = io.BytesIO()
    source.download(post.media[index], dest, max_bytes)
    return dest.getvalue()


# Configuration


@pytest.mark.parametrize(
    "given",
    [
        "akorda_fakes",
        "@akorda_fakes",
        "@Akorda_Fakes",
        " https://t.me/akorda_fakes ",
        "t.me/s/akorda_fakes",
        "https://telegram.me/akorda_fakes/",
        "https://t.me/akorda_fakes/1234",
    ],
)
def test_config_accepts_usernames_and_links_and_normalises_them(given: str) -> None:
    assert TelegramConfig(channel=given).channel == "akorda_fakes"
    assert TelegramConfig.model_validate({"kind": "telegram", "channel": given}).kind == "telegram"


@pytest.mark.parametrize("given", ["", "ab", "1channel", "https://example.com/akorda", "akorda fakes", "trailing_"])
def test_config_refuses_what_is_not_a_channel_username(given: str) -> None:
    with pytest.raises(ValidationError, match="is not a Telegram channel"):
        TelegramConfig(channel=given)


def test_config_refuses_invite_links_saying_why() -> None:
    with pytest.raises(ValidationError, match="invite link"):
        TelegramConfig(channel="https://t.me/+AbCdEf123456")


def test_the_source_satisfies_the_source_protocol(gateway: TelegramGateway) -> None:
    assert isinstance(make_source(gateway), Source)


# Reading posts


def test_fetch_yields_posts_after_the_cursor_oldest_first(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    channel = fake.add_channel(CHANNEL, "Akorda fakes")
    ids = [channel.post(f"post {n}") for n in range(1, 6)]
    source = make_source(gateway)

    posts = fetch(source, str(ids[1]))

    assert [post.message_id for post in posts] == ids[2:]
    assert [post.text for post in posts] == ["post 3", "post 4", "post 5"]
    assert posts[0].date < posts[1].date < posts[2].date
    assert posts[0].date.tzinfo is not None
    assert posts[0].channel == CHANNEL
    assert posts[0].permalink == f"https://t.me/{CHANNEL}/{ids[2]}"
    assert posts[0].media == ()
    assert fetch(source, posts[-1].cursor) == []


def test_fetching_in_small_pages_neither_repeats_nor_skips(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    channel = fake.add_channel(CHANNEL)
    ids = [channel.post(f"post {n}") for n in range(1, 8)]
    source = make_source(gateway)
    cursor = "0"
    seen: list[int] = []

    while page := fetch(source, cursor, limit=3):
        assert len(page) <= 3
        seen += [post.message_id for post in page]
        cursor = page[-1].cursor

    assert seen == ids


def test_a_new_watch_starts_from_the_latest_posts(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    channel = fake.add_channel(CHANNEL)
    ids = [channel.post(f"post {n}") for n in range(1, 7)]

    posts = fetch(make_source(gateway), None, limit=3)

    assert [post.message_id for post in posts] == ids[3:]


def test_posts_arriving_later_are_fetched_from_the_stored_cursor(
    fake: FakeTelegramClient, gateway: TelegramGateway
) -> None:
    channel = fake.add_channel(CHANNEL)
    channel.post("before the watch")
    source = make_source(gateway)
    first = fetch(source, None)
    newer = [channel.post("new one"), channel.post("newer one")]

    later = fetch(source, first[-1].cursor)

    assert [post.message_id for post in later] == newer


def test_service_messages_are_not_posts(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    channel = fake.add_channel(CHANNEL)
    first = channel.post("pinned soon")
    channel.pin(first)
    last = channel.post("after the pin")

    posts = fetch(make_source(gateway), "0")

    assert [post.message_id for post in posts] == [first, last]


def test_a_run_of_service_messages_does_not_stall_the_cursor(
    fake: FakeTelegramClient, gateway: TelegramGateway
) -> None:
    channel = fake.add_channel(CHANNEL)
    first = channel.post("pinned many times")
    for _ in range(5):
        channel.pin(first)
    last = channel.post("finally news")

    posts = fetch(make_source(gateway), str(first), limit=1)

    assert [post.message_id for post in posts] == [last]


# Albums


def test_an_album_is_one_post_with_all_its_media(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    channel = fake.add_channel(CHANNEL)
    before = channel.post("before")
    album = channel.post_album([photo(JPEG), video(MP4), photo(JPEG)], "Minister calls for mobilisation")
    after = channel.post("after")
    source = make_source(gateway)

    posts = fetch(source, str(before))

    assert [post.message_id for post in posts] == [album[-1], after]
    album_post = posts[0]
    assert album_post.text == "Minister calls for mobilisation"
    assert album_post.permalink == f"https://t.me/{CHANNEL}/{album[0]}"
    assert [media.kind for media in album_post.media] == [MediaKind.PHOTO, MediaKind.VIDEO, MediaKind.PHOTO]
    assert len({media.locator for media in album_post.media}) == 3
    assert [post.message_id for post in fetch(source, album_post.cursor)] == [after]


def test_an_album_is_never_split_by_the_limit(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    channel = fake.add_channel(CHANNEL)
    first = channel.post("text")
    album = channel.post_album([photo(JPEG), photo(JPEG), video(MP4)], "three items")
    last = channel.post("text again")
    source = make_source(gateway)

    one = fetch(source, "0", limit=1)
    two = fetch(source, one[-1].cursor, limit=1)
    three = fetch(source, two[-1].cursor, limit=1)

    assert [post.message_id for post in one] == [first]
    assert [post.message_id for post in two] == [album[-1]]
    assert len(two[0].media) == 3
    assert [post.message_id for post in three] == [last]


def test_a_ten_item_album_comes_whole_even_with_limit_one(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    channel = fake.add_channel(CHANNEL)
    album = channel.post_album([photo(JPEG) for _ in range(10)])

    posts = fetch(make_source(gateway), "0", limit=1)

    assert [post.message_id for post in posts] == [album[-1]]
    assert len(posts[0].media) == 10


def test_a_new_watch_takes_whole_albums_only(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    channel = fake.add_channel(CHANNEL)
    channel.post("old")
    album = channel.post_album([photo(JPEG), photo(JPEG), photo(JPEG)], "album")
    last = channel.post("newest")
    source = make_source(gateway)

    latest_one = fetch(source, None, limit=1)
    latest_two = fetch(source, None, limit=2)

    assert [post.message_id for post in latest_one] == [last]
    assert [post.message_id for post in latest_two] == [album[-1], last]
    assert len(latest_two[0].media) == 3
    assert latest_two[0].permalink.endswith(f"/{album[0]}")


# Media kinds and forwards


def test_media_kinds_are_told_apart(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    channel = fake.add_channel(CHANNEL)
    channel.post("photo", media=photo(JPEG))
    channel.post("video", media=video(MP4, file_name="deepfake.mp4"))
    channel.post("round", media=round_video(MP4))
    channel.post("gif", media=gif(MP4))
    channel.post("file", media=image_file(JPEG, file_name="scan.jpg"))

    posts = fetch(make_source(gateway), "0")

    kinds = {post.text: post.media[0].kind for post in posts}
    assert kinds == {
        "photo": MediaKind.PHOTO,
        "video": MediaKind.VIDEO,
        "round": MediaKind.ROUND_VIDEO,
        "gif": MediaKind.ANIMATION,
        "file": MediaKind.IMAGE_DOCUMENT,
    }
    by_text = {post.text: post.media[0] for post in posts}
    assert by_text["photo"].mime_type == "image/jpeg"
    assert by_text["photo"].size == len(JPEG)
    assert by_text["video"].file_name == "deepfake.mp4"
    assert by_text["video"].size == len(MP4)
    assert by_text["file"].file_name == "scan.jpg"


def test_media_that_is_not_looked_at_leaves_a_post_without_media(
    fake: FakeTelegramClient, gateway: TelegramGateway
) -> None:
    channel = fake.add_channel(CHANNEL)
    channel.post("a voice note", media=voice_note(b"OggS"))
    channel.post("a statement", media=pdf(b"%PDF-1.4"))

    posts = fetch(make_source(gateway), "0")

    assert [(post.text, post.media) for post in posts] == [("a voice note", ()), ("a statement", ())]


def test_a_video_sent_as_a_plain_document_is_a_video_and_downloads(
    fake: FakeTelegramClient, gateway: TelegramGateway
) -> None:
    channel = fake.add_channel(CHANNEL)
    channel.post("from my phone", media=video_as_file(MP4))

    [post] = fetch(make_source(gateway), "0")

    [media] = post.media
    assert (media.kind, media.file_name, media.mime_type, media.skipped) == (
        MediaKind.VIDEO,
        "IMG_0412.MOV",
        "video/quicktime",
        None,
    )
    dest = io.BytesIO()
    make_source(gateway).download(media, dest, 10_000_000)
    assert dest.getvalue() == MP4


def test_stickers_and_heic_files_are_analysed_and_animated_stickers_kept_with_a_reason(
    fake: FakeTelegramClient, gateway: TelegramGateway
) -> None:
    channel = fake.add_channel(CHANNEL)
    channel.post("a static sticker", media=sticker(b"RIFF....WEBP"))
    channel.post("an iPhone photo", media=image_file(b"....ftypheic", file_name="IMG_1.HEIC", mime_type="image/heic"))
    channel.post("an animated sticker", media=animated_sticker(b"\x1f\x8b lottie"))

    posts = {post.text: post.media[0] for post in fetch(make_source(gateway), "0")}

    assert posts["a static sticker"].kind == MediaKind.IMAGE_DOCUMENT and posts["a static sticker"].skipped is None
    assert posts["an iPhone photo"].kind == MediaKind.IMAGE_DOCUMENT
    assert "animated sticker" in posts["an animated sticker"].skipped


def test_links_phone_entities_and_link_previews_are_read_beside_the_text(
    fake: FakeTelegramClient, gateway: TelegramGateway
) -> None:
    channel = fake.add_channel(CHANNEL)
    text = "🔥 Срочно! Подробнее на orda-kz.news-24.ru, звоните 8 (701) 555-12-34, запись по ссылке"
    channel.post(
        text,
        media=web_page(
            "https://orda-kz.news-24.ru/kontrakt",
            site_name="Orda.kz",
            title="Нуртлеу призвала подписать контракт",
            description="Журналист обратилась к читателям",
        ),
        entities=[
            entity(text, "orda-kz.news-24.ru"),
            entity(text, "8 (701) 555-12-34", types.MessageEntityPhone),
            entity(text, "по ссылке", types.MessageEntityTextUrl, url="https://0rda.kz/form"),
        ],
    )
    channel.post_album([photo(JPEG), photo(JPEG)], "Номер: +7 701 555 12 34")

    with_preview, album = fetch(make_source(gateway), "0")

    assert with_preview.text == text and with_preview.media == ()
    assert with_preview.urls == ("orda-kz.news-24.ru", "https://0rda.kz/form", "https://orda-kz.news-24.ru/kontrakt")
    assert with_preview.phone_entities == ("8 (701) 555-12-34",)
    assert with_preview.preview == "Orda.kz\nНуртлеу призвала подписать контракт\nЖурналист обратилась к читателям"
    assert (album.urls, album.phone_entities, album.preview, len(album.media)) == ((), (), "", 2)


def test_forwarded_posts_say_where_they_came_from(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    channel = fake.add_channel(CHANNEL)
    origin = fake.add_channel("real_ministry", "Ministry of Defence")
    channel.post("from a known channel", forwarded=forward_from_channel(origin.id))
    channel.post("from a hidden user", forwarded=forward_from_hidden_user("Aidos K."))
    channel.post("from a channel Telegram did not describe", forwarded=forward_from_channel(777))
    channel.post_album([photo(JPEG), photo(JPEG)], "forwarded album", forwarded=forward_from_channel(origin.id))
    channel.post("own post")

    posts = fetch(make_source(gateway), "0")

    assert [post.forwarded_from for post in posts] == [
        "Ministry of Defence (@real_ministry)",
        "Aidos K.",
        "channel id 777",
        "Ministry of Defence (@real_ministry)",
        None,
    ]


# Downloads


def test_download_writes_the_media_bytes(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    channel = fake.add_channel(CHANNEL)
    channel.post_album([photo(JPEG), video(MP4)], "album")
    source = make_source(gateway)
    [post] = fetch(source, "0")

    assert download(source, post, 0) == JPEG
    assert download(source, post, 1) == MP4


def test_media_declared_too_large_is_refused_before_downloading(
    fake: FakeTelegramClient, gateway: TelegramGateway
) -> None:
    channel = fake.add_channel(CHANNEL)
    channel.post("big", media=video(MP4))
    source = make_source(gateway)
    [post] = fetch(source, "0")
    dest = io.BytesIO()

    with pytest.raises(MediaTooLarge) as raised:
        source.download(post.media[0], dest, max_bytes=100_000)

    assert (raised.value.size, raised.value.limit) == (len(MP4), 100_000)
    assert fake.download_calls == 0
    assert dest.getvalue() == b""


def test_media_larger_than_declared_is_cut_off_at_the_cap(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    channel = fake.add_channel(CHANNEL)
    channel.post("lies about its size", media=video(MP4, declared_size=1_000))
    source = make_source(gateway)
    [post] = fetch(source, "0")
    dest = io.BytesIO()

    with pytest.raises(MediaTooLarge) as raised:
        source.download(post.media[0], dest, max_bytes=200_000)

    assert raised.value.size > 200_000
    assert len(dest.getvalue()) <= 200_000


def test_download_of_a_deleted_message_needs_attention(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    channel = fake.add_channel(CHANNEL)
    message_id = channel.post("soon gone", media=photo(JPEG))
    source = make_source(gateway)
    [post] = fetch(source, "0")
    channel.delete(message_id)

    with pytest.raises(NeedsAttention, match="deleted"):
        download(source, post)


def test_download_refuses_a_locator_it_did_not_make(gateway: TelegramGateway) -> None:
    with pytest.raises(ValueError, match="not a Telegram media locator"):
        make_source(gateway).download(MediaRef(MediaKind.PHOTO, "/tmp/photo.jpg"), io.BytesIO(), 1000)


def test_a_short_flood_wait_before_any_byte_is_waited_out(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    channel = fake.add_channel(CHANNEL)
    channel.post("video", media=video(MP4))
    sleeps = Sleeps()
    source = make_source(gateway, sleep=sleeps)
    [post] = fetch(source, "0")
    fake.fail_next("download_media", errors.FloodWaitError(request=None, capture=4))

    assert download(source, post) == MP4
    assert sleeps.seconds == [4]


def test_a_flood_wait_in_the_middle_of_a_download_reschedules_it(
    fake: FakeTelegramClient, gateway: TelegramGateway
) -> None:
    channel = fake.add_channel(CHANNEL)
    channel.post("video", media=video(MP4))
    sleeps = Sleeps()
    source = make_source(gateway, sleep=sleeps)
    [post] = fetch(source, "0")
    fake.fail_next("download_media", errors.FloodWaitError(request=None, capture=4), after_chunks=2)

    with pytest.raises(RetryLater) as raised:
        download(source, post)

    assert raised.value.seconds == 4
    assert sleeps.seconds == []
    assert download(source, post) == MP4


# Failures


def test_a_short_flood_wait_is_waited_out(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    channel = fake.add_channel(CHANNEL)
    message_id = channel.post("hello")
    fake.fail_next("iter_messages", errors.FloodWaitError(request=None, capture=SHORT_FLOOD_WAIT_SECONDS))
    sleeps = Sleeps()

    posts = fetch(make_source(gateway, sleep=sleeps), "0")

    assert sleeps.seconds == [SHORT_FLOOD_WAIT_SECONDS]
    assert [post.message_id for post in posts] == [message_id]


def test_a_long_flood_wait_reschedules_the_watch(
    fake: FakeTelegramClient, clocked_gateway: tuple[TelegramGateway, Clock]
) -> None:
    gateway, clock = clocked_gateway
    channel = fake.add_channel(CHANNEL)
    message_id = channel.post("hello")
    fake.fail_next("iter_messages", errors.FloodWaitError(request=None, capture=SHORT_FLOOD_WAIT_SECONDS + 1))
    sleeps = Sleeps()
    source = make_source(gateway, sleep=sleeps)

    with pytest.raises(RetryLater) as raised:
        fetch(source, "0")

    assert raised.value.seconds == SHORT_FLOOD_WAIT_SECONDS + 1
    assert sleeps.seconds == []
    clock.now += SHORT_FLOOD_WAIT_SECONDS + 1
    assert [post.message_id for post in fetch(source, "0")] == [message_id]


def test_short_flood_waits_one_after_another_end_in_a_reschedule(
    fake: FakeTelegramClient, gateway: TelegramGateway
) -> None:
    fake.add_channel(CHANNEL).post("hello")
    for _ in range(MAX_SHORT_WAITS_PER_CALL + 1):
        fake.fail_next("get_input_entity", errors.FloodWaitError(request=None, capture=2))
    sleeps = Sleeps()

    with pytest.raises(RetryLater):
        fetch(make_source(gateway, sleep=sleeps), "0")

    assert sleeps.seconds == [2] * MAX_SHORT_WAITS_PER_CALL


def test_a_private_channel_needs_attention(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    fake.add_channel("closed_club", private=True).post("members only")

    with pytest.raises(NeedsAttention, match="@closed_club is private"):
        fetch(make_source(gateway, "closed_club"), "0")


def test_an_unknown_username_needs_attention(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    fake.add_channel(CHANNEL).post("hello")

    with pytest.raises(NeedsAttention, match="no public Telegram channel is called @nobody_here"):
        fetch(make_source(gateway, "nobody_here"), "0")
    assert len(fetch(make_source(gateway), "0")) == 1


def test_a_username_telegram_calls_invalid_needs_attention(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    fake.fail_next("get_input_entity", errors.UsernameInvalidError(request=None))

    with pytest.raises(NeedsAttention, match="no public Telegram channel"):
        fetch(make_source(gateway), "0")


def test_a_user_account_is_not_a_channel(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    fake.add_user("aidos_k", "Aidos")

    with pytest.raises(NeedsAttention, match="not a channel"):
        fetch(make_source(gateway, "aidos_k"), "0")


def test_a_revoked_session_needs_attention(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    fake.add_channel(CHANNEL).post("hello")
    fake.fail_next("iter_messages", errors.AuthKeyUnregisteredError(request=None))

    with pytest.raises(NeedsAttention, match="log in again"):
        fetch(make_source(gateway), "0")


def test_without_a_telegram_account_the_watch_needs_attention() -> None:
    source = make_source(None)

    with pytest.raises(NeedsAttention) as raised:
        fetch(source, "0")
    assert raised.value.reason == NO_ACCOUNT_REASON
    with pytest.raises(NeedsAttention):
        source.download(MediaRef(MediaKind.PHOTO, f"{CHANNEL}/1"), io.BytesIO(), 1000)


@pytest.mark.parametrize(
    "failure",
    [
        ConnectionError("Cannot send requests while disconnected"),
        OSError("Network is unreachable"),
        TimeoutError(),
        errors.ServerError(request=None, message="INTERNAL", code=500),
    ],
    ids=["disconnected", "network", "timeout", "server"],
)
def test_passing_failures_retry_later(fake: FakeTelegramClient, gateway: TelegramGateway, failure: Exception) -> None:
    fake.add_channel(CHANNEL).post("hello")
    fake.fail_next("iter_messages", failure)
    source = make_source(gateway)

    with pytest.raises(RetryLater) as raised:
        fetch(source, "0")

    assert raised.value.seconds > 0
    assert len(fetch(source, "0")) == 1


def test_a_corrupt_cursor_needs_attention(gateway: TelegramGateway) -> None:
    with pytest.raises(NeedsAttention, match="not a Telegram message id"):
        fetch(make_source(gateway), "post-12")


def test_watches_in_several_worker_threads_share_the_client(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    channels = {name: fake.add_channel(name) for name in ("first_chan", "second_chan", "third_chan", "fourth_chan")}
    expected = {name: [channel.post(f"{name} {n}") for n in range(3)] for name, channel in channels.items()}

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(
            zip(channels, pool.map(lambda name: fetch(make_source(gateway, name), "0"), channels), strict=True)
        )

    assert {name: [post.message_id for post in posts] for name, posts in results.items()} == expected
    assert fake.call_threads == {gateway.thread.ident}


# The gateway


def test_the_gateway_runs_coroutines_on_its_own_loop_thread(fake: FakeTelegramClient) -> None:
    threads_before = set(threading.enumerate())
    gateway = TelegramGateway(lambda: fake)

    async def where_am_i() -> tuple[int, bool]:
        return threading.get_ident(), asyncio.get_running_loop().is_running()

    ident, loop_running = gateway.run(where_am_i())
    assert ident == gateway.thread.ident != threading.get_ident()
    assert loop_running
    assert gateway.thread.is_alive()

    gateway.close()

    assert not gateway.thread.is_alive()
    assert set(threading.enumerate()) == threads_before
    assert not fake.is_connected()
    with pytest.raises(RuntimeError, match="closed"):
        gateway.run(where_am_i())
    gateway.close()


def test_the_gateway_passes_exceptions_and_times_out_slow_calls(gateway: TelegramGateway) -> None:
    async def fails() -> None:
        raise LookupError("from the loop")

    async def never_done() -> None:
        await asyncio.Event().wait()

    async def answer() -> int:
        return 42

    with pytest.raises(LookupError, match="from the loop"):
        gateway.run(fails())
    with pytest.raises(TimeoutError, match="longer than"):
        gateway.run(never_done(), timeout=0.05)
    assert gateway.run(answer()) == 42


def test_a_real_telethon_client_is_built_on_the_gateway_loop_and_closed_cleanly() -> None:
    threads_before = set(threading.enumerate())

    with TelegramGateway(lambda: build_client(12345, "0123456789abcdef0123456789abcdef", "")) as gateway:
        assert isinstance(gateway.client, TelegramClient)
        assert gateway.client.flood_sleep_threshold == 0

    assert set(threading.enumerate()) == threads_before


def test_a_broken_session_string_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="impwatch telegram login"):
        build_client(12345, "0123456789abcdef0123456789abcdef", "not a session")


def test_login_asks_for_code_and_password_and_returns_a_session_string() -> None:
    fake = FakeTelegramClient(authorised=False, login_code="24680", password="hunter2")
    threads_before = set(threading.enumerate())
    asked: list[tuple[str, int]] = []

    def code() -> str:
        asked.append(("code", threading.get_ident()))
        return "24680"

    def password() -> str:
        asked.append(("password", threading.get_ident()))
        return "hunter2"

    session = login(
        12345,
        "0123456789abcdef",
        "+77010000000",
        code_callback=code,
        password_callback=password,
        client_factory=lambda: fake,
    )

    assert [what for what, _ in asked] == ["code", "password"]
    assert not {thread for _, thread in asked} & (fake.call_threads | {threading.get_ident()})
    assert StringSession(session).auth_key is not None
    assert set(threading.enumerate()) == threads_before
    assert isinstance(build_client(12345, "0123456789abcdef0123456789abcdef", session), TelegramClient)


def test_login_with_a_wrong_password_fails() -> None:
    fake = FakeTelegramClient(authorised=False, login_code="24680", password="hunter2")

    with pytest.raises(errors.PasswordHashInvalidError):
        login(
            12345,
            "0123456789abcdef",
            "+77010000000",
            code_callback=lambda: "24680",
            password_callback=lambda: "wrong",
            client_factory=lambda: fake,
        )


def test_history_is_read_from_offset_date_oldest_first_and_resumed(
    fake: FakeTelegramClient, gateway: TelegramGateway
) -> None:
    channel = fake.add_channel(CHANNEL)
    ids = [channel.post(f"post {n}") for n in range(1, 251)]
    since = channel.messages[ids[9]].date  # offset_date is exclusive: the history starts with post 11

    first = make_source(gateway).fetch_history(since, None, max_pages=1)

    assert [p.text for p in first.posts][:2] == ["post 11", "post 12"] and len(first.posts) == 100
    assert (first.position, first.complete) == (str(ids[109]), False)
    rest = make_source(gateway).fetch_history(since, first.position, max_pages=2)
    assert rest.posts[0].text == "post 111" and rest.posts[-1].text == "post 250"
    assert rest.complete


def test_a_long_flood_wait_on_one_watch_holds_every_watch_of_the_account_until_it_is_over(
    fake: FakeTelegramClient, clocked_gateway: tuple[TelegramGateway, Clock]
) -> None:
    gateway, clock = clocked_gateway
    fake.add_channel(CHANNEL).post("first channel")
    fake.add_channel("second_fakes").post("second channel")
    fake.fail_next("iter_messages", errors.FloodWaitError(request=None, capture=600))
    first, second = make_source(gateway), make_source(gateway, "second_fakes")

    with pytest.raises(RetryLater) as flooded:
        fetch(first, "0")
    requests_before = list(fake.requests)
    clock.now += 590
    with pytest.raises(RetryLater) as held:
        fetch(second, "0")

    assert flooded.value.seconds == 600
    assert 9 <= held.value.seconds <= 10 and "waiting out a flood wait" in held.value.reason
    assert fake.requests == requests_before, "no request went out during the wait"
    clock.now += 10
    assert [post.text for post in fetch(second, "0")] == ["second channel"]
    assert [post.text for post in fetch(first, "0")] == ["first channel"]


def test_a_connection_telethon_gave_up_on_is_made_again(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    fake.add_channel(CHANNEL).post("hello")
    fake.require_connection = True
    gateway.run(fake.connect())
    gateway.run(fake.disconnect())  # what Telethon does after its connection_retries

    assert [post.text for post in fetch(make_source(gateway), "0")] == ["hello"]
    assert fake.is_connected()
    fake.fail_next("iter_messages", ConnectionError("Cannot send requests while disconnected"), drop=True)
    assert [post.text for post in fetch(make_source(gateway), "0")] == ["hello"]


def test_recent_posts_are_read_again_as_edited(fake: FakeTelegramClient, gateway: TelegramGateway) -> None:
    channel = fake.add_channel(CHANNEL)
    old = channel.post("old", media=photo(JPEG))
    recent = channel.post("recent", media=photo(JPEG))
    since = channel.messages[old].date  # exclusive: only the recent post is in the window
    before = fetch(make_source(gateway), "0")[1].media[0]
    channel.edit(recent, video_as_file(MP4))

    [edited] = make_source(gateway).fetch_recent(since, max_pages=1)

    assert edited.message_id == recent
    [media] = edited.media
    assert (media.locator, media.kind, media.size) == (before.locator, MediaKind.VIDEO, len(MP4))
    assert media.size != before.size
