"""Source configs as the registry validates them: keyed by kind, and no key that the kind does not have."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from watchers.sources.folder import FolderConfig
from watchers.sources.registry import SOURCE_BUILDERS, parse_source_config, target_of
from watchers.sources.telegram import TelegramConfig
from watchers.sources.telegram_export import TelegramExportConfig
from watchers.sources.tme_preview import TmePreviewConfig

VALID = {
    "telegram": {"kind": "telegram", "channel": "press_office"},
    "tme_preview": {"kind": "tme_preview", "channel": "press_office"},
    "telegram_export": {"kind": "telegram_export", "path": "/exports/chat", "channel": "press_office"},
    "folder": {"kind": "folder", "path": "/inbox", "settle_seconds": 5},
}
TYPOS = {"telegram": "chanel", "tme_preview": "chanel", "telegram_export": "chanel", "folder": "setle_seconds"}
CONFIG_CLASSES = {
    "telegram": TelegramConfig,
    "tme_preview": TmePreviewConfig,
    "telegram_export": TelegramExportConfig,
    "folder": FolderConfig,
}


def test_the_cases_cover_every_registered_kind() -> None:
    assert set(VALID) == set(TYPOS) == set(CONFIG_CLASSES) == set(SOURCE_BUILDERS)


@pytest.mark.parametrize("kind", sorted(VALID))
def test_a_valid_config_is_taken(kind: str) -> None:
    config = parse_source_config(VALID[kind])
    assert isinstance(config, CONFIG_CLASSES[kind])
    assert target_of(config) in ("press_office", "/exports/chat", "/inbox")


@pytest.mark.parametrize("kind", sorted(VALID))
def test_a_typo_in_a_key_is_refused_naming_the_key_and_the_real_settings(kind: str) -> None:
    typo = TYPOS[kind]

    with pytest.raises(ValidationError) as refused:
        parse_source_config({**VALID[kind], typo: 1})

    [error] = refused.value.errors()
    assert error["loc"] == (kind,)
    assert f"unknown setting {typo!r} for a {kind} source" in error["msg"]
    assert ", ".join(CONFIG_CLASSES[kind].model_fields) in error["msg"]


@pytest.mark.parametrize("kind", sorted(VALID))
def test_the_config_class_itself_refuses_an_unknown_key(kind: str) -> None:
    fields = {key: value for key, value in VALID[kind].items() if key != "kind"}
    assert CONFIG_CLASSES[kind].model_config.get("extra") == "forbid"
    with pytest.raises(ValidationError, match=f"unknown setting '{TYPOS[kind]}'"):
        CONFIG_CLASSES[kind](**fields, **{TYPOS[kind]: 1})


def test_a_folder_typo_no_longer_leaves_the_default_in_force() -> None:
    with pytest.raises(ValidationError, match="settle_seconds"):
        FolderConfig.model_validate({"path": "/inbox", "setle_seconds": 0})
