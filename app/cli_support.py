"""What every `impwatch` command shares: the two consoles, a migrated runtime, and the organisation it acts for.

The command modules import the domain (services, models, the database) inside each command, and this module inside
its functions, so that `impwatch --help` loads none of it and each command loads only what it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from core.errors import AppError

if TYPE_CHECKING:
    from sqlmodel import Session

    from app.auth.models import Organization
    from app.runtime import Runtime

out = Console()
err = Console(stderr=True)

OrganizationOption = Annotated[
    str | None, typer.Option("--org", help="The organisation's name or id (default: the only one)")
]
"""`--org` of the commands that make something of one organisation (a person, a webhook endpoint)."""


def command_runtime(**overrides: Any) -> Runtime:
    """Settings from the environment, the database migrated (Alembic runs only when it is behind). Commands that
    scan one file at a time run the face work in their own process (`face_workers=0`): a worker pool would only add
    its start-up time."""
    from app import db
    from app.runtime import Runtime
    from app.settings import Settings

    settings = Settings(**{"face_workers": 0, **overrides})
    db.ensure_migrated(settings.resolved_database_url)
    return Runtime.from_settings(settings)


def command_organization(session: Session, name_or_id: str | None, *, create_default: bool = False) -> Organization:
    """The organisation named by `--org`, or the only one there is. When there are several, or none (and
    `create_default` does not allow making one named "default"), the refusal is printed and the command exits 2."""
    from app.auth import service as auth_service

    try:
        return auth_service.organization_or_default(session, name_or_id, create_default=create_default)
    except AppError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(2) from exc
