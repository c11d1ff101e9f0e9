"""A reader's file, fetched from the Bot API (`getFile`, then the file URL) as a watch source downloads media: the
declared size refused over the cap before a byte is read, the download capped as it streams."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from app.notifications.telegram import TelegramBots
from watchers.sources.base import FetchedPost, MediaRef, MediaTooLarge
from watchers.sources.helpers import copy_capped, refuse_declared_size


class BotFileSource:
    """The `download` half of a source (`watchers.sources.base.Source`): `MediaStore.fetch` calls it. `locator`
    is the Bot API's `file_id`."""

    def __init__(self, bots: TelegramBots, token: str, timeout_seconds: float) -> None:
        self.bots, self.token, self.timeout_seconds = bots, token, timeout_seconds

    def fetch(self, cursor: str | None, limit: int) -> Iterator[FetchedPost]:
        """Nothing: a reader's file comes with their message, never from a feed."""
        return iter(())

    def download(self, media: MediaRef, dest: IO[bytes], max_bytes: int) -> None:
        import httpx
        from telegram.error import BadRequest

        refuse_declared_size(media.size, max_bytes)
        try:
            found = self.bots.call(self.token, lambda bot: bot.get_file(media.locator))
        except BadRequest as refused:
            if "too big" in str(refused).lower():  # the Bot API serves files up to 20 MB
                raise MediaTooLarge(media.size or max_bytes + 1, max_bytes) from refused
            raise
        refuse_declared_size(found.file_size, max_bytes)
        if not found.file_path:
            raise ValueError("the Bot API gave no path for the file")
        with (
            httpx.Client(timeout=self.timeout_seconds, trust_env=False) as client,
            client.stream("GET", found.file_path) as response,
        ):
            response.raise_for_status()
            copy_capped(response.iter_bytes(), dest, max_bytes)
