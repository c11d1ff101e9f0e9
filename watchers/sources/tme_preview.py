"""The `tme_preview` source: Telegram's public web preview of a channel, `https://t.me/s/<channel>`.

No Telegram account is needed: the preview is an HTML page of the channel's 20 newest messages, oldest at the
top, and `?before=<id>` gives the 20 messages before that id. Each message is a `div.tgme_widget_message` whose
`data-post` attribute is `<channel>/<message id>`; an album is one such block (under its first id) holding
several photos/videos. Media URLs in the page point at Telegram's CDN and are downloaded as they are.

What the preview cannot show is not invented, and not dropped either: a video too large to preview (an
`a.tgme_widget_message_video_player.not_supported`, "Media is too big") or a round video without a `<video>` has
no URL but a poster, so it is yielded as a media item whose locator is the poster (`poster_only`) with the reason
it was not fetched (`not_fetched`); with a Telegram account (`SourceContext.telegram_client`) it is fetched whole
through it instead. Any other block the preview hides (`.message_media_not_supported_wrap`, "Please open Telegram
to view this post") is a media item with no locator: recorded as not analysed, with the reason. Service
messages (pinned post, new channel photo) are not posts and are skipped; a message whose date is missing or
unreadable is skipped with a warning, while the rest of its page is still read.

httpx is imported where pages and media are read: the config is validated (by every command that lists watches)
without it.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import IO, TYPE_CHECKING, Literal
from urllib.parse import urljoin, urlsplit

from pydantic import ConfigDict, field_validator
from selectolax.lexbor import LexborHTMLParser, LexborNode

from core.telegram import channel_username, username_as_written
from watchers.sources.base import (
    FetchedPost,
    HistoryBatch,
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
    "a.tgme_widget_message_photo_wrap, video.tgme_widget_message_video, video.tgme_widget_message_roundvideo, "
    "a.tgme_widget_message_video_player.not_supported, div.tgme_widget_message_roundvideo_player, "
    ".message_media_not_supported_wrap"
)
TELEGRAM_LOCATOR_PREFIX = "telegram:"
"""A locator of a media item fetched whole through the installation's Telegram account, not the preview."""


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
        media=tuple(_message_media(block, page_url, f"{channel}/{message_id}")),
        forwarded_from_username=_forwarded_from_username(block),
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


def _forwarded_from_username(block: LexborNode) -> str | None:
    """The username in the forward's link (`https://t.me/<name>/<id>`); None for a forward from a user or a
    private channel, which has no link."""
    node = _first_own_node(block, "a.tgme_widget_message_forwarded_from_name[href]")
    if node is None:
        return None
    try:
        return channel_username(node.attrs.get("href") or "")
    except ValueError:
        return None


def _message_media(block: LexborNode, page_url: str, origin: str) -> Iterator[MediaRef]:
    """Photos, videos and round videos in page order; an album yields several. The poster of a playable video is
    not media; the poster of one the preview cannot play stands in for it, and a hidden block is an item with no
    locator and the reason."""
    seen: set[str] = set()
    for node in _own_nodes(block, _MEDIA_SELECTOR):
        found = _hidden_media_of(node, page_url, origin) if _hides_media(node) else _media_of(node, page_url)
        if found is None:
            continue
        key = found.locator or f"hidden:{node.mem_id}"
        if key not in seen:
            seen.add(key)
            yield found


def _hides_media(node: LexborNode) -> bool:
    return node.tag != "video" and not _has_class(node, "tgme_widget_message_photo_wrap")


def _hidden_media_of(node: LexborNode, page_url: str, origin: str) -> MediaRef | None:
    """A video the preview cannot play, a round video without a `<video>`, or another hidden block; None for a
    round-video player that does play (its `<video>` is the media) and for a hidden-media label inside a player."""
    if _has_class(node, "tgme_widget_message_roundvideo_player"):
        if node.css_first("video.tgme_widget_message_roundvideo") is not None:
            return None
        return _poster_stand_in(node, page_url, origin, MediaKind.ROUND_VIDEO, "tgme_widget_message_roundvideo_thumb")
    if _has_class(node, "tgme_widget_message_video_player"):
        return _poster_stand_in(node, page_url, origin, MediaKind.VIDEO, "tgme_widget_message_video_thumb")
    if _inside_player(node):
        return None
    label = _not_supported_label(node) or "the preview does not show this media"
    return MediaRef(kind=MediaKind.VIDEO, locator="", not_fetched=f"t.me preview: {label}", origin=origin)


