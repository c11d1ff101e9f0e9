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
    from pydantic import ValidationError

    from watchers.schemas import WatchUpdate

watch_cli = typer.Typer(help="Watched channels and folders.")
alerts_cli = typer.Typer(help="Alerts raised by watches.")
telegram_cli = typer.Typer(help="The installation's Telegram account.")


@watch_cli.command("add")
def watch_add(
    kind: Annotated[str, typer.Argument(help="tme_preview, telegram, telegram_export or folder")],
    target: Annotated[str, typer.Argument(help="A channel (@name, t.me link) or a folder path")],
    interval: Annotated[int | None, typer.Option(help="Seconds between runs (default: the setting)")] = None,
    channel: Annotated[str | None, typer.Option(help="telegram_export: the chat's public username")] = None,
    settle_seconds: Annotated[
        float | None, typer.Option(help="folder: how long a file must be unchanged before it is taken")
    ] = None,
) -> None:
    """Watch a channel or a folder."""
    from pydantic import ValidationError
    from sqlmodel import Session

    from watchers import service as watch_service
    from watchers.schemas import WatchCreate

    key = "path" if kind in ("telegram_export", "folder") else "channel"
    source: dict[str, object] = {"kind": kind, key: target}
    if channel:
        source["channel"] = channel
    if settle_seconds is not None:
        source["settle_seconds"] = settle_seconds
    runtime = command_runtime()
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        try:
            watch = watch_service.create_watch(
                session,
                WatchCreate.model_validate({"source": source, "interval_seconds": interval}),
                runtime.watch_intervals,
            )
        except ValidationError as exc:
            err.print(f"[red]error:[/] {_first_error(exc)}")
            raise typer.Exit(2) from exc
        except InputRejected as exc:
            err.print(f"[red]error:[/] {exc.message}")
            raise typer.Exit(2) from exc
        except AppError as exc:
            err.print(f"[red]error:[/] {exc.message}")
            raise typer.Exit(1) from exc
        session.commit()
    out.print(f"watching {watch.kind} {watch.target} every {watch.interval_seconds} s ({watch.id})")


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"


@watch_cli.command("list")
def watch_list() -> None:
    """List watches with their state, last run and last error."""
    from sqlmodel import Session

    from watchers import service as watch_service

    runtime = command_runtime()
    with Session(runtime.db_engine) as session:
        watches = watch_service.list_watches(session)
    table = Table("id", "kind", "target", "every", "enabled", "state", "posts", "last success", "last error")
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
        )
    out.print(table)


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
        filters = AlertFilter(person_id=person, kind=kind, status=status)
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
        "id", "person", "kind", "status", "priority", "evidence", "occurrences", "first permalink", "last seen"
    )
    for alert, name, seen in rows:
        table.add_row(
            str(alert.id),
            name,
            alert.kind,
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
