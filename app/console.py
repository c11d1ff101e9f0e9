"""What every `impwatch` command shares: the two consoles and a migrated runtime."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from app import db
from app.runtime import Runtime
from app.settings import Settings

out = Console()
err = Console(stderr=True)


def command_runtime(**overrides: Any) -> Runtime:
    """Settings from the environment, the database migrated. Commands that scan one file at a time run the face
    work in their own process (`face_workers=0`): a worker pool would only add its start-up time."""
    settings = Settings(**{"face_workers": 0, **overrides})
    db.upgrade(settings.resolved_database_url)
    return Runtime.from_settings(settings)
