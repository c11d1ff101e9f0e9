"""The demo: enrol two sample people from bundled photos; then either scan bundled photos and a video
(`impwatch demo --scan-only`), or prepare the whole chain that `impwatch demo` runs: a watch on the stand-in
channel of `app.demo_channel`, console logins, and a webhook endpoint to the receiver of `app.demo_receiver`.

Running the demo again reuses what the last run made (the organisation, people, users, endpoint and watch, and
so the alerts raised before); only the logins' password is new at each start."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from app.auth import service as auth_service
from app.auth.models import Organization, User
from app.demo_channel import SamplePost
from app.runtime import Runtime
from core.errors import NotFound
from core.scope import Scope
from watchers import analysis as scan_service
from watchers.schemas import ScanResult
from watchlist import service as watchlist_service
from watchlist.models import Person
from watchlist.schemas import PersonCreate, PersonUpdate

DEMO_MEDIA = Path(__file__).resolve().parent / "demo_media"
DEMO_PEOPLE = {"Barack Obama": "obama.jpg", "Lin-Manuel Miranda": "lmm1.png"}
DEMO_SCANS = ("obama2.jpg", "two_people.jpg", "kit_with_rose.jpg", "short_hamilton_clip.mp4")


DEMO_ORGANIZATION = "Demo press office"
DEMO_PHONE_NUMBERS = {"Barack Obama": ["+7 701 555 12 34"]}
DEMO_CHANNEL = "akimat_news_kz"
DEMO_CHANNEL_TITLE = "Акимат жаңалықтары (fake)"
DEMO_POSTS = [
    SamplePost(
        "Срочное обращение! Министр призывает граждан подписать контракт. Вопросы по номеру +7 701 555 12 34. "
        "Подписывайтесь: @kz_march_2026",
        "obama2.jpg",
    ),
    SamplePost(
        "Бейнеүндеу: барлық азаматтарға арналған маңызды хабарлама. Толығырақ: 8 701 555 1234",
        "short_hamilton_clip.mp4",
    ),
    SamplePost("Встреча делегаций в Астане", "two_people.jpg"),
    SamplePost("Премьера фильма в Алматы", "kit_with_rose.jpg"),
]
DEMO_ADMIN_EMAIL = "demo@example.org"
DEMO_OPERATOR_EMAIL = "operator@example.org"
DEMO_RECEIVER_DESCRIPTION = "impwatch demo receiver"
DEMO_WATCH_INTERVAL_SECONDS = 60


@dataclass(frozen=True)
class DemoScan:
    file_name: str
    result: ScanResult


def enrol_demo_people(runtime: Runtime) -> list[Person]:
    """Enrol the demo people once; running the demo again reuses them."""
    people = []
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        organization = _demo_organization(session)
        scope = Scope("org_admin", organization.id)
        for name, photo in DEMO_PEOPLE.items():
            person = watchlist_service.find_person_by_name(session, name)
            if person is None:
                data = PersonCreate(display_name=name, phone_numbers=DEMO_PHONE_NUMBERS.get(name, []))
                person = watchlist_service.create_person(session, data, scope, phone_region="KZ")
                watchlist_service.enrol_face(
                    session, person, (DEMO_MEDIA / photo).read_bytes(), runtime.face_engine, runtime.enrolment_policy
                )
            people.append(person)
        session.commit()
    return people


def _demo_organization(session: Session) -> Organization:
    try:
        return auth_service.find_organization(session, DEMO_ORGANIZATION)
    except NotFound:
        return auth_service.create_organization(session, DEMO_ORGANIZATION)


def scan_demo_media(runtime: Runtime) -> list[DemoScan]:
    with Session(runtime.db_engine) as session:
        return [
            DemoScan(
                name,
                scan_service.scan_file(session, DEMO_MEDIA / name, runtime.workers, runtime.matchers),
            )
            for name in DEMO_SCANS
        ]


@dataclass(frozen=True)
class LiveDemo:
    """What `impwatch demo` prints: the console logins (one password) and the endpoint's secret."""

    admin_email: str
    operator_email: str
    password: str
    webhook_secret: str


def prepare_live_demo(runtime: Runtime, receiver_url: str) -> LiveDemo:
    """The people, the logins, a webhook endpoint to `receiver_url` (a test event queued for it), and a watch on
    the demo channel asked to run now. Run after `enrol_demo_people`."""
    password = secrets.token_urlsafe(12)
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        organization = _demo_organization(session)
        _give_phone_numbers(session, organization)
        _demo_user(session, DEMO_ADMIN_EMAIL, "org_admin", organization.id, password)
        _demo_user(session, DEMO_OPERATOR_EMAIL, "operator", None, password)
        secret = _demo_endpoint(session, organization.id, receiver_url, runtime)
        _demo_watch(session, runtime)
        session.commit()
    return LiveDemo(DEMO_ADMIN_EMAIL, DEMO_OPERATOR_EMAIL, password, secret)


