"""The source kinds this installation knows: a discriminated union of their configs and a registry of builders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from watchers.sources.base import Source, SourceContext
from watchers.sources.folder import FolderConfig, FolderSource
from watchers.sources.telegram import TelegramConfig, TelegramSource
from watchers.sources.telegram_export import TelegramExportConfig, TelegramExportSource
from watchers.sources.tme_preview import TmePreviewConfig, TmePreviewSource

SourceConfig = Annotated[
    TelegramConfig | TmePreviewConfig | TelegramExportConfig | FolderConfig, Field(discriminator="kind")
]
SOURCE_BUILDERS: dict[str, Callable[[Any, SourceContext], Source]] = {
    "telegram": TelegramSource,
    "tme_preview": TmePreviewSource,
    "telegram_export": TelegramExportSource,
    "folder": FolderSource,
}
_ADAPTER: TypeAdapter[SourceConfig] = TypeAdapter(SourceConfig)


def parse_source_config(data: dict[str, Any]) -> SourceConfig:
    """Validate a stored or submitted config; raises pydantic's ValidationError with the reason."""
    return _ADAPTER.validate_python(data)


def build_source(config: SourceConfig, context: SourceContext) -> Source:
    return SOURCE_BUILDERS[config.kind](config, context)


def target_of(config: SourceConfig) -> str:
    """What a watch of this config looks at, for people and for the one-watch-per-target rule."""
    if isinstance(config, TelegramConfig | TmePreviewConfig):
        return config.channel
    if isinstance(config, TelegramExportConfig) and config.chat is not None:
        return f"{config.path} (chat {config.chat})"
    return config.path
