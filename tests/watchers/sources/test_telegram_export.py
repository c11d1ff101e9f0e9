"""The Telegram Desktop export source, against export folders laid out as Telegram Desktop writes them."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta, timezone
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from PIL import Image
from pydantic import ValidationError

from tests.watchers.sources.export_builder import (
    Message,
    animated_sticker,
    animation,
    at,
    build_export,
    document,
    fixture,
    photo,
    round_video,
    sticker,
    video_file,
    voice_message,
)
from watchers.sources.base import (
    FetchedPost,
    MediaAwaitingFile,
    MediaKind,
    MediaTooLarge,
    NeedsAttention,
    Source,
    SourceContext,
)
from watchers.sources.telegram_export import TelegramExportConfig, TelegramExportSource

STATEMENT = [
    "Official statement: ",
    ("bold", "the minister"),
    " calls for ",
    ("text_link", "volunteers", "https://example.kz/news/1"),
    " ",
    ("hashtag", "#news"),
]


def webp_sticker() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (32, 32), (255, 200, 0, 255)).save(buffer, "WEBP")
    return buffer.getvalue()


def channel_export(folder: Path) -> Path:
    """A public channel export with every kind of message the source has to tell apart."""
    clip = fixture("short_hamilton_clip.mp4")
    return build_export(
        folder,
        [
            Message(1, at(2024, 1, 15, 9, 0), service_action="create_channel"),
            Message(2, at(2024, 1, 15, 10, 30), text=STATEMENT, media=photo(fixture("obama_small.jpg"))),
            Message(3, at(2024, 1, 15, 10, 31), text="Interview", media=video_file(clip)),
            Message(4, at(2024, 1, 15, 10, 32), media=animation(clip)),
            Message(5, at(2024, 1, 15, 10, 33), media=round_video(clip)),
            Message(6, at(2024, 1, 15, 10, 34), media=sticker(webp_sticker())),
            Message(7, at(2024, 1, 15, 10, 35), media=document(fixture("biden.jpg"), "IMG_0042.jpg", "image/jpeg")),
            Message(8, at(2024, 1, 15, 10, 36), media=document(b"%PDF-1.4\n%%EOF\n", "decree.pdf", "application/pdf")),
            Message(9, at(2024, 1, 15, 10, 37), text="Photo from the briefing", media=photo(None)),
            Message(
                10,
                at(2024, 1, 15, 10, 38),
                text="Breaking",
                media=photo(fixture("biden.jpg")),
                forwarded_from="Fake Ministry News",
            ),
            Message(11, at(2024, 1, 15, 10, 39), media=voice_message(b"OggS" + bytes(60))),
        ],
    )


def text_messages(first_id: int, count: int) -> list[Message]:
    return [
        Message(i, at(2024, 2, 1) + timedelta(minutes=i), text=f"post {i}") for i in range(first_id, first_id + count)
    ]


def make_source(folder: Path, channel: str | None = None) -> TelegramExportSource:
    return TelegramExportSource(TelegramExportConfig(path=str(folder), channel=channel), SourceContext())


def fetch_all(source: TelegramExportSource, cursor: str | None = None) -> list[FetchedPost]:
    return list(source.fetch(cursor, 10_000))


def by_id(posts: list[FetchedPost]) -> dict[int, FetchedPost]:
    return {post.message_id: post for post in posts}


def downloaded(source: TelegramExportSource, post: FetchedPost, max_bytes: int = 10_000_000) -> bytes:
    dest = io.BytesIO()
    source.download(post.media[0], dest, max_bytes)
    return dest.getvalue()


def test_the_source_meets_the_protocol(tmp_path: Path) -> None:
    assert isinstance(make_source(channel_export(tmp_path / "export")), Source)


def test_posts_carry_photos_videos_animations_round_videos_and_image_documents(tmp_path: Path) -> None:
    posts = fetch_all(make_source(channel_export(tmp_path / "export")))

    kinds = {post.message_id: [media.kind for media in post.media] for post in posts}
    assert kinds == {
        2: [MediaKind.PHOTO],
        3: [MediaKind.VIDEO],
        4: [MediaKind.ANIMATION],
        5: [MediaKind.ROUND_VIDEO],
        6: [MediaKind.IMAGE_DOCUMENT],  # a static sticker
        7: [MediaKind.IMAGE_DOCUMENT],
        8: [],  # a PDF
        9: [MediaKind.PHOTO],  # photo not included in the export: awaiting its file
        10: [MediaKind.PHOTO],
        11: [],  # a voice message
    }


def test_documents_are_told_apart_by_the_rule_every_source_shares(tmp_path: Path) -> None:
    clip = fixture("short_hamilton_clip.mp4")
    folder = build_export(
        tmp_path / "export",
        [
            Message(
                2, at(2024, 4, 1, 9, 0), text="from my phone", media=document(clip, "IMG_0412.MOV", "video/quicktime")
            ),
            Message(
                3,
                at(2024, 4, 1, 9, 1),
                text="iPhone photo",
                media=document(b"....ftypheic", "IMG_1.HEIC", "image/heic"),
            ),
            Message(4, at(2024, 4, 1, 9, 2), text="party", media=animated_sticker(b"\x1f\x8b lottie")),
            Message(5, at(2024, 4, 1, 9, 3), text="a gif file", media=document(b"GIF89a", "funny.gif", "image/gif")),
        ],
    )

    posts = by_id(fetch_all(make_source(folder)))

    assert [(m.kind, m.skipped) for m in posts[2].media] == [(MediaKind.VIDEO, None)]
    assert [m.kind for m in posts[3].media] == [MediaKind.IMAGE_DOCUMENT]
    [sticker_media] = posts[4].media
    assert "animated sticker" in sticker_media.skipped
    assert [m.kind for m in posts[5].media] == [MediaKind.ANIMATION]


def test_service_messages_are_not_posts(tmp_path: Path) -> None:
    posts = fetch_all(make_source(channel_export(tmp_path / "export")))

    assert 1 not in by_id(posts)
    assert [post.message_id for post in posts] == sorted(post.message_id for post in posts)


def test_text_with_entities_becomes_plain_text(tmp_path: Path) -> None:
    posts = by_id(fetch_all(make_source(channel_export(tmp_path / "export"))))

    assert posts[2].text == "Official statement: the minister calls for volunteers #news"
    assert posts[3].text == "Interview"
    assert posts[4].text == ""


def test_text_is_read_from_text_entities_when_text_is_absent(tmp_path: Path) -> None:
    folder = build_export(tmp_path / "export", [Message(1, at(2024, 1, 1), text=STATEMENT, drop=("text",))])

    [post] = fetch_all(make_source(folder))

    assert post.text == "Official statement: the minister calls for volunteers #news"


def test_media_not_included_in_the_export_stays_in_the_post_awaiting_its_file_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = channel_export(tmp_path / "export")
    raw = json.loads((folder / "result.json").read_text(encoding="utf-8"))["messages"]
    assert raw[8]["photo"] == "(File not included. Change data exporting settings to download.)"

    with caplog.at_level(logging.INFO):
        post = by_id(fetch_all(make_source(folder)))[9]

    assert [(media.kind, media.locator) for media in post.media] == [(MediaKind.PHOTO, "message:9")]
    assert post.text == "Photo from the briefing"
    assert "File not included" in caplog.text
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_forwarded_from_is_kept(tmp_path: Path) -> None:
    posts = by_id(fetch_all(make_source(channel_export(tmp_path / "export"))))

    assert posts[10].forwarded_from == "Fake Ministry News"
    assert posts[2].forwarded_from is None


def test_dates_come_from_date_unixtime_as_utc(tmp_path: Path) -> None:
    folder = channel_export(tmp_path / "export")
    raw = json.loads((folder / "result.json").read_text(encoding="utf-8"))["messages"]
    assert raw[1]["date"] == "2024-01-15T15:30:00"  # the exporting computer's local time, UTC+5

    post = by_id(fetch_all(make_source(folder)))[2]

    assert post.date == at(2024, 1, 15, 10, 30)
    assert post.date.utcoffset() == timedelta(0)


def test_an_export_from_before_date_unixtime_is_read_from_its_local_dates(tmp_path: Path) -> None:
    folder = build_export(
        tmp_path / "export",
        [Message(7, at(2021, 6, 1, 8, 0), text=["old ", ("italic", "post")], media=photo(fixture("obama_small.jpg")))],
        legacy=True,
    )
    source = make_source(folder)

    [post] = fetch_all(source)

    assert post.date == at(2021, 6, 1, 13, 0)  # written as local time without an offset: read as UTC
    assert post.text == "old post"
    assert [media.kind for media in post.media] == [MediaKind.PHOTO]
    [note] = source.coverage_notes()
    assert "read as UTC" in note and "timezone" in note


@pytest.mark.parametrize(
    ("zone", "offset"),
    [
        ("Asia/Novosibirsk", timedelta(hours=7)),
        ("Asia/Kolkata", timedelta(hours=5, minutes=30)),
        ("America/Sao_Paulo", timedelta(hours=-3)),
    ],
)
def test_dates_of_an_old_export_are_read_in_the_configured_zone(tmp_path: Path, zone: str, offset: timedelta) -> None:
    folder = build_export(
        tmp_path / "export",
        [Message(7, at(2021, 6, 1, 8, 0), text="old post")],
        legacy=True,
        local_timezone=timezone(offset),
    )
    source = TelegramExportSource(TelegramExportConfig(path=str(folder), timezone=zone), SourceContext())

    [post] = fetch_all(source)

    assert post.date == at(2021, 6, 1, 8, 0)
    assert source.coverage_notes() == [f"this export has no date_unixtime: its dates are read as local time in {zone}"]


def test_an_export_with_date_unixtime_says_nothing_about_zones(tmp_path: Path) -> None:
    source = make_source(channel_export(tmp_path / "export"))
    fetch_all(source)
    assert source.coverage_notes() == []


def test_a_zone_that_is_not_iana_is_refused() -> None:
    with pytest.raises(ValidationError, match="IANA"):
        TelegramExportConfig(path="/exports/x", timezone="GMT+5 Almaty")


def account_export(folder: Path) -> Path:
    """An "Export Telegram data" folder: the account's chats under chats.list, each shaped like a chat export."""
    build_export(
        folder / "one", [Message(3, at(2024, 2, 1, 9, 0), text="fake decree", media=photo(fixture("obama_small.jpg")))]
    )
    build_export(folder / "two", [Message(3, at(2024, 2, 2, 9, 0), text="another chat, same id")], name="Akimat Leaks")
    first = json.loads((folder / "one" / "result.json").read_text(encoding="utf-8"))
    second = json.loads((folder / "two" / "result.json").read_text(encoding="utf-8"))
    second["id"] = 777
    (folder / "photos").mkdir(parents=True)
    for path in (folder / "one" / "photos").iterdir():
        path.rename(folder / "photos" / path.name)
    account = {
        "about": "Here is the data you requested. ...",
        "personal_information": {"user_id": 5555, "first_name": "Researcher"},
        "chats": {"about": "This page lists all chats from this export.", "list": [first, second]},
        "left_chats": {"about": "This page lists all supergroups and channels you've left.", "list": []},
    }
    (folder / "result.json").write_text(json.dumps(account, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.mark.parametrize("chat", ["Kazinform Test", 1234567890, "1234567890"])
def test_a_whole_account_export_is_read_one_chat_at_a_time(tmp_path: Path, chat: object) -> None:
    folder = account_export(tmp_path / "account")
    source = TelegramExportSource(TelegramExportConfig(path=str(folder), chat=chat), SourceContext())

    [post] = fetch_all(source)

    assert (post.text, post.channel, post.message_id) == ("fake decree", "Kazinform Test", 3)
    assert post.permalink.endswith("result.json#chat-1234567890-message-3")
    assert downloaded(source, post) == fixture("obama_small.jpg").read_bytes()
    other = TelegramExportSource(TelegramExportConfig(path=str(folder), chat="Akimat Leaks"), SourceContext())
    assert [p.text for p in fetch_all(other)] == ["another chat, same id"]


def test_a_whole_account_export_without_a_chat_names_its_chats(tmp_path: Path) -> None:
    folder = account_export(tmp_path / "account")

    with pytest.raises(NeedsAttention, match=r"whole-account export: set chat .*Kazinform Test \(id 1234567890\)"):
        make_source(folder).fetch(None, 10)
    with pytest.raises(NeedsAttention, match="no chat named or numbered 'Nope'"):
        TelegramExportSource(TelegramExportConfig(path=str(folder), chat="Nope"), SourceContext()).fetch(None, 10)


def test_locators_are_paths_inside_the_export_and_download_copies_the_file(tmp_path: Path) -> None:
    folder = channel_export(tmp_path / "export")
    source = make_source(folder)
    posts = by_id(fetch_all(source))

    photo_media = posts[2].media[0]
    assert photo_media.locator.startswith("photos/photo_1@")
    assert photo_media.mime_type == "image/jpeg"
    assert photo_media.size == fixture("obama_small.jpg").stat().st_size
    assert posts[5].media[0].locator.startswith("round_video_messages/")
    assert posts[7].media[0].file_name == "IMG_0042.jpg"
    assert downloaded(source, posts[2]) == fixture("obama_small.jpg").read_bytes()
    assert downloaded(source, posts[3]) == fixture("short_hamilton_clip.mp4").read_bytes()
    assert downloaded(source, posts[7]) == fixture("biden.jpg").read_bytes()


def test_download_over_the_cap_raises_media_too_large(tmp_path: Path) -> None:
    source = make_source(channel_export(tmp_path / "export"))
    post = by_id(fetch_all(source))[3]
    dest = io.BytesIO()

    with pytest.raises(MediaTooLarge) as raised:
        source.download(post.media[0], dest, max_bytes=1000)

    assert raised.value.size == fixture("short_hamilton_clip.mp4").stat().st_size
    assert dest.getvalue() == b""


@pytest.mark.parametrize("locator", ["../secret.jpg", "photos/../../secret.jpg", "/etc/hostname"])
def test_download_refuses_a_locator_outside_the_export(tmp_path: Path, locator: str) -> None:
    (tmp_path / "secret.jpg").write_bytes(fixture("obama_small.jpg").read_bytes())
    source = make_source(channel_export(tmp_path / "export"))
    media = by_id(fetch_all(source))[2].media[0]

    with pytest.raises(NeedsAttention, match="outside"):
        source.download(type(media)(media.kind, locator), io.BytesIO(), 10_000_000)


def test_a_media_path_leading_outside_the_export_is_kept_to_be_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "secret.jpg").write_bytes(fixture("obama_small.jpg").read_bytes())
    folder = build_export(
        tmp_path / "export",
        [Message(1, at(2024, 1, 1), text="tampered", overrides={"photo": "../secret.jpg"})],
    )

    with caplog.at_level(logging.WARNING):
        [post] = fetch_all(make_source(folder))

    [media] = post.media
    assert media.locator == "../secret.jpg"
    assert post.text == "tampered"
    assert "outside the export" in caplog.text
    with pytest.raises(NeedsAttention, match="outside"):
        make_source(folder).download(media, io.BytesIO(), 10_000_000)


def test_a_media_file_missing_from_the_folder_awaits_it_and_is_read_once_it_is_there(tmp_path: Path) -> None:
    folder = channel_export(tmp_path / "export")
    moved = {path.name: path.read_bytes() for path in (folder / "photos").iterdir()}
    for photo_file in (folder / "photos").iterdir():
        photo_file.unlink()
    source = make_source(folder)

    posts = by_id(fetch_all(source))

    [media] = posts[2].media
    assert (media.kind, media.size) == (MediaKind.PHOTO, None)
    with pytest.raises(MediaAwaitingFile, match="not in the export folder"):
        source.download(media, io.BytesIO(), 10_000_000)
    for name, content in moved.items():
        (folder / "photos" / name).write_bytes(content)
    assert downloaded(source, posts[2]) == fixture("obama_small.jpg").read_bytes()


def test_media_not_included_in_the_export_is_found_by_message_id_in_a_later_export(tmp_path: Path) -> None:
    messages = [Message(9, at(2024, 1, 15, 11, 0), text="not downloaded", media=photo(None))]
    folder = build_export(tmp_path / "export", messages)
    [post] = fetch_all(make_source(folder))
    [media] = post.media
    assert media.locator == "message:9"
    with pytest.raises(MediaAwaitingFile, match="File not included"):
        make_source(folder).download(media, io.BytesIO(), 10_000_000)

    build_export(folder, [Message(9, at(2024, 1, 15, 11, 0), text="not downloaded", media=photo(fixture("biden.jpg")))])

    assert downloaded(make_source(folder), post) == fixture("biden.jpg").read_bytes()


def test_permalinks_use_the_configured_public_username(tmp_path: Path) -> None:
    posts = by_id(fetch_all(make_source(channel_export(tmp_path / "export"), channel="@kazinform_test")))

    assert posts[2].permalink == "https://t.me/kazinform_test/2"
    assert posts[2].channel == "kazinform_test"


def test_without_a_username_the_permalink_points_into_result_json(tmp_path: Path) -> None:
    folder = channel_export(tmp_path / "export")

    post = by_id(fetch_all(make_source(folder)))[10]

    link = urlparse(post.permalink)
    assert link.scheme == "file"
    assert Path(unquote(link.path)) == (folder / "result.json").resolve()
    assert link.fragment == "message-10"
    assert post.channel == "Kazinform Test"


def test_the_cursor_resumes_after_the_last_post_without_repeats_or_gaps(tmp_path: Path) -> None:
    source = make_source(channel_export(tmp_path / "export"))

    first = list(source.fetch(None, 4))
    second = list(source.fetch(first[-1].cursor, 4))
    third = list(source.fetch(second[-1].cursor, 4))
    fourth = list(source.fetch(third[-1].cursor, 4))

    assert [post.message_id for post in first] == [2, 3, 4, 5]
    assert [post.message_id for post in second] == [6, 7, 8, 9]
    assert [post.message_id for post in third] == [10, 11]
    assert fourth == []


def test_limit_caps_the_posts_of_one_fetch(tmp_path: Path) -> None:
    source = make_source(channel_export(tmp_path / "export"))

    assert [post.message_id for post in source.fetch(None, 1)] == [2]
    assert list(source.fetch(None, 0)) == []


def test_thousands_of_messages_page_through_without_repeats_or_gaps(tmp_path: Path) -> None:
    folder = build_export(tmp_path / "export", text_messages(1, 3000))
    source = make_source(folder)

    seen: list[int] = []
    cursor = None
    while page := list(source.fetch(cursor, 500)):
        seen.extend(post.message_id for post in page)
        cursor = page[-1].cursor

    assert seen == list(range(1, 3001))


def test_messages_written_out_of_order_come_in_id_order(tmp_path: Path) -> None:
    folder = build_export(tmp_path / "export", list(reversed(text_messages(1, 5))))

    assert [post.message_id for post in fetch_all(make_source(folder), cursor="2")] == [3, 4, 5]


def test_a_malformed_message_is_skipped_and_the_rest_still_come(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = build_export(
        tmp_path / "export",
        [
            Message(1, at(2024, 3, 1), text="fine"),
            Message(2, at(2024, 3, 1), text="no id", drop=("id",)),
            Message(3, at(2024, 3, 1), text="bad unix time", overrides={"date_unixtime": "yesterday"}),
            Message(4, at(2024, 3, 1), text="bad date", overrides={"date": "soon"}, drop=("date_unixtime",)),
            Message(5, at(2024, 3, 1), text="no date", drop=("date", "date_unixtime")),
            Message(6, at(2024, 3, 1), text="also fine", media=photo(fixture("obama_small.jpg"))),
        ],
    )

    with caplog.at_level(logging.WARNING):
        posts = fetch_all(make_source(folder))

    assert [(post.message_id, post.text) for post in posts] == [(1, "fine"), (6, "also fine")]
    assert "no integer id" in caplog.text
    assert "skipping message 3" in caplog.text
    assert "skipping message 4" in caplog.text
    assert "skipping message 5" in caplog.text


def missing_folder(folder: Path) -> None:
    """Nothing is created."""


def empty_folder(folder: Path) -> None:
    folder.mkdir()


def html_export(folder: Path) -> None:
    folder.mkdir()
    (folder / "messages.html").write_text("<html></html>", encoding="utf-8")


def interrupted_export(folder: Path) -> None:
    build_export(folder, text_messages(1, 3))
    text = (folder / "result.json").read_text(encoding="utf-8")
    (folder / "result.json").write_text(text[: len(text) // 2], encoding="utf-8")


def whole_account_export(folder: Path) -> None:
    folder.mkdir()
    account = {"about": "Here is the data you requested.", "chats": {"about": "", "list": []}}
    (folder / "result.json").write_text(json.dumps(account), encoding="utf-8")


def not_an_export(folder: Path) -> None:
    folder.mkdir()
    (folder / "result.json").write_text("[1, 2, 3]", encoding="utf-8")


@pytest.mark.parametrize(
    ("make_folder", "reason"),
    [
        (missing_folder, "does not exist"),
        (empty_folder, "has no result.json"),
        (html_export, "HTML export"),
        (interrupted_export, "not valid JSON"),
        (whole_account_export, "whole-account export: set chat"),
        (not_an_export, "no 'messages' list"),
    ],
)
def test_a_bad_export_folder_needs_attention(tmp_path: Path, make_folder, reason: str) -> None:
    folder = tmp_path / "export"
    make_folder(folder)

    with pytest.raises(NeedsAttention, match=reason):
        make_source(folder).fetch(None, 10)


def test_an_unreadable_cursor_needs_attention(tmp_path: Path) -> None:
    source = make_source(channel_export(tmp_path / "export"))

    with pytest.raises(NeedsAttention, match="cursor"):
        source.fetch("next page", 10)


def test_config_takes_a_username_with_or_without_at_and_refuses_anything_else(tmp_path: Path) -> None:
    assert TelegramExportConfig(path=str(tmp_path), channel="@kazinform_test").channel == "kazinform_test"
    assert TelegramExportConfig(path=str(tmp_path), channel=" ").channel is None
    assert TelegramExportConfig.model_validate({"kind": "telegram_export", "path": "/x"}).channel is None
    with pytest.raises(ValidationError, match="not a public Telegram username"):
        TelegramExportConfig(path=str(tmp_path), channel="https://t.me/kazinform_test")