def _give_phone_numbers(session: Session, organization: Organization) -> None:
    """People enrolled by an older demo (without phone numbers) get theirs."""
    for name, numbers in DEMO_PHONE_NUMBERS.items():
        person = watchlist_service.find_person_by_name(session, name)
        if person is not None and person.organization_id == organization.id and not person.phone_numbers:
            watchlist_service.update_person(session, person, PersonUpdate(phone_numbers=numbers), phone_region="KZ")


def _demo_user(session: Session, email: str, role: str, organization_id: uuid.UUID | None, password: str) -> None:
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        auth_service.create_user(session, email, role, organization_id, password=password)
    else:
        auth_service.replace_password(session, user, password)


def _demo_endpoint(session: Session, organization_id: uuid.UUID | None, receiver_url: str, runtime: Runtime) -> str:
    """The demo endpoint's secret, the endpoint pointed at `receiver_url` and sent a test event."""
    from app.webhooks import service as webhooks
    from app.webhooks.models import WebhookEndpoint
    from app.webhooks.schemas import EndpointCreate, EndpointUpdate

    endpoint = session.exec(
        select(WebhookEndpoint).where(
            WebhookEndpoint.organization_id == organization_id,
            WebhookEndpoint.description == DEMO_RECEIVER_DESCRIPTION,
        )
    ).first()
    if endpoint is None:
        data = EndpointCreate(url=receiver_url, description=DEMO_RECEIVER_DESCRIPTION, include_possible=True)
        endpoint, _secret = webhooks.create_endpoint(session, organization_id, data, runtime.webhook_url_policy)
    else:
        update = EndpointUpdate(url=receiver_url, enabled=True)
        webhooks.update_endpoint(session, endpoint, update, runtime.webhook_url_policy)
    webhooks.enqueue_test_event(session, endpoint)
    return endpoint.secret


def _demo_watch(session: Session, runtime: Runtime) -> None:
    from watchers import service as watches
    from watchers.models import Watch
    from watchers.schemas import WatchCreate

    watch = session.exec(select(Watch).where(Watch.kind == "tme_preview", Watch.target == DEMO_CHANNEL)).first()
    if watch is None:
        source = {"kind": "tme_preview", "channel": DEMO_CHANNEL}
        data = WatchCreate.model_validate({"source": source, "interval_seconds": DEMO_WATCH_INTERVAL_SECONDS})
        watch = watches.create_watch(session, data, runtime.watch_intervals)
    watches.request_run(session, watch)


def run_live_demo(host: str, port: int, channel_port: int, receiver_port: int, report: Callable[[str], None]) -> None:
    """`impwatch demo`: the stand-in channel, the webhook receiver, and the console with the scheduler, until
    SIGINT or SIGTERM stops them all (the scheduler and the face workers first, then the two servers)."""
    import uvicorn

    from app.cli_support import command_runtime
    from app.demo_channel import DemoChannelServer
    from app.demo_receiver import DemoWebhookReceiver
    from app.main import create_app
    from app.settings import Settings

    channel = DemoChannelServer(DEMO_CHANNEL, DEMO_CHANNEL_TITLE, DEMO_POSTS, DEMO_MEDIA, host, channel_port).start()
    receiver = DemoWebhookReceiver(host, receiver_port, report).start()
    console_url = f"http://{host}:{port}"
    runtime = command_runtime(
        face_workers=Settings().face_workers,
        tme_base_url=channel.base_url,
        public_base_url=console_url,
        webhook_allow_private_urls=True,
        keep_media=True,
        scheduler_enabled=True,
        scheduler_sync_seconds=1.0,
        scheduler_jitter_seconds=0.0,
    )
    try:
        enrol_demo_people(runtime)
        demo = prepare_live_demo(runtime, receiver.url)
        receiver.secret = demo.webhook_secret
        for line in _banner(demo, console_url, channel.base_url, receiver.url, runtime):
            report(line)
        uvicorn.run(create_app(runtime, with_scheduler=True), host=host, port=port, log_level="warning")
    finally:
        runtime.close()
        receiver.stop()
        channel.stop()
        report("demo stopped")


def _banner(demo: LiveDemo, console_url: str, channel_url: str, receiver_url: str, runtime: Runtime) -> list[str]:
    return [
        f"database: {runtime.settings.data_dir}/ (the demo's people, users, watch and alerts are kept between runs)",
        f"stand-in channel: {channel_url}/s/{DEMO_CHANNEL} ({len(DEMO_POSTS)} sample posts), watched every "
        f"{DEMO_WATCH_INTERVAL_SECONDS} s",
        f"webhook receiver: {receiver_url} (prints each event whose signature verifies)",
        f"console: {console_url}",
        f"demo login (press office admin): {demo.admin_email} / {demo.password}",
        f"demo login (operator: watches): {demo.operator_email} / {demo.password}",
        "Ctrl-C stops everything.",
    ]
