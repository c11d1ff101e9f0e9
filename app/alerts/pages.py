"""The optional fetch of a page a lookalike link points at (`IMPWATCH_FETCH_LINKED_PAGES`, off by default): once per
lookalike alert, its title and the start of its text, as evidence of the fake article.

It goes out under the same address policy as webhooks (public addresses only, each redirect checked again, the
connection pinned to the checked address), with one deadline for the whole fetch and a size cap; the page is only
parsed, never run (no scripts, no styles, no images, no other requests).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from selectolax.lexbor import LexborHTMLParser

from app.webhooks.deadline import DeadlineTransport, attempt_deadline
from app.webhooks.urls import WebhookUrlPolicy
from core.errors import AppError

MAX_REDIRECTS = 3
TEXT_KEPT = 20_000
"""Characters of the page's text kept to look for the person's name."""
HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class FetchedPage:
    """What the linked page said, or why it could not be read (`error`)."""

    url: str
    title: str | None = None
    text: str = ""
    error: str | None = None


@dataclass(frozen=True)
class PageFetcher:
    """Fetches linked pages for evidence, each with a client of its own (they are rare: once per lookalike alert)."""

    policy: WebhookUrlPolicy
    timeout_seconds: float
    max_bytes: int

    def fetch(self, url: str) -> FetchedPage:
        """The page's title and text, following at most `MAX_REDIRECTS` redirects, each to a checked address; never
        raises for what the page or the network does."""
        try:
            with (
                attempt_deadline(self.timeout_seconds),
                httpx.Client(
                    transport=DeadlineTransport(trust_env=False),
                    follow_redirects=False,
                    trust_env=False,
                    timeout=self.timeout_seconds,
                ) as client,
            ):
                return self._follow(client, url)
        except (httpx.HTTPError, AppError, ValueError, UnicodeError) as exc:
            return FetchedPage(url=url, error=_reason(exc))

    def _follow(self, client: httpx.Client, url: str) -> FetchedPage:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            target = self.policy.target(current)
            request = client.build_request(
                "GET", target.url, headers={**target.headers, "accept": "text/html"}, extensions=target.extensions
            )
            response = client.send(request, stream=True)
            try:
                if response.is_redirect and "location" in response.headers:
                    current = str(httpx.URL(current).join(response.headers["location"]))
                    continue
                return self._page(url, response)
            finally:
                response.close()
        return FetchedPage(url=url, error=f"more than {MAX_REDIRECTS} redirects")

    def _page(self, url: str, response: httpx.Response) -> FetchedPage:
        if response.status_code >= 400:
            return FetchedPage(url=url, error=f"HTTP {response.status_code}")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in HTML_TYPES:
            return FetchedPage(url=url, error=f"not a web page ({content_type or 'no content type'})")
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) >= self.max_bytes:
                del body[self.max_bytes :]
                break
        return _parsed(url, bytes(body), response.encoding or "utf-8")


def _parsed(url: str, body: bytes, encoding: str) -> FetchedPage:
    tree = LexborHTMLParser(body.decode(encoding, errors="replace"))
    for node in tree.css("script, style, noscript, template"):
        node.decompose()
    title_node = tree.css_first("meta[property='og:title']")
    title = (title_node.attrs.get("content") if title_node is not None else None) or ""
    if not title:
        plain = tree.css_first("title")
        title = plain.text(strip=True) if plain is not None else ""
    body_node = tree.body
    text = body_node.text(separator=" ", strip=True) if body_node is not None else ""
    return FetchedPage(url=url, title=title.strip()[:300] or None, text=text[:TEXT_KEPT])


def _reason(exc: Exception) -> str:
    if isinstance(exc, AppError):
        return exc.message
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    return f"{exc.__class__.__name__}: {exc}"[:300]
