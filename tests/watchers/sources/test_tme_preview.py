"""The `tme_preview` source against a local server serving realistic t.me/s pages."""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import urlsplit

import httpx
import pydantic
import pytest

from tests.support import fixture_bytes
from tests.watchers.sources.tme_pages import POSTER_BYTES, CannedResponse, ChannelServer, LinkPreview
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
from watchers.sources.tme_preview import Config, TmePreviewConfig, TmePreviewSource

CHANNEL = "press_office"
OBAMA = fixture_bytes("obama_small.jpg")
BIDEN = fixture_bytes("biden.jpg")
CLIP = fixture_bytes("short_hamilton_clip.mp4")


@pytest.fixture
def server() -> Iterator[ChannelServer]:
    with ChannelServer() as running:
        yield running


def make_source(base_url: str, channel: str = CHANNEL, *, timeout: float = 10.0) -> TmePreviewSource:
    context = SourceContext(tme_base_url=base_url, http_timeout_seconds=timeout, user_agent="impwatch-test/1")
    return TmePreviewSource(TmePreviewConfig(channel=channel), context)


def fetch_all(source: TmePreviewSource, cursor: str | None, limit: int = 1000) -> list[FetchedPost]:
    return list(source.fetch(cursor, limit))


def download(source: TmePreviewSource, media: MediaRef, max_bytes: int = 10_000_000) -> bytes:
    buffer = io.BytesIO()
    source.download(media, buffer, max_bytes)
    return buffer.getvalue()


@dataclass
class PublishedChannel:
    """Ids of a channel holding one post of each shape, followed by enough text posts to fill two more pages."""

    photo: int
    video: int
    text_only: int
    forwarded: int
    album: int
    service: int
    round_video: int
    too_big_video: int
    no_date: int
    fillers: list[int]

    def post_ids(self) -> list[int]:
        special = [self.photo, self.video, self.text_only, self.forwarded, self.album, self.round_video]
        return sorted([*special, self.too_big_video, *self.fillers])


POST_DATE = datetime(2024, 6, 3, 8, 15, tzinfo=UTC)


def publish_channel(server: ChannelServer, fillers: int = 30) -> PublishedChannel:
    return PublishedChannel(
        photo=server.add_post(CHANNEL, "Minister's address", photo=OBAMA, date=POST_DATE),
        video=server.add_post(CHANNEL, "Watch the statement", video=CLIP),
        text_only=server.add_post(CHANNEL, "Line one\nLine two"),
        forwarded=server.add_post(CHANNEL, "Sign the contract", photo=BIDEN, forwarded_from="Ministry Official"),
        album=server.add_post(CHANNEL, "Three from the march", photos=[OBAMA, BIDEN], videos=[CLIP]),
        service=server.add_service_message(CHANNEL, "Channel photo updated"),
        round_video=server.add_post(CHANNEL, round_video=CLIP),
        too_big_video=server.add_post(CHANNEL, "Full speech", unsupported_video=True),
        no_date=server.add_post(CHANNEL, "This one lost its date", photo=OBAMA, omit_date=True),
        fillers=[server.add_post(CHANNEL, f"Update {n}") for n in range(fillers)],
    )


def by_id(posts: list[FetchedPost]) -> dict[int, FetchedPost]:
    return {post.message_id: post for post in posts}


# --- configuration ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    [
        "press_office",
        "@press_office",
        "t.me/press_office",
        "https://t.me/press_office",
        "https://t.me/s/press_office",
        "https://t.me/s/press_office/",
        "http://telegram.me/press_office?before=20",
        "  @press_office  ",
    ],
)
def test_config_accepts_the_usual_ways_of_naming_a_channel(reference: str) -> None:
    assert TmePreviewConfig(channel=reference).channel == "press_office"


@pytest.mark.parametrize(
    "reference",
    [
        "abcd",
        "a" * 33,
        "press office",
        "https://t.me/+AbCdEf123",
        "https://t.me/joinchat/AAAAAE",
        "",
        "@",
        "пресс_служба",
    ],
)
def test_config_refuses_what_is_not_a_public_channel_username(reference: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="not a public channel username"):
        TmePreviewConfig(channel=reference)


