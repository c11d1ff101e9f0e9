"""Light commands start quickly: a fresh process that runs them has not imported the face work, Telethon, PyAV,
the API or Alembic (bench/cli_times.py measures the times; this keeps what makes them short)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = {"dlib", "face_recognition", "onnxruntime", "onnx", "telethon", "av", "dramatiq", "pika"}
"""Slow to import (Telethon and face_recognition take seconds): only the code that detects faces, reads Telegram
or decodes video imports them."""
NOT_NEEDED_TO_LIST = {"fastapi", "alembic", "numpy", "PIL", "httpx", "apscheduler", "prometheus_client"}
"""The API, migrations (the database is already at the latest one), image arrays, HTTP, the scheduler, metrics."""

LIGHT_COMMANDS = [
    ["--help"],
    ["webhook", "list"],
    ["notify", "list"],
    ["alerts", "list"],
    ["watch", "list"],
    ["person", "list"],
    ["settings"],
]

RUN_AND_LIST_MODULES = """
import json, sys
from typer.testing import CliRunner
from app.cli import cli

for args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(cli, args, prog_name="impwatch")
    assert result.exit_code == 0, (args, result.output, result.exception)
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


@pytest.fixture
def migrated_data_dir(tmp_path: Path, sqlite_template: Path) -> Path:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(sqlite_template, data_dir / "impwatch.db")
    return data_dir


def modules_after(commands: list[list[str]], data_dir: Path) -> set[str]:
    """The top-level packages a fresh `impwatch` process has imported once it has run `commands` in turn."""
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, json.dumps(commands)],
        cwd=data_dir.parent,
        env={"PATH": "/usr/bin:/bin", "IMPWATCH_DATA_DIR": str(data_dir), "COLUMNS": "120"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_light_commands_import_none_of_the_heavy_libraries(migrated_data_dir: Path) -> None:
    imported = modules_after(LIGHT_COMMANDS, migrated_data_dir)
    assert "sqlmodel" in imported  # the commands did read the database
    assert imported & HEAVY == set()
    assert imported & NOT_NEEDED_TO_LIST == set()


def test_help_imports_nothing_of_the_domain(migrated_data_dir: Path) -> None:
    imported = modules_after([["--help"], ["webhook", "--help"]], migrated_data_dir)
    assert imported & {"sqlmodel", "sqlalchemy", "pydantic_settings", *HEAVY} == set()  # (Typer itself loads pydantic)
