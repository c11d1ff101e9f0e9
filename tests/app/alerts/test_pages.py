"""The optional read of a lookalike link's page: a fake article on a real local server, found through a real watch,
and what the fetch refuses (private addresses, redirects into private space, what is not a page)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from functools import partial
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, select

from app.alerts.models import Alert
from app.alerts.pages import PageFetcher
from app.alerts.text import record_text_signals
from app.runtime import Runtime
from app.scheduling import build_watch_runner
from app.webhooks.urls import WebhookUrlPolicy
from tests.factories import WATCH_INTERVALS, enrol_person
from tests.support import running_server
from tests.watchers.sources.tme_pages import ChannelServer, LinkPreview
from watchers import service as watches
from watchers.schemas import WatchCreate

ARTICLE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<title>Orda.kz</title><meta property="og:title" content="Айгерим Нұртілеу: «Келісімшартқа қол қойыңыз!»">
<script>document.title = "run me"; fetch("http://127.0.0.1:9/beacon")</script><style>body{color:red}</style>
</head><body><h1>Журналист Нуртлеу Айгерим призвала подписать контракт</h1><p>Запись по телефону.</p></body></html>"""


def site() -> FastAPI:
    app = FastAPI()

    @app.get("/kontrakt")
    def article() -> HTMLResponse:
        return HTMLResponse(ARTICLE)

    @app.get("/elsewhere")
    def unrelated() -> HTMLResponse:
        return HTMLResponse("<html><head><title>Погода</title></head><body>Ясно, +25</body></html>")

    @app.get("/to-private")
    def to_private() -> RedirectResponse:
        return RedirectResponse("http://10.1.2.3/admin", status_code=302)

    @app.get("/moved")
    def moved() -> RedirectResponse:
        return RedirectResponse("/kontrakt", status_code=301)

    @app.get("/file.pdf")
    def pdf() -> Response:
        return Response(b"%PDF-1.4", media_type="application/pdf")

    return app


@pytest.fixture
def fake_site() -> Iterator[str]:
    with running_server(site()) as base_url:
        yield base_url


def everything_at(base_url: str, public: bool = True) -> WebhookUrlPolicy:
    """The address policy with every name resolving to the local site (as 0rda.kz would resolve to the fake's host),
    and the local address counted as public or not."""
    host = urlsplit(base_url).hostname or ""
    return WebhookUrlPolicy(resolve=lambda _name: [host], is_allowed=lambda address: public or not address.is_private)


def test_a_new_lookalike_alert_keeps_the_title_of_the_fake_article_and_that_it_names_her(
    make_runtime, channels: ChannelServer, fake_site: str
) -> None:
    runtime: Runtime = make_runtime(tme_base_url=channels.base_url)
    port = urlsplit(fake_site).port
    journalist = enrol_person(runtime, "Aigerim Nurtileu", aliases=["Айгерим Нұртілеу"], websites=["orda.kz"])
    fake = f"http://0rda.kz:{port}/kontrakt"
    channels.add_post("news_24_kz", "Эксклюзив", link_preview=LinkPreview(url=fake, site_name="Orda.kz"))
    channels.add_post("news_24_kz", f"Тағы да: {fake}")
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        data = WatchCreate.model_validate({"source": {"kind": "tme_preview", "channel": "news_24_kz"}})
        watch = watches.create_watch(session, data, WATCH_INTERVALS)
        session.commit()
    runner = build_watch_runner(runtime)
    runner.on_post = partial(
        record_text_signals,
        watchlists=runtime.text_watchlists,
        public_base_url="",
        pages=PageFetcher(everything_at(fake_site), timeout_seconds=5, max_bytes=65536),
    )

    assert runner.run(watch.id).error is None

    with Session(runtime.db_engine) as session:
        [alert] = session.exec(select(Alert).where(Alert.kind == "lookalike_domain")).all()
    assert alert.person_id == journalist.id and alert.occurrences_count == 2
    assert alert.evidence["page"] == {
        "url": fake,
        "title": "Айгерим Нұртілеу: «Келісімшартқа қол қойыңыз!»",
        "names_person": True,
        "error": None,
    }


def fetcher(base_url: str, public: bool = True) -> PageFetcher:
    return PageFetcher(everything_at(base_url, public), timeout_seconds=5, max_bytes=65536)


def test_the_page_is_parsed_never_run(fake_site: str) -> None:
    page = fetcher(fake_site).fetch(f"{fake_site}/moved")

    assert page.error is None and page.title == "Айгерим Нұртілеу: «Келісімшартқа қол қойыңыз!»"
    assert "Нуртлеу Айгерим" in page.text and "run me" not in page.text and "color" not in page.text


def test_private_addresses_and_redirects_into_them_are_refused(fake_site: str) -> None:
    assert "not a public address" in (fetcher(fake_site, public=False).fetch(f"{fake_site}/kontrakt").error or "")
    only_loopback = WebhookUrlPolicy(resolve=lambda name: [name], is_allowed=lambda address: address.is_loopback)
    to_private = PageFetcher(only_loopback, timeout_seconds=5, max_bytes=65536)
    assert "not a public address" in (to_private.fetch(f"{fake_site}/to-private").error or "")


def test_what_is_not_a_page_or_not_there_is_an_error_not_a_failure(fake_site: str) -> None:
    assert fetcher(fake_site).fetch(f"{fake_site}/file.pdf").error == "not a web page (application/pdf)"
    assert fetcher(fake_site).fetch(f"{fake_site}/missing").error == "HTTP 404"
    unresolvable = PageFetcher(WebhookUrlPolicy(), timeout_seconds=2, max_bytes=1024)
    assert unresolvable.fetch(f"http://{uuid.uuid4().hex}.invalid/").error
    weather = fetcher(fake_site).fetch(f"{fake_site}/elsewhere")
    assert (weather.error, weather.title, weather.text) == (None, "Погода", "Ясно, +25")
