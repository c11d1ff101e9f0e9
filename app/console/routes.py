"""The console's pages. Thin like the API's routes: parse the form, call the services, commit, render.

Every page has a rule in `app.auth.rules.CONSOLE_RULES` (checked before the route runs, from the session cookie);
every state-changing request carries the CSRF token (`pages.check_csrf`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response
from sqlmodel import Session

from app.alerts import service as alerts
from app.alerts.models import ALERT_KINDS, ALERT_STATUSES, ALERT_TIERS
from app.alerts.schemas import AlertFilter, AlertUpdate
from app.auth import service as auth
from app.auth.models import ROLES
from app.auth.rules import SESSION_COOKIE
from app.console import pages
from app.console import service as console
from app.console.pages import redirect, render, scope_of
from app.db import flush_deleted_data
from app.privacy import erase_person
from app.rescan import service as rescans
from app.webhooks import service as webhooks
from app.webhooks.schemas import EndpointCreate
from core.clock import utcnow
from core.errors import AppError, InputRejected, NotFound
from core.http import SessionDep, api_router, read_upload
from watchers import service as watch_service
from watchers.channels import service as channels
from watchers.schemas import WatchCreate, WatchUpdate
from watchlist import service as people
from watchlist.models import Person
from watchlist.schemas import PersonCreate, PersonUpdate
from watchlist.service import EnrolmentPhoto, NoUsablePhoto

CONSENT_VERSION = "2026-12-01"
TRIAGE_STATUSES = ("confirmed_impersonation", "authentic", "false_match", "dismissed")


async def csrf(request: Request, session: SessionDep) -> None:
    await pages.check_csrf(request, session)


router = api_router(include_in_schema=False)
changes = api_router(include_in_schema=False, dependencies=[Depends(csrf)])
Text = Annotated[str, Form(max_length=10_000)]
Photos = Annotated[list[UploadFile], File()]


def _photos(request: Request, uploads: list[UploadFile]) -> list[EnrolmentPhoto]:
    max_bytes = request.app.state.settings.max_upload_bytes
    return [
        EnrolmentPhoto(str(upload.filename), partial(read_upload, upload, max_bytes))
        for upload in uploads
        if upload.filename
    ]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


# --- signing in ---


@router.get("/")
def home(request: Request) -> Response:
    scope = scope_of(request)
    if scope.role == "anonymous":
        return redirect("/login")
    return redirect("/watches" if scope.role == "operator" else "/alerts")


@router.get("/login")
def login_page(request: Request, session: SessionDep, next: str = "/") -> Response:
    return render(request, session, "login.html", next=next)


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


@changes.post("/login")
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=1000)] = "/",
) -> Response:
    limiter = request.app.state.login_limiter
    try:
        limiter.take(uuid.uuid5(uuid.NAMESPACE_URL, f"login:{email.strip().lower()}"), "sign-in attempts")
        user = auth.authenticate_user(session, email, password)
    except AppError as exc:
        return render(request, session, "login.html", status_code=exc.status_code, next=next, error=exc, email=email)
    return _signed_in_response(request, session, user, _safe_next(next))


def _signed_in_response(request: Request, session: Session, user: auth.User, target: str) -> Response:
    hours = request.app.state.settings.console_session_hours
    _, token = auth.open_session(session, user, timedelta(hours=hours), utcnow())
    session.commit()
    response = redirect(target)
    pages.set_cookie(request, response, SESSION_COOKIE, token, max_age=int(hours * 3600))
    response.delete_cookie(pages.CSRF_COOKIE, path="/")
    return response


@changes.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    auth.close_session(session, request.cookies.get(SESSION_COOKIE, ""))
    session.commit()
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/language")
def choose_language(request: Request, lang: str = pages.DEFAULT_LANGUAGE, next: str = "/") -> Response:
    response = redirect(_safe_next(next))
    if lang in pages.LANGUAGES:
        pages.set_cookie(request, response, pages.LANGUAGE_COOKIE, lang, max_age=365 * 24 * 3600)
    return response


@router.get("/password/{token}")
def password_page(request: Request, session: SessionDep, token: str) -> Response:
    user = auth.user_for_password_token(session, token, utcnow())
    return render(request, session, "password.html", email=user.email, token=token)


@changes.post("/password/{token}")
def set_password(
    request: Request, session: SessionDep, token: str, password: Annotated[str, Form(max_length=1000)]
) -> Response:
    try:
        user = auth.set_password(session, token, password, utcnow())
    except InputRejected as exc:
        email = auth.user_for_password_token(session, token, utcnow()).email
        return render(request, session, "password.html", status_code=422, email=email, token=token, error=exc)
    return _signed_in_response(request, session, user, "/")


# --- alerts ---


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError as exc:
        raise InputRejected("invalid_input", f"{value!r} is not an id") from exc


def _day(request: Request, value: str | None, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(request.app.state.settings.console_time_zone))
    except ValueError as exc:
        raise InputRejected("invalid_input", f"{value!r} is not a date") from exc
    return (day + timedelta(days=1) if end else day).astimezone(UTC)


def _chosen(values: list[str], allowed: tuple[str, ...]) -> list[str] | None:
    kept = [value for value in values if value in allowed]
    return kept or None


@router.get("/alerts")
def inbox(
    request: Request,
    session: SessionDep,
    person: str = "",
    kind: Annotated[list[str], Query()] = [],  # noqa: B006  # FastAPI copies query defaults
    tier: Annotated[list[str], Query()] = [],  # noqa: B006
    status: Annotated[list[str], Query()] = [],  # noqa: B006
    channel: Annotated[str, Query(max_length=500)] = "",
    since: str = "",
    until: str = "",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    scope = scope_of(request)
    filters = AlertFilter(
        person_id=_uuid(person),
        kind=_chosen(kind, ALERT_KINDS),
        tier=_chosen(tier, ALERT_TIERS),
        status=_chosen(status, ALERT_STATUSES),
        channel=channel or None,
        since=_day(request, since),
        until=_day(request, until, end=True),
    )
    found = console.inbox(session, filters, cursor, scope)
    persons, channels = console.filter_choices(session, scope)
    chosen = {
        "person": person,
        "kind": kind,
        "tier": tier,
        "status": status,
        "channel": channel,
        "since": since,
        "until": until,
    }
    query = request.url.query
    return render(
        request,
        session,
        "inbox.html",
        inbox=found,
        persons=persons,
        channels=channels,
        chosen=chosen,
        kinds=ALERT_KINDS,
        tiers=ALERT_TIERS,
        statuses=ALERT_STATUSES,
        triage_statuses=TRIAGE_STATUSES,
        query=query,
    )


@changes.post("/alerts/{alert_id}/triage")
def triage(
    request: Request,
    session: SessionDep,
    alert_id: uuid.UUID,
    status: Annotated[str, Form(max_length=40)],
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    scope = scope_of(request)
    if status not in ALERT_STATUSES:
        raise InputRejected("invalid_status", f"the status is one of {', '.join(ALERT_STATUSES)}")
    alert = alerts.get_alert(session, alert_id, scope)
    update = AlertUpdate(status=status, note=note or alert.note)
    alerts.triage(session, alert, update, public_base_url=request.app.state.settings.public_base_url)
    session.commit()
    if pages.is_htmx(request):
        row = console.inbox_row(session, alert)
        return render(request, session, "_alert_row.html", row=row, triage_statuses=TRIAGE_STATUSES)
    return redirect(f"/alerts/{alert_id}")


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, session: SessionDep, alert_id: uuid.UUID) -> Response:
    scope = scope_of(request)
    alert = alerts.get_alert(session, alert_id, scope)
    store = request.app.state.runtime.media_store
    media = [
        (item, store.path_of(item.sha256).is_file() if item.sha256 else False)
        for item in console.alert_media(session, alert)
    ]
    return render(
        request,
        session,
        "alert.html",
        row=console.inbox_row(session, alert),
        alert=alert,
        occurrences=alerts.occurrences(session, alert),
        media=media,
        history=console.triage_history(session, alert),
        triage_statuses=TRIAGE_STATUSES,
    )


def _jpeg(data: bytes | None, what: str) -> Response:
    if not data:
        raise NotFound(f"{what} is not kept")
    return Response(data, media_type="image/jpeg", headers={"cache-control": "private, max-age=3600"})


@router.get("/alerts/{alert_id}/crop.jpg")
def alert_crop(request: Request, session: SessionDep, alert_id: uuid.UUID) -> Response:
    return _jpeg(alerts.face_crop(session, alerts.get_alert(session, alert_id, scope_of(request))), "the face crop")


@router.get("/alerts/{alert_id}/reference.jpg")
def alert_reference(request: Request, session: SessionDep, alert_id: uuid.UUID) -> Response:
    alert = alerts.get_alert(session, alert_id, scope_of(request))
    return _jpeg(console.reference_crop(session, alert), "the reference face")


@router.get("/alerts/{alert_id}/media/{media_item_id}")
def alert_media(request: Request, session: SessionDep, alert_id: uuid.UUID, media_item_id: uuid.UUID) -> Response:
    """The kept media file, with HTTP Range (a video can start at the matched second)."""
    alert = alerts.get_alert(session, alert_id, scope_of(request))
    path, kind = console.kept_media_path(session, alert, media_item_id, request.app.state.runtime.media_store)
    return FileResponse(path, media_type=console.media_type_of(path, kind))


@router.get("/alerts/{alert_id}/evidence.zip")
def evidence(request: Request, session: SessionDep, alert_id: uuid.UUID) -> Response:
    alert = alerts.get_alert(session, alert_id, scope_of(request))
    name = people.person_names(session, {alert.person_id}).get(alert.person_id, "")
    data = console.evidence_zip(session, alert, request.app.state.runtime.media_store, name)
    disposition = f'attachment; filename="evidence-{alert.id}.zip"'
    return Response(data, media_type="application/zip", headers={"content-disposition": disposition})


# --- people ---


@router.get("/people")
def people_page(request: Request, session: SessionDep) -> Response:
    scope = scope_of(request)
    persons = people.list_persons(session, scope=scope)
    counts = people.reference_face_counts(session, [person.id for person in persons])
    return render(request, session, "people.html", persons=persons, counts=counts)


@router.get("/people/new")
def new_person_page(request: Request, session: SessionDep) -> Response:
    return render(request, session, "person_new.html")


@changes.post("/people/check-photos")
def check_photos(request: Request, session: SessionDep, photos: Photos) -> Response:
    """Each photo's result (accepted, or refused with its reason) before anything is saved."""
    return _photo_results(request, session, photos)


