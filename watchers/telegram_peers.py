"""Resolved channel usernames kept in the database (`TelegramPeer`), shared by every process of the installation.

The telegram source gets a `PeerCache` through `SourceContext.telegram_peers`; it opens short sessions of its own,
because a source knows nothing of the run's transaction. A stale entry (the channel changed hands, the access hash
no longer works) is forgotten when Telegram refuses it, and resolved again on the next run.
"""

from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.clock import utcnow
from watchers.models import TelegramPeer


class PeerCache(Protocol):
    def get(self, username: str) -> tuple[int, int] | None:
        """(channel id, access hash) of a username resolved before, or None."""
        ...

    def put(self, username: str, channel_id: int, access_hash: int) -> None: ...

    def forget(self, username: str) -> None: ...


class DbPeerCache:
    """`PeerCache` on the installation's database."""

    def __init__(self, db_engine: Engine) -> None:
        self._engine = db_engine

    def get(self, username: str) -> tuple[int, int] | None:
        with Session(self._engine) as session:
            peer = session.get(TelegramPeer, username.lower())
            return (peer.channel_id, peer.access_hash) if peer is not None else None

    def put(self, username: str, channel_id: int, access_hash: int) -> None:
        with Session(self._engine) as session:
            peer = session.get(TelegramPeer, username.lower()) or TelegramPeer(
                username=username.lower(), channel_id=channel_id, access_hash=access_hash
            )
            peer.channel_id, peer.access_hash, peer.resolved_at = channel_id, access_hash, utcnow()
            session.add(peer)
            try:
                session.commit()
            except sa.exc.IntegrityError:
                session.rollback()  # another process stored it meanwhile: theirs is as good

    def forget(self, username: str) -> None:
        with Session(self._engine) as session:
            peer = session.get(TelegramPeer, username.lower())
            if peer is not None:
                session.delete(peer)
                session.commit()