def test_config_is_keyed_by_its_kind_and_exposed_for_the_registry() -> None:
    config = Config.model_validate({"kind": "tme_preview", "channel": "@press_office"})
    assert config.kind == "tme_preview"
    with pytest.raises(pydantic.ValidationError):
        Config.model_validate({"kind": "folder", "channel": "press_office"})
    with pytest.raises(pydantic.ValidationError):
        Config.model_validate({"kind": "tme_preview", "channel": "press_office", "chanel": "typo"})


def test_the_source_satisfies_the_source_protocol(server: ChannelServer) -> None:
    assert isinstance(make_source(server.base_url), Source)


# --- reading posts ---------------------------------------------------------------------------------------------


def test_reading_from_the_start_pages_back_through_the_whole_channel(server: ChannelServer) -> None:
    published = publish_channel(server)

    posts = fetch_all(make_source(server.base_url), cursor="0")

    assert [post.message_id for post in posts] == published.post_ids()
    assert any("before=" in request for request in server.page_requests(CHANNEL))


def test_each_post_shape_is_read_with_its_text_date_and_media(server: ChannelServer) -> None:
    published = publish_channel(server)

    posts = by_id(fetch_all(make_source(server.base_url), cursor="0"))

    photo = posts[published.photo]
    assert photo.text == "Minister's address"
    assert photo.date == POST_DATE
    assert photo.channel == CHANNEL
    assert photo.permalink == f"https://t.me/{CHANNEL}/{published.photo}"
    assert [media.kind for media in photo.media] == [MediaKind.PHOTO]
    assert [media.kind for media in posts[published.video].media] == [MediaKind.VIDEO]
    assert posts[published.text_only].text == "Line one\nLine two"
    assert posts[published.text_only].media == ()
    assert posts[published.forwarded].forwarded_from == "Ministry Official"
    assert posts[published.photo].forwarded_from is None
    assert [media.kind for media in posts[published.round_video].media] == [MediaKind.ROUND_VIDEO]


def test_an_album_is_one_post_with_all_its_media(server: ChannelServer) -> None:
    published = publish_channel(server)

    posts = by_id(fetch_all(make_source(server.base_url), cursor="0"))

    album = posts[published.album]
    assert [media.kind for media in album.media] == [MediaKind.PHOTO, MediaKind.PHOTO, MediaKind.VIDEO]
    assert album.text == "Three from the march"
    assert published.album + 1 not in posts and published.album + 2 not in posts


def test_service_messages_and_undated_messages_are_not_posts(server: ChannelServer) -> None:
    published = publish_channel(server)

    posts = by_id(fetch_all(make_source(server.base_url), cursor="0"))

    assert published.service not in posts
    assert published.no_date not in posts
    assert published.no_date + 1 in posts


def test_a_video_too_large_to_preview_is_its_poster_with_the_reason_it_was_not_fetched(server: ChannelServer) -> None:
    published = publish_channel(server)

    post = by_id(fetch_all(make_source(server.base_url), cursor="0"))[published.too_big_video]

    assert post.text == "Full speech"
    [media] = post.media
    assert (media.kind, media.poster_only, media.origin) == (MediaKind.VIDEO, True, f"{CHANNEL}/{post.message_id}")
    assert "Media is too big" in media.not_fetched and "42:17" in media.not_fetched
    assert "only its poster was analysed" in media.not_fetched
    assert download(make_source(server.base_url), media) == POSTER_BYTES


def test_a_round_video_without_a_player_source_is_its_poster(server: ChannelServer) -> None:
    message_id = server.add_post(CHANNEL, unsupported_round_video=True, poster=OBAMA)

    [post] = fetch_all(make_source(server.base_url), cursor=str(message_id - 1))

    [media] = post.media
    assert (media.kind, media.poster_only) == (MediaKind.ROUND_VIDEO, True)
    assert "round video (0:58) was not fetched" in media.not_fetched
    assert download(make_source(server.base_url), media) == OBAMA