def _inside_player(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if _has_class(parent, "tgme_widget_message_video_player") or _has_class(
            parent, "tgme_widget_message_roundvideo_player"
        ):
            return True
        if _has_class(parent, "tgme_widget_message"):
            return False
        parent = parent.parent
    return False


def _poster_stand_in(node: LexborNode, page_url: str, origin: str, kind: MediaKind, thumb_class: str) -> MediaRef:
    """The hidden video as its poster (`poster_only`), with why the video itself was not fetched."""
    item_origin = _item_origin(node) or origin
    what = "round video" if kind is MediaKind.ROUND_VIDEO else "video"
    duration = _duration(node)
    label = _not_supported_label(node) or "not playable in the preview"
    reason = f"t.me preview: {label}; the {what}{f' ({duration})' if duration else ''} was not fetched"
    thumb = node.css_first(f"i.{thumb_class}")
    poster = _absolute_http_url(_background_url(thumb.attrs.get("style") or ""), page_url) if thumb else None
    if poster is None:
        return MediaRef(kind=kind, locator="", not_fetched=f"{reason}, and it has no poster", origin=item_origin)
    file_name = urlsplit(poster).path.rsplit("/", 1)[-1] or None
    return MediaRef(
        kind=kind,
        locator=poster,
        file_name=file_name,
        mime_type=mimetypes.guess_type(file_name)[0] if file_name else None,
        poster_only=True,
        not_fetched=f"{reason}; only its poster was analysed",
        origin=item_origin,
    )


def _item_origin(node: LexborNode) -> str | None:
    """`<channel>/<id>` of an album item, from its link (`https://t.me/<channel>/<id>?single`)."""
    parts = urlsplit(node.attrs.get("href") or "").path.strip("/").split("/")
    if len(parts) == 2 and parts[0] and _is_number(parts[1]):
        return f"{parts[0]}/{parts[1]}"
    return None


def _duration(node: LexborNode) -> str | None:
    found = node.css_first("time.message_video_duration, time.tgme_widget_message_roundvideo_duration")
    text = found.text(deep=True, strip=True) if found is not None else ""
    return text or None


def _not_supported_label(node: LexborNode) -> str | None:
    found = node.css_first(".message_media_not_supported_label")
    if found is None and _has_class(node, "message_media_not_supported_label"):
        found = node
    text = found.text(deep=True, strip=True) if found is not None else ""
    return text or None


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
        self._context = context
        self._newest_page: PreviewPage | None = None

    def fetch(self, cursor: str | None, limit: int) -> Iterator[FetchedPost]:
        after = parse_cursor(cursor, "a t.me message id")
        if limit <= 0:
            return
        self._newest_page = None
        for post in self._posts_after(after)[:limit]:
            yield self._with_account_media(post)

    def download(self, media: MediaRef, dest: IO[bytes], max_bytes: int) -> None:
        """Stream the media's URL into `dest`. On MediaTooLarge, `dest` may hold the bytes read until then.

        A file the server no longer has (an expired CDN link) raises NeedsAttention naming the URL.
        """
        if media.locator.startswith(TELEGRAM_LOCATOR_PREFIX):
            self._download_through_account(media, dest, max_bytes)
            return
        import httpx

        url = urljoin(self._base_url + "/", media.locator)
        try:
            with self._client(follow_redirects=True) as client, client.stream("GET", url) as response:
                _raise_for_media_status(response, url)
                refuse_declared_size(_declared_size(response), max_bytes)
                copy_capped(response.iter_bytes(), dest, max_bytes)
        except httpx.TransportError as error:
            raise _network_retry(url, error) from error

    def fetch_history(self, since: datetime, position: str | None, max_pages: int) -> HistoryBatch:
        """Page back from `?before=<position>` (None: the newest page) for at most `max_pages` pages, keeping the
        posts from `since` on; complete once a page reaches back before `since` or the channel's first message."""
        posts, before, complete = self._pages_back(since, parse_cursor(position, "a t.me message id"), max_pages)
        return HistoryBatch(posts=tuple(posts), position=None if before is None else str(before), complete=complete)

    def fetch_recent(self, since: datetime, max_pages: int) -> list[FetchedPost]:
        """The posts published from `since` on as the preview shows them now: the newest page, and older pages
        while their posts are still that recent (at most `max_pages` pages)."""
        return self._pages_back(since, None, max_pages)[0]

    def _pages_back(
        self, since: datetime, before: int | None, max_pages: int
    ) -> tuple[list[FetchedPost], int | None, bool]:
        """Posts from `since` on, from the page before `before` (None: the newest) back, oldest first; where the
        next page would start, and whether `since` (or the channel's first message) was reached."""
        found: dict[int, FetchedPost] = {}
        complete = False
        with self._client(follow_redirects=False) as client:
            for _ in range(max(1, max_pages)):
                page = self._read_page(client, before=before)
                found.update((p.message_id, p) for p in page.posts if p.date >= since)
                oldest = page.oldest_id
                if oldest is None or (before is not None and oldest >= before) or oldest <= 1:
                    complete = True
                    break
                before = oldest
                if any(post.date < since for post in page.posts):
                    complete = True
                    break
        posts = [self._with_account_media(p) for p in sorted(found.values(), key=lambda p: p.message_id)]
        return posts, before, complete

    def _with_account_media(self, post: FetchedPost) -> FetchedPost:
        """With a Telegram account, media the preview hides are fetched whole through it, not as their poster."""
        if self._context.telegram_client is None or not any(m.not_fetched and m.origin for m in post.media):
            return post
        return replace(post, media=tuple(_through_account(media) for media in post.media))

    def _download_through_account(self, media: MediaRef, dest: IO[bytes], max_bytes: int) -> None:
        from watchers.sources.telegram import TelegramConfig, TelegramSource, parse_locator

        channel, message_id = parse_locator(media.locator.removeprefix(TELEGRAM_LOCATOR_PREFIX))
        source = TelegramSource(TelegramConfig(channel=channel), self._context)
        source.download(replace(media, locator=f"{channel}/{message_id}"), dest, max_bytes)

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
        """One page. The newest is read once from each `fetch` on: the history and the edit check of the same run
        start from the page the live posts came from."""
        if before is None and self._newest_page is not None:
            return self._newest_page
        page = self._request_page(client, before)
        if before is None:
            self._newest_page = page
        return page

    def _request_page(self, client: httpx.Client, before: int | None) -> PreviewPage:
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


def _through_account(media: MediaRef) -> MediaRef:
    if not (media.not_fetched and media.origin):
        return media
    return MediaRef(kind=media.kind, locator=f"{TELEGRAM_LOCATOR_PREFIX}{media.origin}", origin=media.origin)


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
