"""`impwatch watch ...`, `impwatch alerts ...` and `impwatch telegram login`."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from app.cli_support import command_runtime, err, out
from core.errors import AppError, InputRejected, NotFound

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydantic import ValidationError

    from watchers.models import Watch
    from watchers.schemas import WatchCoverage, WatchUpdate

watch_cli = typer.Typer(help="Watched channels and folders.")
alerts_cli = typer.Typer(help="Alerts raised by watches.")
telegram_cli = typer.Typer(help="The installation's Telegram account.")
channels_cli = typer.Typer(help="Candidate channels: where watched posts point (forwards, t.me links, @mentions).")


@watch_cli.command("add")
def watch_add(
    kind: Annotated[str, typer.Argument(help="tme_preview, telegram, telegram_export or folder")],
    target: Annotated[str, typer.Argument(help="A channel (@name, t.me link) or a folder path")],
    interval: Annotated[int | None, typer.Option(help="Seconds between runs (default: the setting)")] = None,
    channel: Annotated[str | None, typer.Option(help="telegram_export: the chat's public username")] = None,
    settle_seconds: Annotated[
        float | None, typer.Option(help="folder: how long a file must be unchanged before it is taken")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Also read the history back to this date or time (2026-11-01) or span (7d, 36h, 2w)"),
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="telegram_export: the exporting computer's IANA zone, for old exports")
    ] = None,
    chat: Annotated[str | None, typer.Option(help="telegram_export: the chat of a whole-account export")] = None,
) -> None:
    """Watch a channel or a folder."""
    from sqlmodel import Session

    from core.clock import utcnow
    from watchers import service as watch_service
    from watchers.history import parse_since
    from watchers.schemas import WatchCreate

    key = "path" if kind in ("telegram_export", "folder") else "channel"
    source: dict[str, object] = {"kind": kind, key: target}
    if channel:
        source["channel"] = channel
    if settle_seconds is not None:
        source["settle_seconds"] = settle_seconds
    source.update({key: value for key, value in (("timezone", timezone), ("chat", chat)) if value})
    runtime = command_runtime()
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        watch = _created_or_exit(
            lambda: watch_service.create_watch(
                session,
                WatchCreate.model_validate(
                    {
                        "source": source,
                        "interval_seconds": interval,
                        "since": parse_since(since, utcnow()) if since else None,
                    }
                ),
                runtime.watch_intervals,
            )
        )
        session.commit()
    history = f", history back to {watch.since:%Y-%m-%d %H:%M} UTC" if watch.since else ""
    out.print(f"watching {watch.kind} {watch.target} every {watch.interval_seconds} s{history} ({watch.id})")


def _created_or_exit(create: Callable[[], Watch]) -> Watch:
    """The watch `create` makes; a refusal printed, exiting 2 for bad input and 1 for a conflict or a missing
    object."""
    from pydantic import ValidationError

    try:
        return create()
    except ValidationError as exc:
        err.print(f"[red]error:[/] {_first_error(exc)}")
        raise typer.Exit(2) from exc
    except InputRejected as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(2) from exc
    except AppError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from exc


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"


@watch_cli.command("list")
def watch_list() -> None:
    """List watches with their state, last run and last error."""
    from sqlmodel import Session

    from watchers import service as watch_service
    from watchers.schemas import WatchCoverage

    runtime = command_runtime()
    with Session(runtime.db_engine) as session:
        watches = watch_service.list_watches(session)
    table = Table(
        "id", "kind", "target", "every", "enabled", "state", "posts", "last success", "last error", "not analysed"
    )
    for watch in watches:
        table.add_row(
            str(watch.id),
            watch.kind,
            watch.target,
            f"{watch.interval_seconds} s",
            "yes" if watch.enabled else "no",
            watch.state,
            str(watch.posts_seen),
            watch.last_success_at.strftime("%Y-%m-%d %H:%M:%S") if watch.last_success_at else "-",
            watch.last_error or "",
            _not_analysed(WatchCoverage.model_validate(watch.coverage or {})),
        )
    out.print(table)


def _not_analysed(coverage: WatchCoverage) -> str:
    parts = [
        f"{coverage.poster_only} poster only" if coverage.poster_only else "",
        f"{coverage.not_fetched} hidden by the source" if coverage.not_fetched else "",
        f"{coverage.awaiting_file} awaiting their file" if coverage.awaiting_file else "",
        *coverage.notes,
    ]
    return "; ".join(part for part in parts if part)


def _change_watch(watch_id: uuid.UUID, update: WatchUpdate | None, action: str) -> None:
    from sqlmodel import Session

    from watchers import service as watch_service

    runtime = command_runtime()
    with Session(runtime.db_engine) as session:
        try:
            watch = watch_service.get_watch(session, watch_id)
        except NotFound as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from exc
        if update is None:
            watch_service.delete_watch(session, watch)
        else:
            watch_service.update_watch(session, watch, update, runtime.watch_intervals)
        session.commit()
    out.print(f"{action} {watch_id}")


@watch_cli.command("pause")
def watch_pause(watch_id: uuid.UUID) -> None:
    """Stop running a watch until it is resumed."""
    from watchers.schemas import WatchUpdate

    _change_watch(watch_id, WatchUpdate(enabled=False), "paused")


@watch_cli.command("resume")
def watch_resume(watch_id: uuid.UUID) -> None:
    """Run a paused watch again (this also clears an error state)."""
    from watchers.schemas import WatchUpdate

    _change_watch(watch_id, WatchUpdate(enabled=True), "resumed")


@watch_cli.command("remove")
def watch_remove(watch_id: uuid.UUID) -> None:
    """Stop watching and forget the watch's posts (alerts stay)."""
    _change_watch(watch_id, None, "removed")