def test_a_block_the_preview_hides_is_media_with_nothing_to_fetch_and_its_label(server: ChannelServer) -> None:
    message_id = server.add_post(CHANNEL, "See in the app", hidden_media=True)

    [post] = fetch_all(make_source(server.base_url), cursor=str(message_id - 1))

    [media] = post.media
    assert (media.locator, media.poster_only) == ("", False)
    assert media.not_fetched == "t.me preview: Please open Telegram to view this post"


def test_an_album_with_a_video_too_big_keeps_every_item_in_order(server: ChannelServer) -> None:
    first = server.add_post(CHANNEL, "March", photos=[OBAMA, BIDEN], unsupported_video=True)

    [post] = fetch_all(make_source(server.base_url), cursor=str(first - 1))

    assert [(media.kind, media.poster_only) for media in post.media] == [
        (MediaKind.PHOTO, False),
        (MediaKind.PHOTO, False),
        (MediaKind.VIDEO, True),
    ]
    assert post.media[2].origin == f"{CHANNEL}/{first + 2}"


def test_with_a_telegram_account_a_video_too_big_is_fetched_whole_through_it(server: ChannelServer) -> None:
    message_id = server.add_post(CHANNEL, "Full speech", unsupported_video=True)
    context = SourceContext(tme_base_url=server.base_url, telegram_client=object())

    [post] = list(TmePreviewSource(TmePreviewConfig(channel=CHANNEL), context).fetch(str(message_id - 1), 10))

    [media] = post.media
    assert (media.locator, media.poster_only, media.not_fetched) == (
        f"telegram:{CHANNEL}/{message_id}",
        False,
        None,
    )


def test_dates_are_timezone_aware(server: ChannelServer) -> None:
    publish_channel(server, fillers=2)

    posts = fetch_all(make_source(server.base_url), cursor="0")

    assert posts and all(post.date.utcoffset() == timedelta(0) for post in posts)


def test_a_date_without_an_offset_is_read_as_utc(server: ChannelServer) -> None:
    server.add_post(CHANNEL, "naive", date=datetime(2024, 6, 3, 8, 15))

    post = fetch_all(make_source(server.base_url), cursor=None)[0]

    assert post.date == datetime(2024, 6, 3, 8, 15, tzinfo=UTC)


def test_formatted_text_becomes_plain_text_with_line_breaks(server: ChannelServer) -> None:
    message_id = server.add_post(
        CHANNEL,
        text_html=(
            '<b>Urgent</b> &amp; official<br/><i class="emoji" style="background-image:url(\'//telegram.org/img/'
            'emoji/40/F09F94A5.png\')"><b>🔥</b></i> read <a href="https://example.org/" target="_blank">'
            "the decree</a><br>now"
        ),
    )

    post = fetch_all(make_source(server.base_url), cursor=None)[0]

    assert post.message_id == message_id
    assert post.text == "Urgent & official\n🔥 read the decree\nnow"


def test_links_phone_entities_and_the_link_preview_are_read_beside_the_text(server: ChannelServer) -> None:
    server.add_post(
        CHANNEL,
        text_html=(
            'Толығырақ: <a href="https://orda-kz.news-24.ru/2024/05/kontrakt" target="_blank" rel="noopener">'
            'сайтта</a><br/>Байланыс: <a href="tel:+77015551234">+7 701 555 12 34</a> '
            '<a href="?q=%23%D0%BF%D0%BE%D0%BB%D0%BA">#полк</a> <a href="https://t.me/akimat_news">@akimat_news</a>'
        ),
        link_preview=LinkPreview(
            url="https://orda-kz.news-24.ru/2024/05/kontrakt",
            site_name="Orda.kz",
            title="Айгерим Нұртілеу: «Келісімшартқа қол қойыңыз»",
            description="Журналист әскери келісімшартқа шақырды",
            image=True,
        ),
    )

    post = fetch_all(make_source(server.base_url), cursor=None)[0]

    assert post.text == "Толығырақ: сайтта\nБайланыс: +7 701 555 12 34 #полк @akimat_news"
    assert post.urls == ("https://orda-kz.news-24.ru/2024/05/kontrakt", "https://t.me/akimat_news")
    assert post.phone_entities == ("+77015551234",)
    assert post.preview == (
        "Orda.kz\nАйгерим Нұртілеу: «Келісімшартқа қол қойыңыз»\nЖурналист әскери келісімшартқа шақырды"
    )
    assert post.media == ()


