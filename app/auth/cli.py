"""`impwatch org ...` and `impwatch key ...`: the operator's commands for organisations and keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from app.cli_support import command_runtime, err, out
from core.errors import AppError
from core.scope import INSTALLATION

org_cli = typer.Typer(help="Organisations (press offices, newsrooms) that share this installation.")
key_cli = typer.Typer(help="API keys.")


@org_cli.command("create")
def org_create(name: Annotated[str, typer.Argument(help="The organisation's name")]) -> None:
    """Create an organisation."""
    from sqlmodel import Session

    from app.auth import service

    runtime = command_runtime()
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        try:
            organization = service.create_organization(session, name)
        except AppError as exc:
            err.print(f"[red]error:[/] {exc.message}")
            raise typer.Exit(1) from exc
        service.audit(session, INSTALLATION, "organization.created", "organization", organization.id, organization.id)
        session.commit()
    out.print(f"organisation {organization.name}: {organization.id}")


@org_cli.command("list")
def org_list() -> None:
    """List the organisations."""
    from sqlmodel import Session

    from app.auth import service

    runtime = command_runtime()
    with Session(runtime.db_engine) as session:
        organizations = service.list_organizations(session)
    table = Table("id", "name", "created")
    for organization in organizations:
        table.add_row(str(organization.id), organization.name, organization.created_at.strftime("%Y-%m-%d"))
    out.print(table)


@key_cli.command("create")
def key_create(
    role: Annotated[str, typer.Option(help="operator, org_admin or org_member")],
    org: Annotated[str | None, typer.Option(help="The organisation's name or id (not for operator keys)")] = None,
    name: Annotated[str, typer.Option(help="What the key is for")] = "",
    expires: Annotated[datetime | None, typer.Option(help="Expiry, e.g. 2027-01-31")] = None,
) -> None:
    """Create a key and print it (it is shown only this once)."""
    from sqlmodel import Session

    from app.auth import service
    from app.auth.models import ROLES

    if role not in ROLES or role == "subject":
        err.print("[red]error:[/] --role must be operator, org_admin or org_member (subjects enrol by invitation)")
        raise typer.Exit(2)
    runtime = command_runtime()
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        try:
            organization_id = service.find_organization(session, org).id if org else None
            expires_at = expires.replace(tzinfo=expires.tzinfo or UTC) if expires else None
            issued = service.issue_key(session, role, organization_id, name, expires_at)
        except AppError as exc:
            err.print(f"[red]error:[/] {getattr(exc, 'message', exc)}")
            raise typer.Exit(1) from exc
        service.audit(session, INSTALLATION, "key.created", "api_key", issued.key.id, organization_id, role=role)
        session.commit()
    err.print(f"{role} key {issued.key.prefix} created; it is shown only now:")
    print(issued.plaintext)


user_cli = typer.Typer(help="Console users (people who sign in to the web console).")


@user_cli.command("create")
def user_create(
    email: Annotated[str, typer.Argument(help="The email they sign in with")],
    role: Annotated[str, typer.Option(help="operator, org_admin or org_member")],
    org: Annotated[str | None, typer.Option(help="The organisation's name or id (not for operators)")] = None,
    password: Annotated[
        bool, typer.Option("--password", help="Ask for the password now instead of printing a one-time link")
    ] = False,
) -> None:
    """Create a console user; print the one-time link where they set their password (or set it now)."""
    from sqlmodel import Session

    from app.auth import service

    if role not in ("operator", "org_admin", "org_member"):
        err.print("[red]error:[/] --role must be operator, org_admin or org_member (subjects enrol by invitation)")
        raise typer.Exit(2)
    secret = typer.prompt("password", hide_input=True, confirmation_prompt=True) if password else None
    runtime = command_runtime()
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        try:
            organization_id = service.find_organization(session, org).id if org else None
            user, token = service.create_user(session, email, role, organization_id, password=secret)
        except AppError as exc:
            err.print(f"[red]error:[/] {exc.message}")
            raise typer.Exit(1) from exc
        service.audit(session, INSTALLATION, "user.created", "user", user.id, organization_id, role=role)
        session.commit()
    err.print(f"{role} user {user.email} created")
    if token:
        err.print("they set their password at this one-time link (valid 7 days):")
        print(f"{runtime.settings.public_base_url.rstrip('/')}/password/{token}")
