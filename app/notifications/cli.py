"""`impwatch notify ...`: Telegram chats and email addresses told about an organisation's alerts (webhook
endpoints, the third kind, are `impwatch webhook ...`; `notify list` shows them beside the others)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from app.cli_support import OrganizationOption, command_organization, command_runtime, err, out
from core.clock import utcnow
from core.errors import AppError, NotFound

if TYPE_CHECKING:
    from sqlmodel import Session

    from app.notifications.models import NotificationChannel
    from app.runtime import Runtime

notify_cli = typer.Typer(help="Notification channels: Telegram chats and email addresses told about alerts.")

PersonOption = Annotated[list[uuid.UUID] | None, typer.Option("--person", help="Only this person; repeatable")]
KindOption = Annotated[
    list[str] | None,
    typer.Option("--kind", help="Only this alert kind (face_match, phone_number, ...); repeatable"),
]
TierOption = Annotated[list[str] | None, typer.Option("--tier", help="Only this tier (match, possible); repeatable")]
LanguageOption = Annotated[str, typer.Option(help="ru, kk or en")]
DescriptionOption = Annotated[str, typer.Option(help="What or whose channel it is")]
DigestOption = Annotated[
    int | None, typer.Option("--digest-hour", min=0, max=23, help="Also a daily digest at this hour (UTC)")
]


@notify_cli.command("add-telegram")
def add_telegram(
    chat_id: Annotated[int, typer.Argument(help="The chat the bot posts to (negative for groups and channels)")],
    token: Annotated[str, typer.Option("--token", help="The bot's token, from @BotFather")],
    language: LanguageOption = "ru",
    description: DescriptionOption = "",
    person: PersonOption = None,
    kind: KindOption = None,
    tier: TierOption = None,
    digest_hour: DigestOption = None,
    org: OrganizationOption = None,
) -> None:
    """Tell a Telegram chat about the organisation's alerts (the face crop, the facts, triage buttons)."""
    fields = {"kind": "telegram", "bot_token": token, "chat_id": chat_id, "digest_hour": digest_hour}
    _add(fields, language, description, person, kind, tier, org)


@notify_cli.command("add-email")
def add_email(
    address: Annotated[str, typer.Argument(help="Where the mails go")],
    language: LanguageOption = "ru",
    description: DescriptionOption = "",
    person: PersonOption = None,
    kind: KindOption = None,
    tier: TierOption = None,
    digest_hour: DigestOption = None,
    org: OrganizationOption = None,
) -> None:
    """Mail the organisation's alerts to an address (through IMPWATCH_SMTP_HOST)."""
    _add(
        {"kind": "email", "address": address, "digest_hour": digest_hour},
        language,
        description,
        person,
        kind,
        tier,
        org,
    )


def _add(
    fields: dict[str, Any],
    language: str,
    description: str,
    person: list[uuid.UUID] | None,
    kind: list[str] | None,
    tier: list[str] | None,
    org: str | None,
) -> None:
    from pydantic import TypeAdapter, ValidationError
    from sqlmodel import Session

    from app.notifications import service
    from app.notifications.schemas import ChannelCreate

    filters = {"language": language, "description": description, "person_ids": person or [], "kinds": kind or []}
    try:
        data = TypeAdapter(ChannelCreate).validate_python({**fields, **filters, "tiers": tier or []})
    except ValidationError as exc:
        error = exc.errors()[0]
        err.print(f"[red]error:[/] {'.'.join(str(part) for part in error['loc'][1:])}: {error['msg']}")
        raise typer.Exit(2) from exc
    runtime = command_runtime()
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        organization = command_organization(session, org)
        try:
            channel = service.create_channel(session, organization.id, data)
        except AppError as exc:
            err.print(f"[red]error:[/] {exc.message}")
            raise typer.Exit(1) from exc
        session.commit()
    out.print(f"added {channel.kind} channel {service.channel_target(channel)} ({channel.id}) of {organization.name}")


@notify_cli.command("list")
def notify_list() -> None:
    """Every channel, webhook endpoints included: kind, where, organisation, filters, and whether it is on."""
    from sqlmodel import Session

    from app.auth.service import list_organizations
    from app.notifications import service
    from app.webhooks.service import list_endpoints

    runtime = command_runtime()
    with Session(runtime.db_engine) as session:
        channels = service.list_channels(session)
        endpoints = list_endpoints(session)
        names = {organization.id: organization.name for organization in list_organizations(session)}
    table = Table("id", "kind", "where", "organisation", "language", "filters", "enabled")
    for channel in channels:
        table.add_row(
            str(channel.id),
            channel.kind,
            service.channel_target(channel),
            names.get(channel.organization_id, ""),
            channel.language,
            _filters(channel),
            "yes" if channel.enabled else f"no: {channel.disabled_reason or 'by hand'}",
        )
    for endpoint in endpoints:
        people = f"{len(endpoint.person_ids)} people" if endpoint.person_ids else "everyone"
        enabled = "yes" if endpoint.enabled else f"no: {endpoint.disabled_reason or 'by hand'}"
        owner = names.get(endpoint.organization_id, "") if endpoint.organization_id else ""
        table.add_row(
            str(endpoint.id), "webhook", endpoint.url, owner, "", f"{people}; {', '.join(endpoint.events)}", enabled
        )
    out.print(table)


