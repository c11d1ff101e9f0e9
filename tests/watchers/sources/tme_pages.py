"""Realistic t.me/s channel preview pages, built from post specs and served by a local HTTP server.

Tests of the `tme_preview` source (and end-to-end tests) use `ChannelServer` to stand in for https://t.me:

    with ChannelServer() as server:
        first = server.add_post("pressoffice", text="Hello", photo=jpeg_bytes)
        context = SourceContext(tme_base_url=server.base_url)

The markup follows the public preview's structure: one `tgme_widget_message_wrap` per message, holding a
`tgme_widget_message` div with `data-post="<channel>/<id>"`; the channel header in `tgme_channel_info`; messages
in ascending order inside `section.tgme_channel_history`; a "load older" anchor and `<link rel="prev">` carrying
`?before=<smallest id on the page>`. Like Telegram, a page holds 20 message ids, an album is one block whose
`data-post` is its first id while its other items only appear as `?single` links, an unknown or private channel
redirects from /s/<name> to /<name>, and media live at their own URLs (absolute by default, as on the CDN).
"""

from __future__ import annotations

import html
import itertools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import parse_qs, urlsplit

PAGE_SIZE = 20
FIRST_POST_DATE = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
POSTER_BYTES = b"\xff\xd8\xff\xe0poster-still"

MediaSlot = Literal["photo", "video", "round_video", "unsupported_video", "unsupported_round_video", "hidden"]


@dataclass(frozen=True)
class _Media:
    slot: MediaSlot
    path: str | None
    poster_path: str | None


@dataclass(frozen=True)
class LinkPreview:
    """A link preview under a post's text, as t.me/s shows it: the linked page's site name, title and description
    (`image` adds the preview's picture, which is not media of the post)."""

    url: str
    site_name: str = ""
    title: str = ""
    description: str = ""
    image: bool = False


@dataclass
class _Message:
    ids: tuple[int, ...]
    date: datetime | None
    text_html: str = ""
    forwarded_from: str | None = None
    forwarded_from_url: str | None = None
    reply_to: int | None = None
    media: tuple[_Media, ...] = ()
    service: bool = False
    raw_html: Callable[[int], str] | None = None
    link_preview: LinkPreview | None = None

    @property
    def message_id(self) -> int:
        return self.ids[0]


@dataclass
class _Channel:
    name: str
    title: str
    public: bool = True
    messages: list[_Message] = field(default_factory=list)
    next_id: int = 1
    last_date: datetime = FIRST_POST_DATE - timedelta(minutes=1)


