"""`impwatch webhook ...`: add, list, remove, rotate the secret of, and test webhook endpoints."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from app.cli_support import OrganizationOption, command_organization, command_runtime, err, out
from core.clock import utcnow
from core.errors import AppError, NotFound

if TYPE_CHECKING:
    from pydantic import ValidationError
    from sqlmodel import Session

    from app.runtime import Runtime
    from app.webhooks.models import WebhookEndpoint
    from app.webhooks.service import AttemptResult

webhook_cli = typer.Typer(help="Webhook endpoints: where alerts are delivered, signed (Standard Webhooks).")


@webhook_cli.command("add")
def webhook_add(
    url: Annotated[str, typer.Argument(help="The receiver's URL (http or https)")],
    description: Annotated[str, typer.Option(help="What or whose receiver it is")] = "",
    event: Annotated[
        list[str] | None, typer.Option(help="alert.created, alert.updated, watch.failed or * (default); repeatable")
    ] = None,
    person: Annotated[list[uuid.UUID] | None, typer.Option(help="Alerts of this person only; repeatable")] = None,
    org: OrganizationOption = None,
) -> None:
    """Add an endpoint of an organisation (it receives the alerts of that organisation's people) and print its
    signing secret (shown this once)."""
    from pydantic import ValidationError
    from sqlmodel import Session

    from app.webhooks import service
    from app.webhooks.schemas import EndpointCreate

    try:
        data = EndpointCreate.model_validate(
            {"url": url, "description": description, "events": event or ["*"], "person_ids": person or []}
        )
    except ValidationError as exc:
        err.print(f"[red]error:[/] {_first_error(exc)}")
        raise typer.Exit(2) from exc
    runtime = command_runtime()
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        organization = command_organization(session, org)
        try:
            endpoint, secret = service.create_endpoint(session, organization.id, data, runtime.webhook_url_policy)
        except AppError as exc:
            err.print(f"[red]error:[/] {exc.message}")
            raise typer.Exit(1) from exc
        session.commit()
    out.print(f"added webhook {endpoint.url} ({endpoint.id}) of {organization.name}")
    out.print("signing secret (shown once, store it now):")
    print(secret)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"


@webhook_cli.command("list")
def webhook_list() -> None:
    """List endpoints (never their secrets) and the organisation whose alerts each receives."""
    from sqlmodel import Session

    from app.auth.service import list_organizations
    from app.webhooks import service

    runtime = command_runtime()
    with Session(runtime.db_engine) as session:
        endpoints = service.list_endpoints(session)
        organizations = {organization.id: organization.name for organization in list_organizations(session)}
    table = Table("id", "url", "organisation", "events", "people", "enabled", "description")
    for endpoint in endpoints:
        table.add_row(
            str(endpoint.id),
            endpoint.url,
            _organization_name(organizations, endpoint),
            ", ".join(endpoint.events),
            str(len(endpoint.person_ids)) if endpoint.person_ids else "all",
            "yes" if endpoint.enabled else f"no: {endpoint.disabled_reason or 'by hand'}",
            endpoint.description,
        )
    out.print(table)


@webhook_cli.command("remove")
def webhook_remove(endpoint_id: uuid.UUID) -> None:
    """Remove an endpoint and its deliveries."""
    from sqlmodel import Session

    from app.webhooks import service

    runtime = command_runtime()
    with Session(runtime.db_engine) as session:
        service.delete_endpoint(session, _endpoint(session, endpoint_id))
        session.commit()
    out.print(f"removed {endpoint_id}")


@webhook_cli.command("rotate-secret")
def webhook_rotate_secret(
    endpoint_id: uuid.UUID,
    keep_previous_seconds: Annotated[
        int, typer.Option(min=0, max=7 * 86_400, help="How long the old secret keeps signing too")
    ] = 86_400,
) -> None:
    """Give an endpoint a new secret and print it (shown once); the old one signs too for a while."""
    from sqlmodel import Session

    from app.webhooks import service

    runtime = command_runtime()
    with Session(runtime.db_engine) as session:
        secret = service.rotate_secret(session, _endpoint(session, endpoint_id), keep_previous_seconds, utcnow())
        session.commit()
    out.print("new signing secret (shown once, store it now):")
    print(secret)


@webhook_cli.command("test")
def webhook_test(endpoint_id: uuid.UUID) -> None:
    """Send a `webhook.test` event now, from this process, and report the receiver's answer."""
    from sqlmodel import Session

    from app.webhooks import service

    runtime = command_runtime()
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        try:
            delivery = service.enqueue_test_event(session, _endpoint(session, endpoint_id))
        except AppError as exc:
            err.print(f"[red]error:[/] {exc.message}")
            raise typer.Exit(1) from exc
        session.commit()
    result = _send_now(runtime, delivery.id)
    if result is None:
        err.print("[red]error:[/] the test event could not be sent; see the log")
        raise typer.Exit(1)
    if not result.succeeded:
        err.print(f"[red]failed:[/] {result.error or f'HTTP {result.status_code}'} after {result.duration_ms:.0f} ms")
        raise typer.Exit(1)
    out.print(f"delivered: HTTP {result.status_code} in {result.duration_ms:.0f} ms (delivery {delivery.id})")


def _send_now(runtime: Runtime, delivery_id: uuid.UUID) -> AttemptResult | None:
    from app.scheduling import build_webhook_dispatcher

    dispatcher = build_webhook_dispatcher(runtime)
    try:
        return dispatcher.deliver(delivery_id)
    finally:
        dispatcher.close()


def _endpoint(session: Session, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    from app.webhooks import service

    try:
        return service.get_endpoint(session, endpoint_id)
    except NotFound as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc


def _organization_name(organizations: dict[uuid.UUID, str], endpoint: WebhookEndpoint) -> str:
    """Endpoints made before an organisation was required may have none, and never receive an alert."""
    if endpoint.organization_id is None:
        return "none: gets no alerts"
    return organizations.get(endpoint.organization_id, "none: gets no alerts")