def test_a_link_preview_without_text_is_still_read(server: ChannelServer) -> None:
    server.add_post(CHANNEL, link_preview=LinkPreview(url="https://0rda.kz/a", title="Срочно"))

    post = fetch_all(make_source(server.base_url), cursor=None)[0]

    assert (post.text, post.urls, post.preview, post.phone_entities) == ("", ("https://0rda.kz/a",), "Срочно", ())


def test_a_reply_has_its_own_text_not_the_quoted_one(server: ChannelServer) -> None:
    original = server.add_post(CHANNEL, "The original announcement")
    reply = server.add_post(CHANNEL, "A correction", reply_to=original)

    posts = by_id(fetch_all(make_source(server.base_url), cursor=None))

    assert posts[reply].text == "A correction"
    assert posts[original].text == "The original announcement"


def test_forwarded_from_a_linked_channel_gives_its_name(server: ChannelServer) -> None:
    server.add_post(CHANNEL, "Repost", forwarded_from="Akimat News", forwarded_from_url="https://t.me/akimat/77")

    post = fetch_all(make_source(server.base_url), cursor=None)[0]

    assert post.forwarded_from == "Akimat News"


# --- cursor and limit ------------------------------------------------------------------------------------------


def test_a_new_watch_reads_only_the_newest_page(server: ChannelServer) -> None:
    published = publish_channel(server)

    posts = fetch_all(make_source(server.base_url), cursor=None)

    assert [post.message_id for post in posts] == published.fillers[-20:]
    assert server.page_requests(CHANNEL) == [f"/s/{CHANNEL}"]


def test_resuming_from_a_cursor_yields_only_newer_posts(server: ChannelServer) -> None:
    published = publish_channel(server)
    cursor = published.album

    posts = fetch_all(make_source(server.base_url), cursor=str(cursor))

    assert [post.message_id for post in posts] == [i for i in published.post_ids() if i > cursor]


def test_resuming_after_new_posts_yields_each_post_once(server: ChannelServer) -> None:
    publish_channel(server, fillers=5)
    source = make_source(server.base_url)
    first_run = fetch_all(source, cursor="0")

    newer = [server.add_post(CHANNEL, f"Breaking {n}", photo=OBAMA) for n in range(25)]
    second_run = fetch_all(source, cursor=first_run[-1].cursor)
    third_run = fetch_all(source, cursor=second_run[-1].cursor)

    assert [post.message_id for post in second_run] == newer
    assert third_run == []


def test_limit_yields_the_oldest_posts_first_so_the_next_run_continues(server: ChannelServer) -> None:
    published = publish_channel(server)
    source = make_source(server.base_url)

    seen: list[int] = []
    cursor = "0"
    for _ in range(50):
        batch = fetch_all(source, cursor=cursor, limit=7)
        if not batch:
            break
        assert len(batch) <= 7
        seen += [post.message_id for post in batch]
        cursor = batch[-1].cursor

    assert seen == published.post_ids()


def test_limit_on_a_new_watch_takes_the_oldest_of_the_newest_page(server: ChannelServer) -> None:
    published = publish_channel(server)
    source = make_source(server.base_url)

    first = fetch_all(source, cursor=None, limit=5)
    rest = fetch_all(source, cursor=first[-1].cursor)

    assert [post.message_id for post in first] == published.fillers[-20:-15]
    assert [post.message_id for post in rest] == published.fillers[-15:]


def test_a_deleted_cursor_post_still_resumes_right_after_it(server: ChannelServer) -> None:
    published = publish_channel(server)
    cursor = published.fillers[3]
    server.delete_post(CHANNEL, cursor)

    posts = fetch_all(make_source(server.base_url), cursor=str(cursor))

    assert [post.message_id for post in posts] == published.fillers[4:]


def test_a_cursor_that_is_not_a_message_id_needs_attention(server: ChannelServer) -> None:
    publish_channel(server, fillers=1)

    with pytest.raises(NeedsAttention, match=r"not a t\.me message id"):
        fetch_all(make_source(server.base_url), cursor="latest")


