"""Rendering the console's pages: templates, the language and time zone of the reader, and the CSRF token.

The language comes from the `iw_lang` cookie (the switcher), else the browser's `Accept-Language`; the catalogues
are gettext `.po` files under `i18n/`, compiled in memory by Babel when the app starts.
"""

from __future__ import annotations

import io
import secrets
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session
from starlette.types import Scope as ASGIScope

from app.auth import service as auth
from app.auth.rules import SESSION_COOKIE
from core.clock import utcnow
from core.errors import AppError, Unauthenticated
from core.scope import Scope

HERE = Path(__file__).resolve().parent
LANGUAGES = {"ru": "Русский", "kk": "Қазақша", "en": "English"}
DEFAULT_LANGUAGE = "ru"
LANGUAGE_COOKIE = "iw_lang"
CSRF_COOKIE = "iw_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"

templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(), auto_reload=False)
)


@cache
def translations(language: str) -> NullTranslations:
    """The language's catalogue (English is the messages' own language)."""
    po = HERE / "i18n" / language / "LC_MESSAGES" / "console.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def language_of(request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    offered = [
        part.split(";")[0].strip().replace("-", "_") for part in request.headers.get("accept-language", "").split(",")
    ]
    try:
        negotiated = Locale.negotiate([item for item in offered if item], list(LANGUAGES), sep="_")
    except (UnknownLocaleError, ValueError):
        negotiated = None
    return negotiated.language if negotiated is not None else DEFAULT_LANGUAGE


def gettext(request: Request, message: str) -> str:
    return translations(language_of(request)).gettext(message)


def scope_of(request: Request) -> Scope:
    scope = request.state.scope
    assert isinstance(scope, Scope)
    return scope


def csrf_token(request: Request, session: Session) -> str:
    """The token forms and htmx requests must send back: the signed-in session's own, or for a visitor the token
    of the `iw_csrf` cookie (double submit), made on first sight and set by `render`."""
    cached = getattr(request.state, "csrf_token", None)
    if cached:
        return str(cached)
    token = request.cookies.get(SESSION_COOKIE)
    expected: str | None = None
    if token:
        try:
            expected = auth.signed_in(session, token, utcnow())[0].csrf_token
        except Unauthenticated:
            expected = None
    expected = expected or request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    request.state.csrf_token = expected
    return expected


async def check_csrf(request: Request, session: Session) -> None:
    """Every state-changing console request carries the token, in the `X-CSRF-Token` header (htmx) or the form."""
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    expected = csrf_token(request, session)
    if not sent or not secrets.compare_digest(sent, expected):
        raise auth.Forbidden("csrf_failed", "the form is stale or was not sent by this console: reload the page")


def local_time(request: Request, when: datetime | None) -> str:
    if when is None:
        return ""
    zone = ZoneInfo(request.app.state.settings.console_time_zone)
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def render(request: Request, session: Session, template: str, status_code: int = 200, **context: Any) -> Response:
    language = language_of(request)
    token = csrf_token(request, session)
    catalogue = translations(language)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "scope": getattr(request.state, "scope", None),
            "language": language,
            "languages": LANGUAGES,
            "csrf_token": token,
            "_": catalogue.gettext,
            "time": lambda when: local_time(request, when),
            "time_zone": request.app.state.settings.console_time_zone,
            **context,
        },
        status_code=status_code,
    )
    if request.cookies.get(CSRF_COOKIE) != token and not request.cookies.get(SESSION_COOKIE):
        set_cookie(request, response, CSRF_COOKIE, token, max_age=None)
    return response


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.console_secure_cookie,
        path="/",
    )


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def error_page(request: Request, exc: AppError) -> Response:
    """A refusal as a page: signed out, to the sign-in page; otherwise the message with the API's status."""
    if isinstance(exc, Unauthenticated) and request.method == "GET" and exc.code == "signed_out":
        return redirect(f"/login?next={request.url.path}")
    with Session(request.app.state.db_engine) as session:
        return render(request, session, "error.html", status_code=exc.status_code, error=exc)


def page_refusal(exc: AppError, scope: ASGIScope) -> Response:
    """For `GuardBodies`: a console page refused before its body was read."""
    request = Request(scope)
    request.state.scope = None
    if isinstance(exc, Unauthenticated) and scope["method"] == "GET":
        return redirect(f"/login?next={request.url.path}")
    title = translations(language_of(request)).gettext("Not allowed")
    body = f"<!doctype html><title>{title}</title><p>{title}: {exc.code}</p><p><a href='/login'>/login</a></p>"
    return HTMLResponse(body, status_code=exc.status_code)


CONSENT_TEXT = (
    "I agree that this service keeps face encodings and crops made from the photos I upload, and my name, only to "
    "find my likeness in public Telegram channels and alert me and my organisation. I can erase myself at any time "
    "from my person page, which removes my photos, encodings and alerts."
)
"""The consent statement of `routes.CONSENT_VERSION`, shown and recorded in the reader's language."""