def _photo_results(request: Request, session: Session, photos: list[UploadFile]) -> Response:
    runtime = request.app.state.runtime
    analysed = people.analyse_photos(_photos(request, photos), runtime.face_engine, runtime.enrolment_policy)
    return render(request, session, "_photo_results.html", analysed=analysed)


@changes.post("/people")
def create_person(
    request: Request,
    session: SessionDep,
    display_name: Annotated[str, Form(min_length=1, max_length=200)],
    photos: Photos,
    role_title: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    runtime = request.app.state.runtime
    scope = scope_of(request)
    data = PersonCreate(display_name=display_name, role_title=role_title or None)
    try:
        person, _ = people.create_enrolled_person(
            session, data, scope, _photos(request, photos), runtime.face_engine, runtime.enrolment_policy
        )
    except NoUsablePhoto as exc:
        refused = people.AnalysedPhotos([], exc.refused)
        return render(request, session, "person_new.html", status_code=422, analysed=refused, name=display_name)
    session.commit()
    return redirect(f"/people/{person.id}")


@router.get("/people/{person_id}")
def person_page(request: Request, session: SessionDep, person_id: uuid.UUID) -> Response:
    person = people.get_person(session, person_id, scope_of(request))
    faces = people.list_reference_faces(session, person)
    return render(
        request, session, "person.html", person=person, faces=faces, **_rescan_facts(request, session, person)
    )


def _rescan_facts(request: Request, session: Session, person: Person) -> dict[str, Any]:
    """The person's last re-scan and its state, for the page's re-scan section."""
    settings = request.app.state.settings
    latest = rescans.latest_rescan(session, person.id)
    state = rescans.state_of(latest, utcnow(), timedelta(seconds=settings.rescan_stale_seconds)) if latest else None
    return {"rescan": latest, "rescan_state": state, "keeps_media": settings.keep_media}


@changes.post("/people/{person_id}/rescan")
def rescan(request: Request, session: SessionDep, person_id: uuid.UUID) -> Response:
    """Re-scan the kept media for this person in the background; the person's page shows how far it came."""
    person = people.get_person(session, person_id, scope_of(request))
    started = rescans.start_rescan(session, person.id, None)
    session.commit()
    request.app.state.rescans.start(started.id)
    return redirect(f"/people/{person_id}#rescan")


@changes.post("/people/{person_id}")
def update_person(
    request: Request,
    session: SessionDep,
    person_id: uuid.UUID,
    tolerance: Annotated[float, Form(gt=0, le=1)],
    name_mentions: Annotated[str, Form(max_length=20)],
    aliases: Text = "",
    distinctive_aliases: Text = "",
    phone_numbers: Text = "",
    websites: Text = "",
    official_channels: Text = "",
) -> Response:
    person = people.get_person(session, person_id, scope_of(request))
    data = PersonUpdate.model_validate(
        {
            "tolerance": tolerance,
            "name_mentions": name_mentions,
            "aliases": _lines(aliases),
            "distinctive_aliases": _lines(distinctive_aliases),
            "phone_numbers": _lines(phone_numbers),
            "websites": _lines(websites),
            "official_channels": _lines(official_channels),
        }
    )
    people.update_person(session, person, data, phone_region=request.app.state.settings.phone_region)
    session.commit()
    return redirect(f"/people/{person_id}")


@router.get("/people/{person_id}/faces/{face_id}/crop.jpg")
def face_crop(request: Request, session: SessionDep, person_id: uuid.UUID, face_id: uuid.UUID) -> Response:
    person = people.get_person(session, person_id, scope_of(request))
    return _jpeg(people.get_reference_face(session, person, face_id).crop_jpeg, "the reference face")


@changes.post("/people/{person_id}/erase")
def erase(
    request: Request, session: SessionDep, person_id: uuid.UUID, confirm: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """Erasure, once the person's name is typed as it is shown."""
    scope = scope_of(request)
    person = people.get_person(session, person_id, scope)
    if confirm.strip() != person.display_name:
        faces = people.list_reference_faces(session, person)
        refusal = InputRejected("confirmation_mismatch", "type the name exactly as shown to erase")
        facts = _rescan_facts(request, session, person)
        return render(request, session, "person.html", 422, person=person, faces=faces, error=refusal, **facts)
    erase_person(session, person, scope, request.app.state.runtime.media_store)
    session.commit()
    flush_deleted_data(request.app.state.db_engine)
    if scope.role == "subject":
        response = redirect("/login?erased=1")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    return redirect("/people")


# --- invitations and self-enrolment ---


@router.get("/invitations")
def invitations_page(request: Request, session: SessionDep) -> Response:
    scope = scope_of(request)
    assert scope.organization_id is not None
    listed = auth.list_invitations(session, scope.organization_id)
    return render(request, session, "invitations.html", invitations=listed)


@changes.post("/invitations")
def create_invitation(
    request: Request,
    session: SessionDep,
    note: Annotated[str, Form(max_length=500)] = "",
    valid_hours: Annotated[int, Form(ge=1, le=24 * 30)] = 72,
) -> Response:
    scope = scope_of(request)
    assert scope.organization_id is not None
    invitation, token = auth.create_invitation(session, scope.organization_id, timedelta(hours=valid_hours), note, None)
    auth.audit(session, scope, "invitation.created", "invitation", invitation.id)
    session.commit()
    link = f"{request.app.state.settings.public_base_url.rstrip('/')}/enrol/{token}"
    listed = auth.list_invitations(session, scope.organization_id)
    return render(request, session, "invitations.html", invitations=listed, link=link)


def _consent_text(request: Request) -> str:
    return pages.gettext(request, pages.CONSENT_TEXT)


@router.get("/enrol/{token}")
def enrol_page(request: Request, session: SessionDep, token: str) -> Response:
    auth.open_invitation(session, token, utcnow())
    return render(
        request, session, "enrol.html", token=token, consent_text=_consent_text(request), version=CONSENT_VERSION
    )


@changes.post("/enrol/{token}/check-photos")
def enrol_check_photos(request: Request, session: SessionDep, token: str, photos: Photos) -> Response:
    auth.open_invitation(session, token, utcnow())
    return _photo_results(request, session, photos)


@changes.post("/enrol/{token}")
def enrol(
    request: Request,
    session: SessionDep,
    token: str,
    display_name: Annotated[str, Form(min_length=1, max_length=200)],
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    photos: Photos,
    consent: Annotated[bool, Form()] = False,
) -> Response:
    """The journalist enrols themself: consent, photos, and an account that sees only their own alerts."""
    runtime = request.app.state.runtime
    agreed = auth.Consent(
        consent, _consent_text(request), CONSENT_VERSION, request.client.host if request.client else None
    )
    form = {
        "token": token,
        "consent_text": agreed.text,
        "version": CONSENT_VERSION,
        "name": display_name,
        "email": email,
    }
    try:
        auth.require_consent(agreed)
        invitation = auth.claim_invitation(session, token, utcnow())
    except AppError as exc:
        return render(request, session, "enrol.html", status_code=exc.status_code, error=exc, **form)
    session.commit()
    try:
        redeemed = auth.redeem_invitation(
            session,
            invitation,
            display_name,
            agreed,
            _photos(request, photos),
            runtime.face_engine,
            runtime.enrolment_policy,
            utcnow(),
        )
        user, _ = auth.create_user(
            session, email, "subject", invitation.organization_id, password=password, person_id=redeemed.person.id
        )
    except AppError as exc:
        session.rollback()
        auth.release_invitation(session, invitation.id)
        session.commit()
        refused = people.AnalysedPhotos([], exc.refused) if isinstance(exc, NoUsablePhoto) else None
        return render(request, session, "enrol.html", status_code=exc.status_code, error=exc, analysed=refused, **form)
    return _signed_in_response(request, session, user, "/alerts")


# --- users ---


@router.get("/users")
def users_page(request: Request, session: SessionDep) -> Response:
    return render(request, session, "users.html", users=auth.list_users(session, scope_of(request)), roles=ROLES)


@changes.post("/users")
def invite_user(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    role: Annotated[str, Form(max_length=20)],
) -> Response:
    """A colleague's account with no password yet: the one-time link to set it is shown once."""
    scope = scope_of(request)
    allowed = ("org_admin", "org_member") if scope.organization_id is not None else ("operator",)
    if role not in allowed:
        raise InputRejected("invalid_role", f"the role is one of {', '.join(allowed)}")
    user, token = auth.create_user(session, email, role, scope.organization_id)
    auth.audit(session, scope, "user.invited", "user", user.id, role=role)
    session.commit()
    link = f"{request.app.state.settings.public_base_url.rstrip('/')}/password/{token}"
    return render(request, session, "users.html", users=auth.list_users(session, scope), roles=ROLES, link=link)


# --- watches ---


def _channel_of(text: str) -> str:
    """A channel's username from `@name`, `name`, `t.me/name` or `https://t.me/s/name`."""
    name = text.strip().removeprefix("https://").removeprefix("http://").removeprefix("t.me/").removeprefix("s/")
    return name.removeprefix("@").strip("/").split("/")[0]


CANDIDATES_SHOWN = 20


@router.get("/watches")
def watches_page(request: Request, session: SessionDep) -> Response:
    """The watches, and the channels their posts point to (forwards, links, mentions) that nobody watches yet."""
    candidates = channels.list_candidates(session, CANDIDATES_SHOWN)
    return render(request, session, "watches.html", watches=watch_service.list_watches(session), candidates=candidates)


@changes.post("/channels/{candidate_id}/watch")
def watch_candidate(request: Request, session: SessionDep, candidate_id: uuid.UUID) -> Response:
    candidate = channels.find_candidate(session, str(candidate_id))
    channels.watch_candidate(session, candidate, request.app.state.runtime.watch_intervals)
    session.commit()
    return redirect("/watches")


@changes.post("/watches")
def add_watch(request: Request, session: SessionDep, channel: Annotated[str, Form(max_length=500)]) -> Response:
    data = WatchCreate.model_validate({"source": {"kind": "tme_preview", "channel": _channel_of(channel)}})
    watch_service.create_watch(session, data, request.app.state.runtime.watch_intervals)
    session.commit()
    return redirect("/watches")


@changes.post("/watches/{watch_id}/{action}")
def change_watch(request: Request, session: SessionDep, watch_id: uuid.UUID, action: str) -> Response:
    watch = watch_service.get_watch(session, watch_id)
    intervals = request.app.state.runtime.watch_intervals
    if action == "run":
        watch_service.request_run(session, watch)
    elif action in ("pause", "resume"):
        watch_service.update_watch(session, watch, WatchUpdate(enabled=action == "resume"), intervals)
    else:
        raise NotFound(f"no watch action {action!r}")
    session.commit()
    return redirect("/watches")


# --- webhooks ---


@router.get("/webhooks")
def webhooks_page(request: Request, session: SessionDep) -> Response:
    return render(request, session, "webhooks.html", endpoints=webhooks.list_endpoints(session, scope_of(request)))


@changes.post("/webhooks")
def add_webhook(
    request: Request,
    session: SessionDep,
    url: Annotated[str, Form(max_length=2000)],
    description: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    scope = scope_of(request)
    data = EndpointCreate.model_validate({"url": url, "description": description})
    endpoint, secret = webhooks.create_endpoint(
        session, scope.organization_id, data, request.app.state.webhook_url_policy
    )
    session.commit()
    listed = webhooks.list_endpoints(session, scope)
    return render(request, session, "webhooks.html", endpoints=listed, created=endpoint, secret=secret)


@router.get("/webhooks/{endpoint_id}")
def webhook_page(request: Request, session: SessionDep, endpoint_id: uuid.UUID) -> Response:
    endpoint = webhooks.get_endpoint(session, endpoint_id, scope_of(request))
    deliveries = webhooks.list_deliveries(session, endpoint, None, 100, 0)
    attempts = webhooks.attempts_of(session, [delivery.id for delivery, _ in deliveries])
    return render(request, session, "webhook.html", endpoint=endpoint, deliveries=deliveries, attempts=attempts)


@changes.post("/webhooks/{endpoint_id}/test")
def test_webhook(request: Request, session: SessionDep, endpoint_id: uuid.UUID) -> Response:
    webhooks.enqueue_test_event(session, webhooks.get_endpoint(session, endpoint_id, scope_of(request)))
    session.commit()
    return redirect(f"/webhooks/{endpoint_id}")


@changes.post("/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry")
def retry_delivery(request: Request, session: SessionDep, endpoint_id: uuid.UUID, delivery_id: uuid.UUID) -> Response:
    endpoint = webhooks.get_endpoint(session, endpoint_id, scope_of(request))
    delivery, _ = webhooks.get_delivery(session, endpoint, delivery_id)
    webhooks.retry_by_hand(session, endpoint, delivery, utcnow())
    session.commit()
    return redirect(f"/webhooks/{endpoint_id}")


# --- audit ---


@router.get("/audit")
def audit_page(request: Request, session: SessionDep) -> Response:
    return render(request, session, "audit.html", events=console.audit_page(session, scope_of(request)))