def test_an_empty_public_channel_has_no_posts(server: ChannelServer) -> None:
    server.add_channel("quiet_channel")

    assert fetch_all(make_source(server.base_url, "quiet_channel"), cursor=None) == []
    assert fetch_all(make_source(server.base_url, "quiet_channel"), cursor="0") == []


def test_pages_are_requested_with_the_configured_user_agent(server: ChannelServer) -> None:
    publish_channel(server, fillers=1)

    fetch_all(make_source(server.base_url), cursor=None)

    assert server.user_agents == ["impwatch-test/1"]


# --- malformed pages -------------------------------------------------------------------------------------------


def unclosed_message_with_a_bad_date(message_id: int) -> str:
    return (
        f'<div class="tgme_widget_message_wrap"><div class="tgme_widget_message" data-post="{CHANNEL}/{message_id}">'
        '<a class="tgme_widget_message_date"><time datetime="yesterday-ish">?</time></a>'
        '<p>unclosed <b>tags <a class="tgme_widget_message_photo_wrap" style="background-image:url(">'
    )


def unclosed_message_without_a_date(message_id: int) -> str:
    """Never closed: the messages after it end up nested inside it, and must not be mistaken for its parts."""
    return f'<div class="tgme_widget_message_wrap"><div class="tgme_widget_message" data-post="{CHANNEL}/{message_id}">'


def test_garbage_blocks_do_not_hide_the_rest_of_the_page(server: ChannelServer) -> None:
    before = server.add_post(CHANNEL, "Before the garbage")
    server.add_raw_message(CHANNEL, unclosed_message_with_a_bad_date)
    server.add_raw_message(CHANNEL, lambda _: '<div class="tgme_widget_message" data-post="no-id-here">')
    server.add_raw_message(CHANNEL, lambda _: "</section></main>\x00<<<>>>&&&;</div></div></div>")
    server.add_raw_message(CHANNEL, unclosed_message_without_a_date)
    after = server.add_post(CHANNEL, "After the garbage", photo=OBAMA, date=POST_DATE)

    posts = fetch_all(make_source(server.base_url), cursor="0")

    assert [(post.message_id, post.text) for post in posts] == [
        (before, "Before the garbage"),
        (after, "After the garbage"),
    ]
    assert posts[1].date == POST_DATE
    assert [media.kind for media in posts[1].media] == [MediaKind.PHOTO]


def test_paging_steps_past_messages_that_cannot_be_read(server: ChannelServer) -> None:
    oldest = server.add_post(CHANNEL, "The oldest post")
    for _ in range(25):
        server.add_post(CHANNEL, "Undated", omit_date=True)
    newest = server.add_post(CHANNEL, "The newest post")

    posts = fetch_all(make_source(server.base_url), cursor="0")

    assert [post.message_id for post in posts] == [oldest, newest]


@pytest.mark.timeout(30)
def test_a_server_ignoring_before_does_not_make_paging_loop_forever(server: ChannelServer) -> None:
    published = publish_channel(server)
    newest_page = httpx.get(f"{server.base_url}/s/{CHANNEL}").content
    server.respond_with(CHANNEL, CannedResponse(200, {"Content-Type": "text/html"}, newest_page), times=1000)
    server.requests.clear()

    posts = fetch_all(make_source(server.base_url), cursor="0")

    assert [post.message_id for post in posts] == published.fillers[-20:]
    assert len(server.page_requests(CHANNEL)) == 2


def test_a_page_that_is_not_a_channel_needs_attention(server: ChannelServer) -> None:
    server.add_channel(CHANNEL)
    server.respond_with(CHANNEL, CannedResponse(200, {"Content-Type": "text/html"}, b"<html><p>Hello</p></html>"))

    with pytest.raises(NeedsAttention, match=f"@{CHANNEL} is not public or does not exist"):
        fetch_all(make_source(server.base_url), cursor=None)


