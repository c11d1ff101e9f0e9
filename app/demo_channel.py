"""The demo's stand-in for https://t.me: one public channel preview (`/s/<channel>`) of bundled sample posts and
their media files, served on this machine so `impwatch demo` watches a channel without the internet.

The markup keeps the structure of the public preview that the `tme_preview` source reads: one
`div.tgme_widget_message[data-post="<channel>/<id>"]` per post, in ascending order, holding the post's text, its
photo (a background image of `a.tgme_widget_message_photo_wrap`) or video (`video.tgme_widget_message_video`), and
its time; the channel header in `.tgme_channel_info`. Media are served at `/media/<file name>`.
"""

from __future__ import annotations

import html
import mimetypes
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from app.demo_http import BackgroundHttpServer
from core.clock import utcnow


@dataclass(frozen=True)
class SamplePost:
    text: str
    media: str
    """A file name in the media folder; a name ending in `.mp4` is a video, any other a photo."""


class DemoChannelServer:
    """Serves `posts` as the channel `channel` titled `title`, numbered from 1, dated a few minutes apart and ending
    a minute before the server started. `base_url` is what `IMPWATCH_TME_BASE_URL` should be."""

    def __init__(
        self, channel: str, title: str, posts: list[SamplePost], media_dir: Path, host: str, port: int
    ) -> None:
        self.channel, self.title, self.posts, self.media_dir = channel, title, posts, media_dir
        started = utcnow().replace(microsecond=0)
        self.dates = [started - timedelta(minutes=5 * (len(posts) - index)) for index in range(len(posts))]
        self._http = BackgroundHttpServer(host, port, _handler_for(self))

    @property
    def base_url(self) -> str:
        return self._http.origin

    def start(self) -> DemoChannelServer:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        """The status, content type and body of a GET of `path`."""
        if path.rstrip("/") == f"/s/{self.channel}":
            before = query.get("before", [""])[0]
            limit = int(before) if before.isdigit() else len(self.posts) + 1
            return 200, "text/html; charset=utf-8", self.page(limit).encode()
        if path.startswith("/media/"):
            name = path.removeprefix("/media/")
            if name in {post.media for post in self.posts}:
                content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
                return 200, content_type, (self.media_dir / name).read_bytes()
        return 404, "text/plain", b"not found"

    def page(self, before: int) -> str:
        """The channel page of the posts numbered below `before`, oldest first."""
        blocks = [
            self._post(number, post, self.dates[number - 1])
            for number, post in enumerate(self.posts, start=1)
            if number < before
        ]
        title = html.escape(self.title)
        history = "\n".join(blocks)
        return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title} &ndash; Telegram</title>
<link rel="canonical" href="{self.base_url}/s/{self.channel}"/></head>
<body class="widget_frame_base tgme_webpage">
<aside class="tgme_right_column"><div class="tgme_channel_info">
  <div class="tgme_channel_info_header_title"><span dir="auto">{title}</span></div>
  <div class="tgme_channel_info_header_username"><a href="{self.base_url}/{self.channel}">@{self.channel}</a></div>
</div></aside>
<main class="tgme_main"><section class="tgme_channel_history js-message_history">
{history}
</section></main></body></html>
"""

    def _post(self, number: int, post: SamplePost, date: datetime) -> str:
        link = f"{self.base_url}/{self.channel}/{number}"
        media_url = f"{self.base_url}/media/{post.media}"
        if post.media.endswith(".mp4"):
            media = f"""<a class="tgme_widget_message_video_player js-message_video_player" href="{link}">
      <div class="tgme_widget_message_video_wrap"><video src="{media_url}"
        class="tgme_widget_message_video js-message_video" preload muted playsinline></video></div></a>"""
        else:
            media = (
                f'<a class="tgme_widget_message_photo_wrap blured js-message_photo" '
                f'style="background-image:url(\'{media_url}\')" href="{link}"></a>'
            )
        text = html.escape(post.text).replace("\n", "<br/>")
        return f"""<div class="tgme_widget_message_wrap js-widget_message_wrap">
  <div class="tgme_widget_message js-widget_message" data-post="{self.channel}/{number}">
    <div class="tgme_widget_message_bubble">
      {media}
      <div class="tgme_widget_message_text js-message_text" dir="auto">{text}</div>
      <div class="tgme_widget_message_footer"><a class="tgme_widget_message_date" href="{link}"><time
        datetime="{date.isoformat()}" class="time">{date:%H:%M}</time></a></div>
    </div>
  </div>
</div>"""


def _handler_for(server: DemoChannelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            status, content_type, body = server.answer(url.path, parse_qs(url.query))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler
