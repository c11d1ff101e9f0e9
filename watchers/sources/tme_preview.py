"""The `tme_preview` source: Telegram's public web preview of a channel, `https://t.me/s/<channel>`.

No Telegram account is needed: the preview is an HTML page of the channel's 20 newest messages, oldest at the
top, and `?before=<id>` gives the 20 messages before that id. Each message is a `div.tgme_widget_message` whose
`data-post` attribute is `<channel>/<message id>`; an album is one such block (under its first id) holding
several photos/videos. Media URLs in the page point at Telegram's CDN and are downloaded as they are.

What the preview cannot show is not invented: a video too large to preview (`.message_media_not_supported`)
has no URL, so its post is yielded with its text and without that media item. Service messages (pinned post,
new channel photo) are not posts and are skipped; a message whose date is missing or unreadable is skipped
with a warning, while the rest of its page is still read.

httpx is imported where pages and media are read: the config is validated (by every command that lists watches)
without it.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import IO, TYPE_CHECKING, Literal
from urllib.parse import urljoin, urlsplit

from pydantic import ConfigDict, field_validator
from selectolax.lexbor import LexborHTMLParser, LexborNode

from core.telegram import username_as_written
from watchers.sources.base import (
    FetchedPost,
    MediaKind,
    MediaRef,
    NeedsAttention,
    RetryLater,
    SourceConfigBase,
    SourceContext,
)
from watchers.sources.helpers import copy_capped, parse_cursor, refuse_declared_size

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger(__name__)

DEFAULT_RETRY_SECONDS = 60.0
PUBLIC_TME = "https://t.me"

_BACKGROUND_URL = re.compile(r"""background-image\s*:\s*url\(\s*(['"]?)(?P<url>.+?)\1\s*\)""", re.IGNORECASE)
_MEDIA_SELECTOR = (
    "a.tgme_widget_message_photo_wrap, video.tgme_widget_message_video, video.tgme_widget_message_roundvideo"
)


class TmePreviewConfig(SourceConfigBase):
    """A public channel watched through its web preview; `channel` is its username as written (validated by
    `core.telegram`; the case is kept as the operator wrote it)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["tme_preview"] = "tme_preview"
    channel: str

    @field_validator("channel", mode="before")
    @classmethod
    def _normalise_channel(cls, value: object) -> str:
        if not isinstance(value, str):
            raise ValueError("channel must be a string such as @name or https://t.me/s/name")
        return username_as_written(value)


@dataclass(frozen=True)
class PreviewPage:
    """What one preview page holds.

    `message_ids` lists every `data-post` id on the page, including service messages and messages that could
    not be parsed: paging must step past them too. `has_channel` tells a real (possibly empty) channel page
    from a page that is not a channel at all.
    """

    posts: tuple[FetchedPost, ...]
    message_ids: tuple[int, ...]
    has_channel: bool

    @property
    def oldest_id(self) -> int | None:
        return min(self.message_ids, default=None)


class _MalformedMessage(ValueError):
    """A message block that cannot become a post; its page is still read."""


def parse_preview_page(html: str, channel: str, page_url: str) -> PreviewPage:
    """Parse a t.me/s page of `channel`; relative media URLs are resolved against `page_url`."""
    tree = LexborHTMLParser(html)
    posts: list[FetchedPost] = []
    message_ids: list[int] = []
    for block in tree.css("div.tgme_widget_message[data-post]"):
        reference = _data_post(block)
        if reference is None or reference[0].lower() != channel.lower():
            logger.warning("t.me/s/%s: skipping a message with data-post=%r", channel, block.attrs.get("data-post"))
            continue
        message_id = reference[1]
        message_ids.append(message_id)
        if _has_class(block, "service_message"):
            continue
        try:
            posts.append(_parse_post(block, channel, message_id, page_url))
        except _MalformedMessage as error:
            logger.warning("t.me/s/%s: skipping message %d: %s", channel, message_id, error)
    has_channel = tree.css_first(".tgme_channel_info") is not None or bool(message_ids)
    return PreviewPage(posts=tuple(posts), message_ids=tuple(message_ids), has_channel=has_channel)


def _data_post(block: LexborNode) -> tuple[str, int] | None:
    channel, _, number = (block.attrs.get("data-post") or "").partition("/")
    if not channel or not _is_number(number):
        return None
    return channel, int(number)


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdecimal()


def _has_class(node: LexborNode, name: str) -> bool:
    return name in (node.attrs.get("class") or "").split()


def _parse_post(block: LexborNode, channel: str, message_id: int, page_url: str) -> FetchedPost:
    text_node = _own_text_node(block)
    preview_node = _first_own_node(block, "a.tgme_widget_message_link_preview")
    links = _links(text_node)
    return FetchedPost(
        message_id=message_id,
        channel=channel,
        permalink=f"{PUBLIC_TME}/{channel}/{message_id}",
        date=_message_date(block),
        text=_plain_text(text_node) if text_node is not None else "",
        forwarded_from=_forwarded_from(block),
        media=tuple(_message_media(block, page_url)),
        urls=tuple(dict.fromkeys([*_web_links(links), *_web_links([_href(preview_node)])])),
        phone_entities=tuple(dict.fromkeys(link[4:] for link in links if link.lower().startswith("tel:"))),
        preview=_link_preview(preview_node) if preview_node is not None else "",
    )


def _own_nodes(block: LexborNode, selector: str) -> Iterator[LexborNode]:
    """Nodes matching `selector` in `block` but not in another message nested in it (broken markup)."""
    for node in block.css(selector):
        if not _inside(node, "tgme_widget_message", block):
            yield node


def _first_own_node(block: LexborNode, selector: str) -> LexborNode | None:
    return next(_own_nodes(block, selector), None)


def _message_date(block: LexborNode) -> datetime:
    time_node = _first_own_node(block, ".tgme_widget_message_date time[datetime]")
    if time_node is None:
        raise _MalformedMessage("it has no date")
    raw = time_node.attrs.get("datetime") or ""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as error:
        raise _MalformedMessage(f"its date {raw!r} is not ISO 8601") from error
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _own_text_node(block: LexborNode) -> LexborNode | None:
    """The node of the post's own text; a quoted reply's text is not it."""
    for node in _own_nodes(block, ".tgme_widget_message_text"):
        if _has_class(node, "js-message_reply_text") or _inside(node, "tgme_widget_message_reply", block):
            continue
        return node
    return None


def _plain_text(node: LexborNode) -> str:
    """A node's text as plain text, `<br>` as line breaks."""
    for line_break in node.css("br"):
        line_break.replace_with("\n")
    return (node.text(deep=True, separator="", strip=False) or "").strip()


def _href(node: LexborNode | None) -> str:
    return ((node.attrs.get("href") if node is not None else None) or "").strip()


def _links(text_node: LexborNode | None) -> list[str]:
    """The `href` of every link in the post's text, as written."""
    if text_node is None:
        return []
    return [href for href in (_href(anchor) for anchor in text_node.css("a[href]")) if href]


def _web_links(hrefs: list[str]) -> list[str]:
    """The absolute http(s) links among `hrefs`; t.me's own relative links (hashtags, mentions) are not the post's."""
    found = []
    for href in hrefs:
        try:
            parts = urlsplit(href)
        except ValueError:
            continue
        if parts.scheme.lower() in ("http", "https") and parts.netloc:
            found.append(href)
    return found


def _link_preview(node: LexborNode) -> str:
    """The link preview's site name, title and description, one a line (the parts it has)."""
    parts = []
    for selector in (".link_preview_site_name", ".link_preview_title", ".link_preview_description"):
        part = node.css_first(selector)
        if part is not None:
            text = _plain_text(part)
            if text:
                parts.append(text)
    return "\n".join(parts)


def _inside(node: LexborNode, class_name: str, outermost: LexborNode) -> bool:
    """Whether an element between `node` and `outermost` (both excluded) has the class `class_name`."""
    parent = node.parent
    while parent is not None and parent.mem_id != outermost.mem_id:
        if _has_class(parent, class_name):
            return True
        parent = parent.parent
    return False


def _forwarded_from(block: LexborNode) -> str | None:
    node = _first_own_node(block, ".tgme_widget_message_forwarded_from_name")
    name = node.text(deep=True, strip=True) if node is not None else ""
    return name or None


def _message_media(block: LexborNode, page_url: str) -> Iterator[MediaRef]:
    """Photos, videos and round videos in page order; an album yields several. Video posters are not media."""
    seen: set[str] = set()
    for node in _own_nodes(block, _MEDIA_SELECTOR):
        found = _media_of(node, page_url)
        if found is not None and found.locator not in seen:
            seen.add(found.locator)
            yield found


def _media_of(node: LexborNode, page_url: str) -> MediaRef | None:
    if node.tag == "a":
        raw, kind = _background_url(node.attrs.get("style") or ""), MediaKind.PHOTO
    else:
        raw = _video_source(node)
        kind = MediaKind.ROUND_VIDEO if _has_class(node, "tgme_widget_message_roundvideo") else MediaKind.VIDEO
    url = _absolute_http_url(raw, page_url)
    if url is None:
        return None
    file_name = urlsplit(url).path.rsplit("/", 1)[-1] or None
    mime_type = mimetypes.guess_type(file_name)[0] if file_name else None
    return MediaRef(kind=kind, locator=url, file_name=file_name, mime_type=mime_type)


def _background_url(style: str) -> str | None:
    match = _BACKGROUND_URL.search(style)
    return match.group("url").strip() if match else None


def _video_source(video: LexborNode) -> str | None:
    source = video.attrs.get("src")
    if source:
        return source
    child = video.css_first("source[src]")
    return child.attrs.get("src") if child is not None else None


def _absolute_http_url(raw: str | None, page_url: str) -> str | None:
    if not raw:
        return None
    try:
        url = urljoin(page_url, raw.strip())
        scheme = urlsplit(url).scheme
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


class TmePreviewSource:
    """Reads a public channel through `{context.tme_base_url}/s/<channel>`.

    `fetch` reads the newest page, then pages back with `?before=<smallest id seen>` until it reaches the
    cursor (or the channel's first message), and yields the posts after the cursor oldest first, at most
    `limit`, so the next run continues from the last one yielded. With no cursor (a new watch) only the newest
    page is read: a watch starts from what the channel publishes now rather than crawling years of history
    through a rate-limited page. Pages are read before the first post is yielded, so an error arrives
    before any post does.
    """

    def __init__(self, config: TmePreviewConfig, context: SourceContext) -> None:
        self._channel = config.channel
        self._base_url = context.tme_base_url.rstrip("/")
        self._timeout = context.http_timeout_seconds
        self._user_agent = context.user_agent

    def fetch(self, cursor: str | None, limit: int) -> Iterator[FetchedPost]:
        after = parse_cursor(cursor, "a t.me message id")
        if limit <= 0:
            return
        yield from self._posts_after(after)[:limit]

    def download(self, media: MediaRef, dest: IO[bytes], max_bytes: int) -> None:
        """Stream the media's URL into `dest`. On MediaTooLarge, `dest` may hold the bytes read until then.

        A file the server no longer has (an expired CDN link) raises NeedsAttention naming the URL.
        """
        import httpx

        url = urljoin(self._base_url + "/", media.locator)
        try:
            with self._client(follow_redirects=True) as client, client.stream("GET", url) as response:
                _raise_for_media_status(response, url)
                refuse_declared_size(_declared_size(response), max_bytes)
                copy_capped(response.iter_bytes(), dest, max_bytes)
        except httpx.TransportError as error:
            raise _network_retry(url, error) from error

    def _posts_after(self, after: int | None) -> list[FetchedPost]:
        with self._client(follow_redirects=False) as client:
            page = self._read_page(client, before=None)
            found = {post.message_id: post for post in page.posts if after is None or post.message_id > after}
            oldest = page.oldest_id
            while after is not None and oldest is not None and oldest > after:
                page = self._read_page(client, before=oldest)
                older = page.oldest_id
                if older is None or older >= oldest:
                    break
                found.update((p.message_id, p) for p in page.posts if p.message_id > after)
                oldest = older
        return sorted(found.values(), key=lambda post: post.message_id)

    def _read_page(self, client: httpx.Client, before: int | None) -> PreviewPage:
        import httpx

        url = f"{self._base_url}/s/{self._channel}"
        try:
            response = client.get(url, params={"before": before} if before is not None else None)
        except httpx.TransportError as error:
            raise _network_retry(url, error) from error
        self._raise_for_page_status(response)
        page = parse_preview_page(response.text, self._channel, str(response.url))
        if not page.has_channel:
            raise self._not_public()
        return page

    def _raise_for_page_status(self, response: httpx.Response) -> None:
        if response.is_redirect:
            raise self._not_public()
        if response.status_code in (404, 410):
            raise self._not_public()
        _raise_for_passing_failure(response)
        if response.status_code >= 400:
            raise NeedsAttention(f"t.me answered HTTP {response.status_code} for {response.url}")

    def _not_public(self) -> NeedsAttention:
        return NeedsAttention(f"channel @{self._channel} is not public or does not exist (no t.me/s preview)")

    def _client(self, *, follow_redirects: bool) -> httpx.Client:
        import httpx

        return httpx.Client(
            timeout=self._timeout,
            headers={"User-Agent": self._user_agent},
            follow_redirects=follow_redirects,
        )


def _raise_for_passing_failure(response: httpx.Response) -> None:
    if response.status_code == 429:
        raise RetryLater(_retry_after_seconds(response), f"t.me is rate limiting (HTTP 429) {response.url}")
    if response.status_code >= 500:
        raise RetryLater(DEFAULT_RETRY_SECONDS, f"t.me answered HTTP {response.status_code} for {response.url}")


def _raise_for_media_status(response: httpx.Response, url: str) -> None:
    _raise_for_passing_failure(response)
    if response.status_code >= 400:
        raise NeedsAttention(f"media {url} is not available (HTTP {response.status_code})")


def _retry_after_seconds(response: httpx.Response) -> float:
    """Retry-After as seconds or as an HTTP date (measured against the response's own Date); else 60 s."""
    value = (response.headers.get("Retry-After") or "").strip()
    if _is_number(value):
        return max(1.0, float(value))
    try:
        wait = parsedate_to_datetime(value) - parsedate_to_datetime(response.headers.get("Date", ""))
    except (TypeError, ValueError, IndexError):
        return DEFAULT_RETRY_SECONDS
    return max(1.0, wait.total_seconds())


def _network_retry(url: str, error: httpx.TransportError) -> RetryLater:
    import httpx

    what = "timed out" if isinstance(error, httpx.TimeoutException) else f"failed ({error.__class__.__name__})"
    return RetryLater(DEFAULT_RETRY_SECONDS, f"request to {url} {what}")


def _declared_size(response: httpx.Response) -> int | None:
    declared = response.headers.get("Content-Length", "")
    return int(declared) if _is_number(declared) else None


Config = TmePreviewConfig
Source = TmePreviewSource