# --- downloads -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("relative_media_urls", [False, True], ids=["absolute-urls", "relative-urls"])
def test_downloads_give_the_bytes_the_server_has(relative_media_urls: bool) -> None:
    with ChannelServer(relative_media_urls=relative_media_urls) as server:
        photo_id = server.add_post(CHANNEL, "photo", photo=OBAMA)
        video_id = server.add_post(CHANNEL, "video", video=CLIP)
        album_id = server.add_post(CHANNEL, "album", photos=[BIDEN, OBAMA])
        source = make_source(server.base_url)
        posts = by_id(fetch_all(source, cursor=None))

        assert download(source, posts[photo_id].media[0]) == OBAMA
        assert download(source, posts[video_id].media[0]) == CLIP
        assert [download(source, media) for media in posts[album_id].media] == [BIDEN, OBAMA]
        assert all(media.locator.startswith(server.base_url) for post in posts.values() for media in post.media)


def test_media_declared_over_the_cap_is_refused_before_reading_it() -> None:
    with ChannelServer(media_content_length=True) as server:
        server.add_post(CHANNEL, "video", video=CLIP)
        source = make_source(server.base_url)
        media = fetch_all(source, cursor=None)[0].media[0]
        dest = io.BytesIO()

        with pytest.raises(MediaTooLarge) as refused:
            source.download(media, dest, max_bytes=100_000)

        assert (refused.value.size, refused.value.limit) == (len(CLIP), 100_000)
        assert dest.getvalue() == b""
        assert download(source, media, max_bytes=len(CLIP)) == CLIP


def test_media_streamed_past_the_cap_without_a_length_is_refused() -> None:
    with ChannelServer(media_content_length=False) as server:
        server.add_post(CHANNEL, "video", video=CLIP)
        source = make_source(server.base_url)
        media = fetch_all(source, cursor=None)[0].media[0]
        dest = io.BytesIO()

        with pytest.raises(MediaTooLarge) as refused:
            source.download(media, dest, max_bytes=100_000)

        assert refused.value.limit == 100_000
        assert refused.value.size > 100_000
        assert 0 < len(dest.getvalue()) <= 100_000
        assert download(source, media, max_bytes=len(CLIP)) == CLIP


def test_media_the_server_no_longer_has_needs_attention(server: ChannelServer) -> None:
    source = make_source(server.base_url)
    gone = MediaRef(kind=MediaKind.PHOTO, locator=f"{server.base_url}/file/expired.jpg")

    with pytest.raises(NeedsAttention, match="not available"):
        download(source, gone)


def test_a_download_rate_limit_is_a_retry(server: ChannelServer) -> None:
    server.add_post(CHANNEL, "photo", photo=OBAMA)
    source = make_source(server.base_url)
    media = fetch_all(source, cursor=None)[0].media[0]
    server.respond_to(urlsplit(media.locator).path, CannedResponse(429, {"Retry-After": "9"}))

    with pytest.raises(RetryLater) as retry:
        download(source, media)

    assert retry.value.seconds == 9
    assert download(source, media) == OBAMA


# --- errors ----------------------------------------------------------------------------------------------------


def test_a_rate_limit_is_retried_after_the_servers_seconds(server: ChannelServer) -> None:
    publish_channel(server, fillers=1)
    server.respond_with(CHANNEL, CannedResponse(429, {"Retry-After": "17"}, b"Too Many Requests"))
    source = make_source(server.base_url)

    with pytest.raises(RetryLater) as retry:
        fetch_all(source, cursor=None)

    assert retry.value.seconds == 17
    assert "429" in retry.value.reason
    assert fetch_all(source, cursor=None) != []


def test_a_rate_limit_given_as_a_date_is_measured_against_the_servers_clock(server: ChannelServer) -> None:
    publish_channel(server, fillers=1)
    retry_at = format_datetime(datetime.fromtimestamp(time.time() + 120, tz=UTC), usegmt=True)
    server.respond_with(CHANNEL, CannedResponse(429, {"Retry-After": retry_at}))

    with pytest.raises(RetryLater) as retry:
        fetch_all(make_source(server.base_url), cursor=None)

    assert 118 <= retry.value.seconds <= 121


def test_a_rate_limit_without_retry_after_waits_a_minute(server: ChannelServer) -> None:
    publish_channel(server, fillers=1)
    server.respond_with(CHANNEL, CannedResponse(429))

    with pytest.raises(RetryLater) as retry:
        fetch_all(make_source(server.base_url), cursor=None)

    assert retry.value.seconds == 60