def _filters(channel: NotificationChannel) -> str:
    parts = [f"{len(channel.person_ids)} people" if channel.person_ids else "everyone"]
    parts += [", ".join(values) for values in (channel.kinds, channel.tiers) if values]
    if channel.digest_hour is not None:
        parts.append(f"digest at {channel.digest_hour:02d}:00 UTC")
    return "; ".join(parts)


@notify_cli.command("enable")
def notify_enable(channel_id: uuid.UUID) -> None:
    """Turn a channel back on (after a blocked bot was unblocked, say); what it is still owed is sent."""
    _set_enabled(channel_id, True)


@notify_cli.command("disable")
def notify_disable(channel_id: uuid.UUID) -> None:
    """Stop sending to a channel; new alerts are not owed to it until it is enabled."""
    _set_enabled(channel_id, False)


def _set_enabled(channel_id: uuid.UUID, enabled: bool) -> None:
    from sqlmodel import Session

    from app.notifications import service
    from app.notifications.schemas import ChannelUpdate

    runtime = command_runtime()
    with Session(runtime.db_engine) as session:
        service.update_channel(session, _channel(session, channel_id), ChannelUpdate(enabled=enabled))
        session.commit()
    out.print(f"{'enabled' if enabled else 'disabled'} {channel_id}")


@notify_cli.command("remove")
def notify_remove(channel_id: uuid.UUID) -> None:
    """Remove a channel and its deliveries."""
    from sqlmodel import Session

    from app.notifications import service

    runtime = command_runtime()
    with Session(runtime.db_engine) as session:
        service.delete_channel(session, _channel(session, channel_id))
        session.commit()
    out.print(f"removed {channel_id}")


@notify_cli.command("test")
def notify_test(channel_id: uuid.UUID) -> None:
    """Send a test message now, from this process, and report what the chat or the mail server answered."""
    from sqlmodel import Session

    from app.notifications import service

    runtime = command_runtime()
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        try:
            delivery = service.enqueue_test(session, _channel(session, channel_id))
        except AppError as exc:
            err.print(f"[red]error:[/] {exc.message}")
            raise typer.Exit(1) from exc
        session.commit()
    _deliver_now(runtime, delivery.id)


@notify_cli.command("retry")
def notify_retry(channel_id: uuid.UUID, delivery_id: uuid.UUID) -> None:
    """Send a delivery again now (a dead or delivered one gets one more attempt) and report the outcome."""
    from sqlmodel import Session

    from app.notifications import service

    runtime = command_runtime()
    with Session(runtime.db_engine) as session:
        channel = _channel(session, channel_id)
        try:
            service.retry_by_hand(session, channel, service.get_delivery(session, channel, delivery_id), utcnow())
        except AppError as exc:
            err.print(f"[red]error:[/] {exc.message}")
            raise typer.Exit(1) from exc
        session.commit()
    _deliver_now(runtime, delivery_id)


@notify_cli.command("deliveries")
def notify_deliveries(channel_id: uuid.UUID, limit: Annotated[int, typer.Option(min=1, max=200)] = 20) -> None:
    """What was sent to a channel, newest first, with its attempts."""
    from sqlmodel import Session

    from app.notifications import service

    runtime = command_runtime()
    with Session(runtime.db_engine) as session:
        rows = service.list_deliveries(session, _channel(session, channel_id), None, limit, 0)
        attempts = service.attempts_of(session, [row.id for row in rows])
    table = Table("id", "event", "alert", "status", "attempts", "last error", "created")
    for row in rows:
        outcomes = ", ".join(attempt.outcome or "cut short" for attempt in attempts[row.id])
        table.add_row(
            str(row.id),
            row.event,
            str(row.alert_id or ""),
            row.status,
            outcomes,
            row.last_error or "",
            str(row.created_at),
        )
    out.print(table)


def _deliver_now(runtime: Runtime, delivery_id: uuid.UUID) -> None:
    from app.scheduling import build_notification_dispatcher, telegram_bots

    bots = telegram_bots(runtime)
    dispatcher = build_notification_dispatcher(runtime, bots)
    try:
        result = dispatcher.deliver(delivery_id)
    finally:
        dispatcher.close()
        bots.close()
    if result is None:
        err.print("[red]error:[/] the message could not be sent now; see the log")
        raise typer.Exit(1)
    if result.outcome != "delivered":
        err.print(f"[red]{result.outcome}:[/] {result.error} after {result.duration_ms:.0f} ms")
        raise typer.Exit(1)
    out.print(f"delivered in {result.duration_ms:.0f} ms (delivery {delivery_id})")


def _channel(session: Session, channel_id: uuid.UUID) -> NotificationChannel:
    from app.notifications import service

    try:
        return service.get_channel(session, channel_id)
    except NotFound as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