@dataclass(frozen=True)
class CannedResponse:
    """A response served instead of a channel page (rate limits, server errors, garbage)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


class ChannelServer:
    """A local stand-in for https://t.me serving channel previews, landing pages and media files.

    `base_url` is what a `SourceContext.tme_base_url` should be set to. Every request's path and query is
    recorded in `requests` and its User-Agent in `user_agents`, so a test can check what a source asked for.
    `relative_media_urls` writes media URLs as paths instead of absolute URLs; `media_content_length=False`
    serves media without a Content-Length header (the size is only known by reading).
    """

    def __init__(self, *, relative_media_urls: bool = False, media_content_length: bool = True) -> None:
        self.relative_media_urls = relative_media_urls
        self.media_content_length = media_content_length
        self.requests: list[str] = []
        self.user_agents: list[str] = []
        self._channels: dict[str, _Channel] = {}
        self._files: dict[str, bytes] = {}
        self._canned: dict[str, list[CannedResponse | None]] = {}
        self._file_numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ChannelServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = None
        self._thread = None

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def add_channel(self, name: str, *, title: str | None = None, public: bool = True) -> None:
        """Create a channel with no posts; a private one redirects like an unknown name does."""
        with self._lock:
            self._channels[name.lower()] = _Channel(name=name, title=title or name.title(), public=public)

    def add_post(
        self,
        channel: str,
        text: str = "",
        *,
        photo: bytes | None = None,
        video: bytes | None = None,
        photos: tuple[bytes, ...] | list[bytes] = (),
        videos: tuple[bytes, ...] | list[bytes] = (),
        round_video: bytes | None = None,
        unsupported_video: bool = False,
        poster: bytes | None = None,
        unsupported_round_video: bool = False,
        hidden_media: bool = False,
        forwarded_from: str | None = None,
        forwarded_from_url: str | None = None,
        reply_to: int | None = None,
        date: datetime | None = None,
        omit_date: bool = False,
        text_html: str | None = None,
        link_preview: LinkPreview | None = None,
    ) -> int:
        """Publish a post and return its message id (an album's first id).

        Several photos/videos make an album, which takes one message id per item. `text` is escaped and its
        line breaks become `<br/>`; `text_html` is used as the text div's inner HTML as is. `date` defaults to
        one minute after the channel's previous post. `unsupported_video` adds a video the preview cannot
        play (a "Media is too big" player without a source), with `poster` as its poster image (default: a few
        bytes that are no image); `unsupported_round_video` a round video player without a `<video>`;
        `hidden_media` a block the preview does not show at all ("Please open Telegram to view this post").
        `reply_to` quotes that message's text above this
        one, as a reply block. `link_preview` adds the preview of a linked page under the text.
        """
        with self._lock:
            chan = self._channel(channel)
            media = self._media_for(
                [photo, *photos] if photo is not None else list(photos),
                [video, *videos] if video is not None else list(videos),
                round_video,
                unsupported_video,
                poster,
                unsupported_round_video,
                hidden_media,
            )
            message = _Message(
                ids=self._take_ids(chan, max(1, len(media))),
                date=None if omit_date else self._date_for(chan, date),
                text_html=text_html if text_html is not None else _text_to_html(text),
                forwarded_from=forwarded_from,
                forwarded_from_url=forwarded_from_url,
                reply_to=reply_to,
                media=tuple(media),
                link_preview=link_preview,
            )
            chan.messages.append(message)
            return message.message_id

    def add_service_message(self, channel: str, text: str = "Channel photo updated") -> int:
        """Publish a service message (pinned post, new channel photo...), which is not a post."""
        with self._lock:
            chan = self._channel(channel)
            message = _Message(
                ids=self._take_ids(chan, 1),
                date=self._date_for(chan, None),
                text_html=html.escape(text),
                service=True,
            )
            chan.messages.append(message)
            return message.message_id

    def add_raw_message(self, channel: str, render: Callable[[int], str]) -> int:
        """Place arbitrary HTML in the channel's history, rendered by `render(message_id)`; for malformed input."""
        with self._lock:
            chan = self._channel(channel)
            message = _Message(ids=self._take_ids(chan, 1), date=None, raw_html=render)
            chan.messages.append(message)
            return message.message_id

    def edit_post(self, channel: str, message_id: int, *, photo: bytes) -> None:
        """Replace the media of a post, as the channel's admin can (a new file, at a URL of its own)."""
        with self._lock:
            chan = self._channel(channel)
            message = next(m for m in chan.messages if m.message_id == message_id)
            message.media = (_Media("photo", self._store(photo, ".jpg"), None),)

    def delete_post(self, channel: str, message_id: int) -> None:
        with self._lock:
            chan = self._channel(channel)
            chan.messages = [m for m in chan.messages if m.message_id != message_id]

    def respond_with(self, channel: str, response: CannedResponse, *, times: int = 1, after_requests: int = 0) -> None:
        """Answer requests for the channel's pages with `response` instead of a page: `times` of them, once
        `after_requests` more have been served normally (1 lets the newest page through and fails paging)."""
        self.respond_to(f"/s/{channel}", response, times=times, after_requests=after_requests)

    def respond_to(self, path: str, response: CannedResponse, *, times: int = 1, after_requests: int = 0) -> None:
        """Like `respond_with`, for any path (a media file's, say)."""
        with self._lock:
            self._canned.setdefault(path.lower(), []).extend([None] * after_requests + [response] * times)

    def served_files(self) -> dict[str, bytes]:
        """Every media file the server holds, by URL path (video posters included)."""
        with self._lock:
            return dict(self._files)

    def page_requests(self, channel: str) -> list[str]:
        prefix = f"/s/{channel.lower()}"
        return [r for r in self.requests if r.lower().split("?")[0] == prefix]

    def _channel(self, name: str) -> _Channel:
        key = name.lower()
        if key not in self._channels:
            self._channels[key] = _Channel(name=name, title=name.title())
        return self._channels[key]

    @staticmethod
    def _take_ids(chan: _Channel, count: int) -> tuple[int, ...]:
        ids = tuple(range(chan.next_id, chan.next_id + count))
        chan.next_id += count
        return ids

    @staticmethod
    def _date_for(chan: _Channel, date: datetime | None) -> datetime:
        chosen = date or chan.last_date + timedelta(minutes=1)
        chan.last_date = chosen
        return chosen

    def _media_for(
        self,
        photos: list[bytes],
        videos: list[bytes],
        round_video: bytes | None,
        unsupported_video: bool,
        poster: bytes | None = None,
        unsupported_round_video: bool = False,
        hidden_media: bool = False,
    ) -> list[_Media]:
        media = [_Media("photo", self._store(data, ".jpg"), None) for data in photos]
        media += [_Media("video", self._store(data, ".mp4"), self._store(POSTER_BYTES, ".jpg")) for data in videos]
        if round_video is not None:
            media.append(_Media("round_video", self._store(round_video, ".mp4"), self._store(POSTER_BYTES, ".jpg")))
        if unsupported_video:
            media.append(_Media("unsupported_video", None, self._store(poster or POSTER_BYTES, ".jpg")))
        if unsupported_round_video:
            media.append(_Media("unsupported_round_video", None, self._store(poster or POSTER_BYTES, ".jpg")))
        if hidden_media:
            media.append(_Media("hidden", None, None))
        return media

    def _store(self, data: bytes, suffix: str) -> str:
        path = f"/file/{next(self._file_numbers):04d}-{len(data)}{suffix}"
        self._files[path] = data
        return path

    def _media_url(self, path: str) -> str:
        return path if self.relative_media_urls else self.base_url + path

    def _handle(self, path: str, query: Mapping[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            queued = self._canned.get(path.lower())
            canned = queued.pop(0) if queued else None
            if canned is not None:
                return canned.status, dict(canned.headers), canned.body
            if path.startswith("/file/"):
                return self._file_response(path)
            parts = path.strip("/").split("/")
            if len(parts) == 2 and parts[0] == "s":
                return self._preview_response(parts[1], query)
            if len(parts) == 1 and parts[0]:
                return 200, _HTML_HEADERS, _landing_page(parts[0]).encode()
            return 404, _HTML_HEADERS, b"<html><body>Not found</body></html>"

    def _file_response(self, path: str) -> tuple[int, dict[str, str], bytes]:
        data = self._files.get(path)
        if data is None:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        headers = {"Content-Type": "video/mp4" if path.endswith(".mp4") else "image/jpeg"}
        if self.media_content_length:
            headers["Content-Length"] = str(len(data))
        return 200, headers, data

    def _preview_response(self, name: str, query: Mapping[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        chan = self._channels.get(name.lower())
        if chan is None or not chan.public:
            return 302, {"Location": f"{self.base_url}/{name}", "Content-Length": "0"}, b""
        before = int(query["before"][0]) if "before" in query else None
        return 200, _HTML_HEADERS, self._render_page(chan, before).encode()

    def _render_page(self, chan: _Channel, before: int | None) -> str:
        on_page, has_older = _page_of(chan.messages, before)
        older_before = on_page[0].message_id if on_page and has_older else None
        blocks = [self._render_message(chan, m) for m in on_page]
        return _channel_page(chan, blocks, older_before, self._media_url("/file/avatar.jpg"))

    def _render_message(self, chan: _Channel, message: _Message) -> str:
        if message.raw_html is not None:
            return message.raw_html(message.message_id)
        if message.service:
            return _service_message(chan, message)
        return _post_message(chan, message, self._media_url)


_HTML_HEADERS = {"Content-Type": "text/html; charset=utf-8"}


def _handler_for(server: ChannelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.requests.append(self.path)
            server.user_agents.append(self.headers.get("User-Agent", ""))
            url = urlsplit(self.path)
            status, headers, body = server._handle(url.path, parse_qs(url.query))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


def _page_of(messages: list[_Message], before: int | None) -> tuple[list[_Message], bool]:
    """The newest messages below `before` holding up to PAGE_SIZE ids, oldest first, and whether older exist."""
    candidates = sorted((m for m in messages if before is None or m.message_id < before), key=lambda m: m.message_id)
    page: list[_Message] = []
    ids = 0
    while candidates and ids < PAGE_SIZE:
        message = candidates.pop()
        page.insert(0, message)
        ids += len(message.ids)
    return page, bool(candidates)


def _text_to_html(text: str) -> str:
    return html.escape(text).replace("\n", "<br/>")


def _channel_page(chan: _Channel, blocks: list[str], older_before: int | None, avatar_url: str) -> str:
    title = html.escape(chan.title)
    prev_link = f'<link rel="prev" href="/s/{chan.name}?before={older_before}">' if older_before is not None else ""
    more = (
        '<div class="tgme_widget_message_centered js-messages_more_wrap">'
        f'<a href="/s/{chan.name}?before={older_before}" class="tme_messages_more js-messages_more" '
        f'data-before="{older_before}"></a></div>'
        if older_before is not None
        else ""
    )
    history = "\n".join(blocks)
    return f"""<!DOCTYPE html>
<html>
  <head>
    <meta charset="utf-8">
    <title>{title} &ndash; Telegram</title>
    <meta name="viewport" content="width=device-width, initial-scale=1.0, minimum-scale=1.0">
    <meta property="og:title" content="{title}">
    <meta property="og:image" content="{avatar_url}">
    <link rel="canonical" href="https://t.me/s/{chan.name}"/>
    {prev_link}
  </head>
  <body class="widget_frame_base tgme_webpage emoji_image with_sidebar">
    <header class="tgme_header search_collapsed">
      <div class="tgme_header_search"><form class="tgme_header_search_form" action="/s/{chan.name}"
        method="get"><input class="tgme_header_search_form_input js-header_search" name="q"
        placeholder="Search"></form></div>
    </header>
    <aside class="tgme_right_column">
      <section class="tgme_right_column_content">
        <div class="tgme_channel_info">
          <div class="tgme_channel_info_header">
            <i class="tgme_page_photo_image bgcolor3" data-content="{title[:1]}"><img src="{avatar_url}"></i>
            <div class="tgme_channel_info_header_title"><span dir="auto">{title}</span></div>
            <div class="tgme_channel_info_header_username"><a href="https://t.me/{chan.name}">@{chan.name}</a></div>
          </div>
          <div class="tgme_channel_info_counters">
            <div class="tgme_channel_info_counter"><span class="counter_value">12.4K</span>
              <span class="counter_type">subscribers</span></div>
            <div class="tgme_channel_info_counter"><span class="counter_value">310</span>
              <span class="counter_type">photos</span></div>
          </div>
          <div class="tgme_channel_info_description">Official news of {title}</div>
        </div>
      </section>
    </aside>
    <main class="tgme_main">
      <div class="tgme_container">
        <section class="tgme_channel_history js-message_history">
          {more}
{history}
        </section>
      </div>
    </main>
  </body>
</html>
"""


def _landing_page(name: str) -> str:
    safe = html.escape(name)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Telegram: Contact @{safe}</title></head>
<body class="no_transition"><div class="tgme_page_wrap"><div class="tgme_body_wrap"><div class="tgme_page">
<div class="tgme_page_title"><span dir="auto">Telegram</span></div>
<div class="tgme_page_description">If you have <strong>Telegram</strong>, you can contact
<a class="tgme_username_link" href="tg://resolve?domain={safe}">@{safe}</a> right away.</div>
</div></div></div></body></html>
"""


def _message_shell(chan: _Channel, message: _Message, classes: str, bubble: str) -> str:
    title = html.escape(chan.title)
    return f"""<div class="tgme_widget_message_wrap js-widget_message_wrap">
  <div class="tgme_widget_message {classes} js-widget_message" data-post="{chan.name}/{message.message_id}"
    data-view="eyJjIjotMTAwNjUwMzEyMiwicCI6IjIwIiwidCI6MTcxNDU1NDAwMH0">
    <div class="tgme_widget_message_user"><a href="https://t.me/{chan.name}"><i
      class="tgme_widget_message_user_photo bgcolor3" data-content="{title[:1]}"><img
      src="https://cdn4.telesco.pe/file/avatar-{chan.name}.jpg"></i></a></div>
    <div class="tgme_widget_message_bubble">
      <i class="tgme_widget_message_bubble_tail"><svg class="bubble_icon" width="9px" height="20px"
        viewBox="0 0 9 20"><path d="M6,17 L6,0 L0,20 Z"></path></svg></i>
      {bubble}
    </div>
  </div>
</div>"""


def _footer(chan: _Channel, message: _Message) -> str:
    time_tag = ""
    if message.date is not None:
        time_tag = f'<time datetime="{message.date.isoformat()}" class="time">{message.date:%H:%M}</time>'
    return f"""<div class="tgme_widget_message_footer compact js-message_footer">
        <div class="tgme_widget_message_info short js-message_info">
          <span class="tgme_widget_message_views">1.2K</span><span class="copyonly"> views</span>
          <span class="tgme_widget_message_meta"><a class="tgme_widget_message_date"
            href="https://t.me/{chan.name}/{message.message_id}">{time_tag}</a></span>
        </div>
      </div>"""


def _service_message(chan: _Channel, message: _Message) -> str:
    bubble = f"""<div class="tgme_widget_message_text js-message_text" dir="auto">{message.text_html}</div>
      <a class="tgme_widget_message_service_photo" href="https://t.me/{chan.name}/{message.message_id}"><img
        src="https://cdn4.telesco.pe/file/service-{message.message_id}.jpg"></a>
      {_footer(chan, message)}"""
    return _message_shell(chan, message, "service_message", bubble)


def _post_message(chan: _Channel, message: _Message, media_url: Callable[[str], str]) -> str:
    title = html.escape(chan.title)
    author = (
        '<div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" '
        f'href="https://t.me/{chan.name}"><span dir="auto">{title}</span></a></div>'
    )
    text = (
        f'<div class="tgme_widget_message_text js-message_text" dir="auto">{message.text_html}</div>'
        if message.text_html
        else ""
    )
    bubble = "\n      ".join(
        part
        for part in (
            author,
            _forwarded(message),
            _reply(chan, message),
            _media_block(chan, message, media_url),
            text,
            _link_preview(message.link_preview),
            _footer(chan, message),
        )
        if part
    )
    return _message_shell(chan, message, "text_not_supported_wrap", bubble)


def _link_preview(preview: LinkPreview | None) -> str:
    """The markup of t.me/s's link preview: an anchor to the page with its site name, title and description."""
    if preview is None:
        return ""
    image = (
        '<i class="link_preview_right_image" style="background-image:url(\'https://cdn4.telesco.pe/file/lp.jpg\')"></i>'
        if preview.image
        else ""
    )
    parts = [
        f'<div class="{name}" dir="auto">{_text_to_html(value)}</div>'
        for name, value in (
            ("link_preview_site_name accent_color", preview.site_name),
            ("link_preview_title", preview.title),
            ("link_preview_description", preview.description),
        )
        if value
    ]
    return (
        f'<a class="tgme_widget_message_link_preview" href="{html.escape(preview.url)}">{image}'
        + "".join(parts)
        + "</a>"
    )


def _forwarded(message: _Message) -> str:
    if message.forwarded_from is None:
        return ""
    name = f'<span dir="auto">{html.escape(message.forwarded_from)}</span>'
    if message.forwarded_from_url:
        source = (
            f'<a class="tgme_widget_message_forwarded_from_name" '
            f'href="{html.escape(message.forwarded_from_url)}">{name}</a>'
        )
    else:
        source = f'<span class="tgme_widget_message_forwarded_from_name">{name}</span>'
    return f'<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from&nbsp;{source}</div>'


def _reply(chan: _Channel, message: _Message) -> str:
    if message.reply_to is None:
        return ""
    quoted = next((m for m in chan.messages if m.message_id == message.reply_to), None)
    quoted_html = quoted.text_html if quoted is not None else "Deleted message"
    return f"""<a class="tgme_widget_message_reply" href="https://t.me/{chan.name}/{message.reply_to}">
        <div class="tgme_widget_message_author accent_color"><span class="tgme_widget_message_author_name"
          dir="auto">{html.escape(chan.title)}</span></div>
        <div class="tgme_widget_message_text js-message_reply_text" dir="auto">{quoted_html}</div>
      </a>"""


def _media_block(chan: _Channel, message: _Message, media_url: Callable[[str], str]) -> str:
    if not message.media:
        return ""
    if len(message.media) == 1:
        link = f"https://t.me/{chan.name}/{message.message_id}"
        return _media_item(message.media[0], link, media_url, grouped=False)
    items = "\n".join(
        _media_item(item, f"https://t.me/{chan.name}/{item_id}?single", media_url, grouped=True)
        for item, item_id in zip(message.media, message.ids, strict=True)
    )
    return f"""<div class="tgme_widget_message_grouped_wrap js-message_grouped_wrap" data-margin-w="2"
        data-margin-h="2" style="width:453px;">
        <div class="tgme_widget_message_grouped js-message_grouped" style="padding-top:100%">
          <div class="tgme_widget_message_grouped_layer js-message_grouped_layer" style="width:453px;height:453px">
{items}
          </div>
        </div>
      </div>"""


def _media_item(media: _Media, link: str, media_url: Callable[[str], str], *, grouped: bool) -> str:
    group_class = " grouped_media_wrap blured" if grouped else ""
    position = "left:0px;top:0px;width:225px;height:225px;margin-right:2px;" if grouped else "width:800px;"
    poster = f"background-image:url('{media_url(media.poster_path)}')" if media.poster_path else ""
    src = media_url(media.path) if media.path else ""
    if media.slot == "photo":
        inner = "" if grouped else '<div class="tgme_widget_message_photo" style="padding-top:75%"></div>'
        return (
            f'<a class="tgme_widget_message_photo_wrap{group_class or " blured"} js-message_photo" '
            f'style="{position}background-image:url(\'{src}\')" data-ratio="1.3333" '
            f'href="{link}">{inner}</a>'
        )
    if media.slot == "video":
        return f"""<a class="tgme_widget_message_video_player{group_class} js-message_video_player"
          style="{position}" href="{link}">
          <i class="tgme_widget_message_video_thumb" style="{poster}"></i>
          <div class="tgme_widget_message_video_wrap{group_class}">
            <video src="{src}" class="tgme_widget_message_video js-message_video"
              width="100%" height="100%" preload muted loop playsinline></video>
          </div>
          <div class="message_video_play"></div>
          <time class="message_video_duration js-message_video_duration">0:09</time>
        </a>"""
    if media.slot == "round_video":
        return f"""<div class="tgme_widget_message_roundvideo_player js-message_roundvideo_player">
          <i class="tgme_widget_message_roundvideo_thumb" style="{poster}"></i>
          <div class="tgme_widget_message_roundvideo_wrap">
            <video class="tgme_widget_message_roundvideo js-message_roundvideo" src="{src}"
              width="100%" height="100%" preload muted loop playsinline></video>
          </div>
          <div class="tgme_widget_message_roundvideo_progress"></div>
          <time class="tgme_widget_message_roundvideo_duration">0:09</time>
        </div>"""
    if media.slot == "unsupported_round_video":
        return f"""<div class="tgme_widget_message_roundvideo_player js-message_roundvideo_player">
          <i class="tgme_widget_message_roundvideo_thumb" style="{poster}"></i>
          <div class="message_media_not_supported_wrap">
            <div class="message_media_not_supported">
              <div class="message_media_not_supported_label">Media is too big</div>
              <span class="message_media_view_in_telegram">VIEW IN TELEGRAM</span>
            </div>
          </div>
          <time class="tgme_widget_message_roundvideo_duration">0:58</time>
        </div>"""
    if media.slot == "hidden":
        return f"""<div class="message_media_not_supported_wrap">
          <div class="message_media_not_supported">
            <div class="message_media_not_supported_label">Please open Telegram to view this post</div>
            <a href="{link}" class="message_media_view_in_telegram">VIEW IN TELEGRAM</a>
          </div>
        </div>"""
    return f"""<a class="tgme_widget_message_video_player{group_class} not_supported js-message_video_player"
          style="{position}" href="{link}">
          <i class="tgme_widget_message_video_thumb" style="{poster}"></i>
          <div class="message_media_not_supported_wrap">
            <div class="message_media_not_supported">
              <div class="message_media_not_supported_label">Media is too big</div>
              <span class="message_media_view_in_telegram">VIEW IN TELEGRAM</span>
            </div>
          </div>
          <time class="message_video_duration js-message_video_duration">42:17</time>
        </a>"""