def test_a_rate_limit_while_paging_back_is_a_retry_and_the_next_run_reads_everything(
    server: ChannelServer,
) -> None:
    published = publish_channel(server)
    server.respond_with(CHANNEL, CannedResponse(429, {"Retry-After": "5"}), after_requests=1)
    source = make_source(server.base_url)

    with pytest.raises(RetryLater) as retry:
        fetch_all(source, cursor="0")

    assert retry.value.seconds == 5
    assert [post.message_id for post in fetch_all(source, cursor="0")] == published.post_ids()


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried_later(server: ChannelServer, status: int) -> None:
    publish_channel(server, fillers=1)
    server.respond_with(CHANNEL, CannedResponse(status, {}, b"<html>oops</html>"))

    with pytest.raises(RetryLater) as retry:
        fetch_all(make_source(server.base_url), cursor=None)

    assert retry.value.seconds == 60
    assert str(status) in retry.value.reason


def test_an_unknown_channel_needs_attention(server: ChannelServer) -> None:
    with pytest.raises(NeedsAttention, match="channel @nobody_here is not public or does not exist"):
        fetch_all(make_source(server.base_url, "nobody_here"), cursor=None)
    assert server.requests == ["/s/nobody_here"]


def test_a_private_channel_needs_attention(server: ChannelServer) -> None:
    server.add_channel("closed_group", public=False)
    server.add_post("closed_group", "secret")

    with pytest.raises(NeedsAttention, match="not public or does not exist"):
        fetch_all(make_source(server.base_url, "closed_group"), cursor="0")


def test_an_unreachable_server_is_retried_later() -> None:
    with ChannelServer() as stopped:
        base_url = stopped.base_url

    with pytest.raises(RetryLater) as retry:
        fetch_all(make_source(base_url), cursor=None)

    assert retry.value.seconds == 60


def test_a_server_that_never_answers_times_out_into_a_retry() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:
        host, port = silent.getsockname()[:2]

        with pytest.raises(RetryLater, match="timed out"):
            fetch_all(make_source(f"http://{host}:{port}", timeout=0.3), cursor=None)


def test_history_pages_back_to_since_a_few_pages_a_run_and_resumes(server: ChannelServer) -> None:
    start = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    ids = [server.add_post(CHANNEL, f"day {n}", date=start + timedelta(days=n)) for n in range(90)]
    since = start + timedelta(days=15)
    source = make_source(server.base_url)

    first = source.fetch_history(since, None, max_pages=2)

    assert [post.message_id for post in first.posts] == ids[50:]
    assert (first.position, first.complete) == (str(ids[50]), False)
    assert len(server.page_requests(CHANNEL)) == 2
    rest = source.fetch_history(since, first.position, max_pages=2)
    assert [post.message_id for post in rest.posts] == ids[15:50]
    assert rest.complete
    assert all(post.date >= since for post in rest.posts)


def test_history_of_a_short_channel_is_complete_at_its_first_message(server: ChannelServer) -> None:
    ids = [server.add_post(CHANNEL, f"post {n}") for n in range(5)]

    batch = make_source(server.base_url).fetch_history(datetime(2020, 1, 1, tzinfo=UTC), None, max_pages=3)

    assert [post.message_id for post in batch.posts] == ids and batch.complete


def test_a_video_too_big_for_the_preview_downloads_whole_through_the_telegram_account(server: ChannelServer) -> None:
    from tests.watchers.sources.fake_telethon import FakeTelegramClient, video
    from watchers.telegram_client import TelegramGateway

    fake = FakeTelegramClient()
    fake.add_channel(CHANNEL).post("Full speech", media=video(CLIP))
    message_id = server.add_post(CHANNEL, "Full speech", unsupported_video=True)
    with TelegramGateway(lambda: fake) as gateway:
        context = SourceContext(tme_base_url=server.base_url, telegram_client=gateway)
        source = TmePreviewSource(TmePreviewConfig(channel=CHANNEL), context)
        [post] = list(source.fetch(str(message_id - 1), 10))

        assert download(source, post.media[0]) == CLIP
