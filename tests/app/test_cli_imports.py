"""Light commands start quickly: a fresh process that runs them has not imported the face work, Telethon, PyAV,
the API or Alembic (bench/cli_times.py measures the times; this keeps what makes them short)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = {"dlib", "face_recognition", "telethon", "av"}
"""Seconds each to import: only the code that detects faces, reads Telegram or decodes video imports them."""
NOT_NEEDED_TO_LIST = {"fastapi", "alembic", "numpy", "PIL", "httpx", "apscheduler", "prometheus_client"}
"""The API, migrations (the database is already at the latest one), image arrays, HTTP, the scheduler, metrics."""

LIGHT_COMMANDS = [["--help"], ["webhook", "list"], ["alerts", "list"], ["watch", "list"], ["person", "list"]]

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


def test_light_commands_import_none_of_the_heavy_libraries(tmp_path: Path, migrated_data_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, json.dumps(LIGHT_COMMANDS)],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "IMPWATCH_DATA_DIR": str(migrated_data_dir), "COLUMNS": "120"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    imported = set(json.loads(done.stdout.splitlines()[-1]))
    assert "sqlmodel" in imported  # the commands did read the database
    assert imported & HEAVY == set()
    assert imported & NOT_NEEDED_TO_LIST == set()
