"""The `impwatch` command line: serve, migrate, enrol people, scan files, and the demo.

Every command starts by importing this module and the command modules it adds, so these import the domain inside
each command (see `app.cli_support`): `impwatch --help` loads no service, table or library of the domain, and listing
a few rows never pays for the API, the scheduler, the face analysis or the progress bar.
"""

from __future__ import annotations

import json
import signal
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from app.auth.cli import key_cli, org_cli, user_cli
from app.cli_support import OrganizationOption, command_organization, command_runtime, err, out
from app.cli_watch import alerts_cli, channels_cli, telegram_cli, watch_cli
from app.notifications.cli import notify_cli
from app.reports.cli import bot_cli
from app.webhooks.cli import webhook_cli
from core.errors import AppError, InputRejected, NotFound
from watchlist.schemas import NameMentions  # a Literal, read when the commands are declared

if TYPE_CHECKING:
    from app.runtime import Runtime
    from app.settings import Settings
    from watchers.schemas import PersonFound, ScanResult
    from watchlist.models import Person
    from watchlist.service import PhotoRefused

cli = typer.Typer(help="Impersonation Watch: find enrolled people's faces in photos, videos and Telegram channels.")
db_cli = typer.Typer(help="Database schema.")
person_cli = typer.Typer(help="People on the watchlist.")
cli.add_typer(db_cli, name="db")
cli.add_typer(person_cli, name="person")
cli.add_typer(watch_cli, name="watch")
cli.add_typer(alerts_cli, name="alerts")
cli.add_typer(telegram_cli, name="telegram")
cli.add_typer(channels_cli, name="channels")
cli.add_typer(webhook_cli, name="webhook")
cli.add_typer(notify_cli, name="notify")
cli.add_typer(bot_cli, name="bot")
cli.add_typer(org_cli, name="org")
cli.add_typer(key_cli, name="key")
cli.add_typer(user_cli, name="user")


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Apply the database migrations (safe to run at every start)."""
    from app import db
    from app.settings import Settings

    settings = Settings()
    db.upgrade(settings.resolved_database_url, revision)
    out.print(f"database at {revision}: {_safe_url(settings.resolved_database_url)}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: setting IMPWATCH_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: setting IMPWATCH_PORT)")] = None,
) -> None:
    """Run the API and the watch scheduler (migrating the database first)."""
    import uvicorn

    from app.main import create_app
    from app.settings import Settings

    runtime = command_runtime(face_workers=Settings().face_workers)
    tell_how_to_make_the_first_key(runtime)
    app = create_app(runtime, with_scheduler=runtime.settings.scheduler_enabled)
    # uvicorn shuts down gracefully on SIGTERM and then raises the signal again with this handler in place; with the
    # default one the process would die right there, before the face workers are stopped (they would live on).
    signal.signal(signal.SIGTERM, _exit_after_sigterm)
    try:
        uvicorn.run(app, host=host or runtime.settings.host, port=port or runtime.settings.port)
    finally:
        runtime.close()


def _exit_after_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


QueuesOption = Annotated[
    str | None,
    typer.Option(
        "--queues",
        help="Consume these broker queues instead of scheduling (comma-separated: analyse, watches, telegram; "
        "needs IMPWATCH_BROKER_URL)",
    ),
]


@cli.command()
def worker(
    queues: QueuesOption = None,
    threads: Annotated[int, typer.Option(min=0, help="Threads taking messages (0: as many as the queues need)")] = 0,
) -> None:
    """Run the watches, the webhook dispatcher and the retention job without the API (migrating the database first),
    until SIGTERM or Ctrl-C. For API processes apart: start those with IMPWATCH_SCHEDULER_ENABLED=false, and one
    worker. Its own metrics (watch runs, scans, deliveries) are served at IMPWATCH_WORKER_METRICS_HOST and _PORT.

    With a broker (IMPWATCH_BROKER_URL) this worker is the scheduler, which only enqueues watch runs; on PostgreSQL
    it holds an advisory lock, and a second one waits as a standby. `--queues analyse` (any number of machines),
    `--queues watches` and `--queues telegram` (one process: one Telethon session) consume the work."""
    from app.settings import Settings

    settings = Settings()
    chosen = _chosen_queues(settings, queues)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    runtime = command_runtime(face_workers=settings.face_workers)
    try:
        with _worker_metrics(runtime):
            if chosen:
                _consume(runtime, chosen, threads, stop)
            else:
                _schedule(runtime, stop)
    finally:
        runtime.close()
    out.print("worker stopped")


def _chosen_queues(settings: Settings, queues: str | None) -> list[str] | None:
    if queues is None:
        return None
    from app.queue.worker import parse_queues

    if not settings.broker_url:
        err.print("[red]error:[/] --queues needs a broker: set IMPWATCH_BROKER_URL (amqp://... or redis://...)")
        raise typer.Exit(2)
    try:
        return parse_queues(queues)
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc


@contextmanager
def _worker_metrics(runtime: Runtime) -> Iterator[None]:
    settings = runtime.settings
    if not settings.worker_metrics_port:
        yield
        return
    from prometheus_client import start_http_server

    try:
        exporter, _ = start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_host)
    except OSError as exc:
        err.print(
            f"[red]error:[/] cannot serve metrics on {settings.worker_metrics_host}:{settings.worker_metrics_port} "
            f"({exc.strerror}); set IMPWATCH_WORKER_METRICS_PORT to a free port for each process (0: none)"
        )
        raise typer.Exit(2) from exc
    out.print(f"metrics: http://{settings.worker_metrics_host}:{settings.worker_metrics_port}/metrics")
    try:
        yield
    finally:
        exporter.shutdown()


def _schedule(runtime: Runtime, stop: threading.Event) -> None:
    """The scheduler's role: alone, or on PostgreSQL once it holds the scheduler's advisory lock."""
    from app.queue.locks import SCHEDULER_LOCK, AdvisoryLock
    from app.scheduling import scheduled_work

    settings = runtime.settings
    lock = AdvisoryLock(runtime.db_engine, SCHEDULER_LOCK)
    standby = partial(out.print, "standby: another scheduler holds the lock; taking over when it stops")
    if not lock.wait(stop, settings.scheduler_standby_seconds, on_standby=standby):
        return
    try:
        with scheduled_work(runtime):
            enqueued = " (watch runs enqueued on the broker)" if settings.broker_url else ""
            out.print(f"worker running: watches{enqueued}, webhook deliveries, retention (SIGTERM or Ctrl-C stops it)")
            while not stop.wait(settings.scheduler_standby_seconds):
                if not lock.held():
                    err.print("[red]error:[/] the scheduler's lock was lost with its database connection; stopping")
                    raise typer.Exit(1)
    finally:
        lock.release()


def _consume(runtime: Runtime, queues: list[str], threads: int, stop: threading.Event) -> None:
    """A consumer of broker queues; the telegram queue is taken by one process only (on PostgreSQL an advisory
    lock, and a second one waits as a standby): a Telethon session used from two places is invalidated."""
    import logging

    from app.queue.broker import TELEGRAM
    from app.queue.locks import TELEGRAM_LOCK, AdvisoryLock
    from app.queue.worker import consume, default_threads

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)
    lock = AdvisoryLock(runtime.db_engine, TELEGRAM_LOCK)
    if TELEGRAM in queues:
        standby = partial(out.print, "standby: another process consumes the telegram queue; taking over when it stops")
        if not lock.wait(stop, runtime.settings.scheduler_standby_seconds, on_standby=standby):
            return
    try:
        count = threads or default_threads(runtime, queues)
        out.print(f"worker consuming {', '.join(queues)} with {count} thread(s) (SIGTERM or Ctrl-C stops it)")
        consume(runtime, queues, count, stop)
    finally:
        lock.release()


def tell_how_to_make_the_first_key(runtime: Runtime) -> None:
    from sqlmodel import Session

    from app.auth import service as auth_service

    with Session(runtime.db_engine) as session:
        if auth_service.has_operator_key(session):
            return
    err.print(
        "[yellow]No operator key exists yet.[/] Every API route but /healthz and /readyz needs a key:\n"
        "  impwatch key create --role operator              (the installation: organisations, watches)\n"
        "  impwatch org create 'Press office'\n"
        "  impwatch key create --role org_admin --org 'Press office'   (its people, webhooks, alerts)"
    )


AliasOption = Annotated[list[str] | None, typer.Option("--alias", help="Another spelling; repeat for several")]
ChannelOption = Annotated[list[str] | None, typer.Option(help="The person's own Telegram channel; repeat")]
PhoneOption = Annotated[
    list[str] | None, typer.Option("--phone", help="A public phone number of the person, e.g. +7 701 555 12 34; repeat")
]
WebsiteOption = Annotated[
    list[str] | None, typer.Option("--website", help="The person's own site (host or link), e.g. orda.kz; repeat")
]
DistinctiveOption = Annotated[
    list[str] | None,
    typer.Option("--distinctive-alias", help="A name that identifies the person alone (a pen name); repeat"),
]
NameMentionsOption = Annotated[
    NameMentions | None,
    typer.Option(help="What a mention of their name raises: possible (reviewed, not pushed), match, or off"),
]
PhoneAlertsOption = Annotated[bool | None, typer.Option("--phone-alerts/--no-phone-alerts", help="Alert on numbers")]
WebsiteAlertsOption = Annotated[
    bool | None, typer.Option("--website-alerts/--no-website-alerts", help="Alert on lookalike sites")
]

PublicReportsOption = Annotated[
    bool | None,
    typer.Option("--public-reports/--no-public-reports", help="Scan readers' reports to the reporting bot for them"),
]
PublicNameOption = Annotated[
    bool | None, typer.Option("--public-name/--no-public-name", help="The reporting bot may name them to readers")
]


def _public_reports(public_reports: bool | None, public_name: bool | None) -> dict[str, bool]:
    given = {"public_reports": public_reports, "public_name": public_name}
    return {key: value for key, value in given.items() if value is not None}


def _text_identifiers(
    phone: list[str] | None,
    website: list[str] | None,
    distinctive_alias: list[str] | None,
    name_mentions: str | None,
    phone_alerts: bool | None,
    website_alerts: bool | None,
) -> dict[str, object]:
    """The text identifiers given on the command line (those left out are not in the dict)."""
    given = {
        "phone_numbers": phone,
        "websites": website,
        "distinctive_aliases": distinctive_alias,
        "name_mentions": name_mentions,
        "phone_alerts": phone_alerts,
        "website_alerts": website_alerts,
    }
    return {key: value for key, value in given.items() if value is not None}


@person_cli.command("add")
def person_add(
    name: Annotated[str, typer.Argument(help="Display name")],
    photo: Annotated[list[Path], typer.Option("--photo", "-p", help="A photo of the person; repeat for several")],
    alias: AliasOption = None,
    tolerance: Annotated[float | None, typer.Option(min=0.01, max=1.0, help="Match threshold (default 0.5)")] = None,
    role: Annotated[str | None, typer.Option(help="Role or title")] = None,
    official_channel: ChannelOption = None,
    phone: PhoneOption = None,
    website: WebsiteOption = None,
    distinctive_alias: DistinctiveOption = None,
    name_mentions: NameMentionsOption = None,
    phone_alerts: PhoneAlertsOption = None,
    website_alerts: WebsiteAlertsOption = None,
    public_reports: PublicReportsOption = None,
    public_name: PublicNameOption = None,
    org: OrganizationOption = None,
) -> None:
    """Enrol a person from one or more photos, with the public identifiers text signals look for. Refused photos
    are reported; the exit code is 1 if any was, 2 for a bad number or website."""
    from sqlmodel import Session

    from core.scope import Scope
    from watchlist import service as watchlist_service
    from watchlist.schemas import PersonCreate

    try:
        data = PersonCreate(
            display_name=name,
            aliases=alias or [],
            tolerance=tolerance,
            role_title=role,
            official_channels=official_channel or [],
            **_text_identifiers(phone, website, distinctive_alias, name_mentions, phone_alerts, website_alerts),
            **_public_reports(public_reports, public_name),
        )
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    runtime = command_runtime()
    region = runtime.settings.phone_region
    try:
        watchlist_service.e164_numbers(data.phone_numbers, region)
        watchlist_service.website_hosts(data.websites)
    except InputRejected as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(2) from exc
    photos = [watchlist_service.EnrolmentPhoto(str(path), path.read_bytes) for path in photo]
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        organization = command_organization(session, org, create_default=True)
        try:
            person, enrolment = watchlist_service.create_enrolled_person(
                session,
                data,
                Scope("org_admin", organization.id),
                photos,
                runtime.face_engine,
                runtime.enrolment_policy,
                phone_region=region,
            )
        except watchlist_service.NoUsablePhoto as exc:
            _report_refused(exc.refused)
            err.print(f"[red]error:[/] no photo could be enrolled; {name!r} was not added")
            raise typer.Exit(1) from exc
        session.commit()
    _report_refused(enrolment.refused)
    out.print(f"enrolled {name} ({person.id}) of {organization.name} from {len(enrolment.faces)} photo(s)")
    if enrolment.refused:
        raise typer.Exit(1)


@person_cli.command("update")
def person_update(
    person_id: Annotated[str, typer.Argument(help="The person's id (impwatch person list)")],
    name: Annotated[str | None, typer.Option("--name", help="A new display name")] = None,
    alias: AliasOption = None,
    role: Annotated[str | None, typer.Option(help="Role or title")] = None,
    official_channel: ChannelOption = None,
    phone: PhoneOption = None,
    website: WebsiteOption = None,
    distinctive_alias: DistinctiveOption = None,
    name_mentions: NameMentionsOption = None,
    phone_alerts: PhoneAlertsOption = None,
    website_alerts: WebsiteAlertsOption = None,
    public_reports: PublicReportsOption = None,
    public_name: PublicNameOption = None,
) -> None:
    """Change a person: a list option given replaces that list (give it once with "" to empty it); options left
    out keep what the person has. Exit code 2 for a bad number or website, 1 for an unknown person."""
    from sqlmodel import Session

    from watchlist import service as watchlist_service
    from watchlist.schemas import PersonUpdate

    given = {"display_name": name, "role_title": role, "aliases": alias, "official_channels": official_channel}
    try:
        data = PersonUpdate.model_validate(
            {
                **{key: value for key, value in given.items() if value is not None},
                **_text_identifiers(phone, website, distinctive_alias, name_mentions, phone_alerts, website_alerts),
                **_public_reports(public_reports, public_name),
            }
        )
    except ValueError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    runtime = command_runtime()
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        try:
            person = watchlist_service.get_person(session, _person_id(person_id))
            watchlist_service.update_person(session, person, data, phone_region=runtime.settings.phone_region)
        except InputRejected as exc:
            err.print(f"[red]error:[/] {exc.message}")
            raise typer.Exit(2) from exc
        except AppError as exc:
            err.print(f"[red]error:[/] {exc.message}")
            raise typer.Exit(1) from exc
        session.commit()
    out.print(f"updated {person.display_name} ({person.id})")
    _print_identifiers(person)


def _person_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound(f"no person has the id {text!r}") from None


def _print_identifiers(person: Person) -> None:
    out.print(f"  phone numbers: {', '.join(person.phone_numbers) or '-'} (alerts {_on(person.phone_alerts)})")
    out.print(f"  websites: {', '.join(person.websites) or '-'} (alerts {_on(person.website_alerts)})")
    out.print(f"  distinctive aliases: {', '.join(person.distinctive_aliases) or '-'}")
    out.print(f"  name mentions: {person.name_mentions}")
    out.print(f"  public reports: {_on(person.public_reports)} (named to readers: {_on(person.public_name)})")


def _on(flag: bool) -> str:
    return "on" if flag else "off"


def _report_refused(refused: Iterable[PhotoRefused]) -> None:
    for photo in refused:
        err.print(f"[yellow]refused[/] {photo.name}: {photo.message}")


@person_cli.command("list")
def person_list() -> None:
    """List the people on the watchlist, with their thresholds and how many background faces these rest on."""
    from sqlmodel import Session

    from watchlist import service as watchlist_service

    runtime = command_runtime()
    with Session(runtime.db_engine) as session:
        persons = watchlist_service.list_persons(session, limit=10_000)
        ids = [person.id for person in persons]
        counts = watchlist_service.reference_face_counts(session, ids)
        thresholds = watchlist_service.person_thresholds(session, set(ids), runtime.matching_policy.calibration)
    table = Table("id", "name", "aliases", "faces", "match", "possible", "calibrated on")
    for person in persons:
        chosen = thresholds[person.id]
        table.add_row(
            str(person.id),
            person.display_name,
            ", ".join(person.aliases),
            str(counts.get(person.id, 0)),
            f"{chosen.match:.3f}",
            f"{chosen.possible:.3f}",
            f"{chosen.faces} faces" if chosen.calibrated else f"defaults ({chosen.faces} faces)",
        )
    out.print(table)


def iter_media_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given, and every non-hidden file inside given folders (sorted, recursive)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.parts)
            )
        else:
            yield path


@cli.command()
def scan(
    paths: Annotated[list[Path], typer.Argument(help="Photos, videos, or folders of them")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per input, one per line")] = False,
) -> None:
    """Find enrolled people in photos and videos. A bad input is reported and the others are still scanned;
    the exit code is 1 if any input could not be scanned."""
    from rich.progress import Progress

    runtime = command_runtime()
    files = list(iter_media_paths(paths))
    failures = 0
    with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("scanning", total=len(files))
        results: list[tuple[Path, ScanResult | InputRejected | OSError]] = []
        for path in files:
            outcome = _scan_one(runtime, path)
            failures += isinstance(outcome, InputRejected | OSError)
            if as_json:
                print(json.dumps(_json_line(path, outcome), ensure_ascii=False), flush=True)
            else:
                results.append((path, outcome))
            progress.advance(task)
    if not as_json:
        _print_scan_table(results)
    if failures:
        raise typer.Exit(1)


def _scan_one(runtime: Runtime, path: Path) -> ScanResult | InputRejected | OSError:
    from sqlmodel import Session

    from watchers import analysis as scan_service

    try:
        with Session(runtime.db_engine) as session:
            return scan_service.scan_file(session, path, runtime.workers, runtime.matchers)
    except (InputRejected, OSError) as exc:
        return exc


def _json_line(path: Path, outcome: ScanResult | InputRejected | OSError) -> dict[str, object]:
    if isinstance(outcome, InputRejected | OSError):
        return {"path": str(path), "error": _error(outcome)}
    return {"path": str(path), **outcome.model_dump(mode="json")}


def _error(exc: InputRejected | OSError) -> dict[str, str]:
    if isinstance(exc, InputRejected):
        return {"code": exc.code, "detail": exc.message}
    return {"code": "unreadable", "detail": exc.strerror or str(exc)}


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _print_scan_table(results: list[tuple[Path, ScanResult | InputRejected | OSError]]) -> None:
    table = Table("file", "kind", "faces", "person", "tier", "distance", "where")
    for path, outcome in results:
        if isinstance(outcome, InputRejected | OSError):
            error = _error(outcome)
            err.print(f"[red]error[/] {path}: {error['detail']} ({error['code']})")
            continue
        if not outcome.persons:
            table.add_row(_display_path(path), outcome.kind, str(len(outcome.faces)), "-", "", "", "")
        for found in outcome.persons:
            table.add_row(
                _display_path(path),
                outcome.kind,
                str(len(outcome.faces)),
                found.display_name,
                found.tier,
                f"{found.best_distance:.3f}",
                _where(found, outcome),
            )
    out.print(table)


def _where(found: PersonFound, outcome: ScanResult) -> str:
    if outcome.kind != "photo":
        first, last = found.timestamps[0], found.timestamps[-1]
        return f"{found.frames_matched}/{outcome.frames_scanned} frames, {first:.1f}-{last:.1f} s"
    box = found.best_box
    return f"face {box.right - box.left}px at ({box.left},{box.top})"


@cli.command()
def calibrate(
    paths: Annotated[list[Path], typer.Argument(help="Photos or videos of background faces, or folders of them")],
) -> None:
    """Feed background faces (an archive of local news photos, say) into every enrolled person's counts: only how
    far each face lies from each person is kept, never an encoding or the file. A face within a person's
    thresholds is not counted for them. Exit code 2 for a path that does not exist, 1 if a file could not be read."""
    from sqlmodel import Session

    from watchers import analysis as scan_service

    missing = [path for path in paths if not path.exists()]
    if missing:
        err.print(f"[red]error:[/] no such file or folder: {', '.join(str(path) for path in missing)}")
        raise typer.Exit(2)
    runtime = command_runtime()
    files = list(iter_media_paths(paths))
    failures = faces = 0
    for number, path in enumerate(files, start=1):
        try:
            with Session(runtime.db_engine) as session:
                counted = scan_service.count_background(session, path, runtime.workers, runtime.matchers)
                session.commit()
        except (InputRejected, OSError) as exc:
            failures += 1
            error = _error(exc)
            err.print(f"[{number}/{len(files)}] [red]error[/] {path}: {error['detail']} ({error['code']})")
            continue
        faces += counted
        err.print(f"[{number}/{len(files)}] {_display_path(path)}: {counted} faces")
    out.print(f"{faces} faces seen in {len(files) - failures} files, counted for every person they are not")
    if failures:
        raise typer.Exit(1)


@cli.command()
def rescan(
    person: Annotated[uuid.UUID | None, typer.Option(help="Only this person's new detections")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only media of posts from this time on (ISO 8601; UTC when no offset)")
    ] = None,
) -> None:
    """Re-analyse kept media (IMPWATCH_KEEP_MEDIA) against the current watchlist and thresholds, so a person
    enrolled today is found in earlier posts; new detections raise or extend alerts."""
    from sqlmodel import Session

    from app.rescan import service as rescan_service
    from app.rescan.jobs import Rescanner
    from app.rescan.models import Rescan
    from watchlist import service as watchlist_service

    try:
        start = _utc(datetime.fromisoformat(since)) if since else None
    except ValueError as exc:
        err.print(f"[red]error:[/] --since: {exc}")
        raise typer.Exit(2) from exc
    runtime = command_runtime()
    with Session(runtime.db_engine) as session:
        if person is not None:
            try:
                watchlist_service.get_person(session, person)
            except AppError as exc:
                err.print(f"[red]error:[/] {exc.message}")
                raise typer.Exit(1) from exc
        rescan_id = rescan_service.start_rescan(session, person, start).id
        session.commit()
    settings = runtime.settings
    rescanner = Rescanner(
        runtime.db_engine, runtime.media_store, runtime.workers, runtime.matchers, settings.public_base_url
    )

    def report(progress: Rescan) -> None:
        err.print(f"[{progress.done}/{progress.total}] new detections so far: {progress.detections_added}")

    ended = rescanner.run(rescan_id, on_content=report)
    if ended is None:
        err.print("[red]error:[/] the re-scan was removed meanwhile (its person was erased)")
        raise typer.Exit(1)
    out.print(
        f"re-scan {ended.id}: {ended.done} contents, {ended.detections_added} new detections, "
        f"{ended.alerts_touched} alerts raised or extended, {ended.not_kept} not kept, {ended.refused} refused"
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@cli.command()
def demo(
    scan_only: Annotated[
        bool, typer.Option("--scan-only", help="Only enrol the sample people and scan the sample files, then exit")
    ] = False,
    host: Annotated[str, typer.Option(help="Address of the console and the demo's two servers")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Console port (default: setting IMPWATCH_PORT)")] = None,
    channel_port: Annotated[int, typer.Option(help="Port of the stand-in t.me channel (0: any free one)")] = 8001,
    receiver_port: Annotated[int, typer.Option(help="Port of the demo webhook receiver (0: any free one)")] = 8002,
) -> None:
    """The whole chain on this machine: a stand-in t.me channel of sample posts, a watch on it, alerts, a webhook
    receiver printing verified events, and the console with a demo login, until Ctrl-C. Reuses ./data's demo
    people, logins, watch and alerts when run again."""
    if scan_only:
        _scan_only_demo()
        return
    from app.demo import run_live_demo
    from app.settings import Settings

    def report(line: str) -> None:
        out.print(line, markup=False, highlight=False, soft_wrap=True)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_quietly)
    try:
        run_live_demo(host, port or Settings().port, channel_port, receiver_port, report)
    except OSError as exc:
        err.print(f"[red]error:[/] {exc} (is another demo running? choose other ports with --port and friends)")
        raise typer.Exit(1) from exc


def _exit_quietly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _scan_only_demo() -> None:
    """Enrol two sample people from bundled photos, scan bundled photos and a video, and show what was found."""
    from app.demo import enrol_demo_people, scan_demo_media

    runtime = command_runtime()
    out.print(f"database: {_safe_url(runtime.settings.resolved_database_url)}")
    for person in enrol_demo_people(runtime):
        out.print(f"enrolled: [bold]{person.display_name}[/] ({person.id})")
    with err.status("scanning sample photos and a video with face_recognition..."):
        scans = scan_demo_media(runtime)
    table = Table("file", "kind", "faces", "person", "distance", "where", title="What the demo found")
    for scan in scans:
        result = scan.result
        if not result.persons:
            table.add_row(scan.file_name, result.kind, str(len(result.faces)), "nobody enrolled", "", "")
        for found in result.persons:
            table.add_row(
                scan.file_name,
                result.kind,
                str(len(result.faces)),
                found.display_name,
                found.tier,
                f"{found.best_distance:.3f}",
                _where(found, result),
            )
    out.print(table)
    out.print(
        "Next: `impwatch key create --role org_admin --org 'Demo press office'` for an API key, then `impwatch serve`"
        " and open http://127.0.0.1:8000/docs; or `impwatch scan PATH...`."
    )


@cli.command("settings")
def settings_command(
    readme: Annotated[
        Path | None,
        typer.Option(help="Rewrite the table between this file's <!-- settings:start/end --> markers instead"),
    ] = None,
) -> None:
    """Print every IMPWATCH_ setting with its default and what it does, as a Markdown table (the README's)."""
    from app.settings import settings_reference, with_settings_reference

    if readme is None:
        typer.echo(settings_reference(), nl=False)
        return
    try:
        text = readme.read_text(encoding="utf-8")
        readme.write_text(with_settings_reference(text), encoding="utf-8")
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        err.print(f"[red]error:[/] {readme}: {reason}", highlight=False)
        raise typer.Exit(2) from exc
    out.print(f"settings table written to {readme}")


def main() -> None:
    try:
        cli()
    except Exception as exc:
        from pydantic import ValidationError  # only on this path: `impwatch --help` loads no pydantic

        if not (isinstance(exc, ValidationError) and exc.title == "Settings"):
            raise
        for error in exc.errors():
            name = "IMPWATCH_" + "_".join(str(part) for part in error["loc"]).upper()
            err.print(f"[red]error:[/] setting {name}={error.get('input')!r}: {error['msg']}", highlight=False)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