@watch_cli.command("run")
def watch_run(watch_id: uuid.UUID) -> None:
    """Run a watch now, in this process, and report what it found."""
    from sqlmodel import Session

    from app.scheduling import build_watch_runner
    from watchers import service as watch_service

    runtime = command_runtime()
    with Session(runtime.db_engine) as session:
        try:
            watch_service.get_watch(session, watch_id)
        except NotFound as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from exc
    report = build_watch_runner(runtime).run(watch_id)
    out.print(
        f"posts stored: {report.posts_stored}, media analysed: {report.media_analysed}, "
        f"from cache: {report.media_cached}, failed: {report.media_failed}, skipped: {len(report.media_skipped)}"
    )
    if report.error:
        err.print(f"[red]error:[/] {report.error}")
        raise typer.Exit(1)


@alerts_cli.command("list")
def alerts_list(
    person: Annotated[uuid.UUID | None, typer.Option(help="Only this person's alerts")] = None,
    kind: Annotated[list[str] | None, typer.Option(help="Only these kinds (face_match, phone_number, ...)")] = None,
    status: Annotated[list[str] | None, typer.Option(help="Only these statuses; repeat for several")] = None,
    tier: Annotated[list[str] | None, typer.Option(help="Only these tiers (match, possible); repeat for both")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per alert")] = False,
) -> None:
    """The newest alerts first."""
    from pydantic import ValidationError
    from sqlmodel import Session

    from app.alerts import service as alert_service
    from app.alerts.schemas import AlertFilter, evidence_of
    from watchlist.service import person_names

    runtime = command_runtime()
    try:
        filters = AlertFilter(person_id=person, kind=kind, status=status, tier=tier)
    except ValidationError as exc:
        err.print(f"[red]error:[/] {_first_error(exc)}")
        raise typer.Exit(2) from exc
    with Session(runtime.db_engine) as session:
        page = alert_service.list_alerts(session, filters, limit, None)
        names = person_names(session, {alert.person_id for alert in page.alerts})
        rows = [
            (alert, names.get(alert.person_id, ""), alert_service.occurrences(session, alert)) for alert in page.alerts
        ]
    if as_json:
        for alert, name, seen in rows:
            line = {
                **alert.model_dump(mode="json"),
                "person_name": name,
                "permalinks": [occurrence.permalink for occurrence, _ in seen],
            }
            print(json.dumps(line, ensure_ascii=False))
        return
    table = Table(
        "id", "person", "kind", "tier", "status", "priority", "evidence", "occurrences", "first permalink", "last seen"
    )
    for alert, name, seen in rows:
        table.add_row(
            str(alert.id),
            name,
            alert.kind,
            alert.tier,
            alert.status,
            alert.priority,
            evidence_of(alert).describe(),
            str(alert.occurrences_count),
            seen[0][0].permalink if seen else "",
            alert.last_seen_at.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)


@telegram_cli.command("login")
def telegram_login(
    phone: Annotated[str, typer.Option(prompt=True, help="The account's phone number, +7...")],
) -> None:
    """Log the installation's Telegram account in and print the session string for IMPWATCH_TELEGRAM_SESSION."""
    from app.settings import Settings
    from watchers.telegram_client import login

    settings = Settings()
    if not settings.telegram_api_id or not settings.telegram_api_hash:
        err.print("[red]error:[/] set IMPWATCH_TELEGRAM_API_ID and IMPWATCH_TELEGRAM_API_HASH (my.telegram.org)")
        raise typer.Exit(2)
    session = login(settings.telegram_api_id, settings.telegram_api_hash, phone)
    out.print("Put this in the environment as IMPWATCH_TELEGRAM_SESSION (keep it secret):")
    print(session)


@channels_cli.command("candidates")
def channels_candidates(
    limit: Annotated[int, typer.Option(help="How many to list")] = 50,
    include_watched: Annotated[bool, typer.Option(help="Also those already watched from this list")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """List candidate channels, those involved in alerts first, then the most recently seen."""
    from sqlmodel import Session

    from watchers.channels import service as channel_service
    from watchers.channels.schemas import CandidateRead

    runtime = command_runtime()
    with Session(runtime.db_engine) as session:
        candidates = [
            CandidateRead.model_validate(candidate)
            for candidate in channel_service.list_candidates(session, limit, include_watched)
        ]
    if as_json:
        for candidate in candidates:
            print(candidate.model_dump_json())
        return
    table = Table("id", "channel", "posts", "forwards", "links", "mentions", "alerts", "first seen", "last seen")
    for candidate in candidates:
        table.add_row(
            str(candidate.id),
            f"@{candidate.username}" if candidate.username else f"{candidate.name} (no username)",
            str(candidate.posts_count),
            str(candidate.forwards_count),
            str(candidate.links_count),
            str(candidate.mentions_count),
            str(candidate.alerts_count),
            f"{candidate.first_seen_at:%Y-%m-%d %H:%M}",
            f"{candidate.last_seen_at:%Y-%m-%d %H:%M}",
        )
    out.print(table)


@channels_cli.command("watch")
def channels_watch(
    candidate: Annotated[str, typer.Argument(help="The candidate's id or @username")],
    kind: Annotated[str, typer.Option(help="tme_preview or telegram")] = "tme_preview",
    interval: Annotated[int | None, typer.Option(help="Seconds between runs (default: the setting)")] = None,
    since: Annotated[str | None, typer.Option(help="Also read its history back to this date or span (7d)")] = None,
) -> None:
    """Watch a candidate channel."""
    from sqlmodel import Session

    from core.clock import utcnow
    from watchers.channels import service as channel_service
    from watchers.history import parse_since

    runtime = command_runtime()
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        watch = _created_or_exit(
            lambda: channel_service.watch_candidate(
                session,
                channel_service.find_candidate(session, candidate),
                runtime.watch_intervals,
                kind=kind,
                interval_seconds=interval,
                since=parse_since(since, utcnow()) if since else None,
            )
        )
        session.commit()
    out.print(f"watching {watch.kind} {watch.target} every {watch.interval_seconds} s ({watch.id})")
