"""`ensure_migrated`, which every command runs first: Alembic's answer, found without Alembic when nothing is to do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from app import db
from tests.conftest import DATABASES, POSTGRES_URL
from tests.support import postgres_database_from_template


@pytest.fixture(params=DATABASES)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'impwatch.db'}"
        return
    with postgres_database_from_template(POSTGRES_URL, "template0") as url:
        yield url


def alembic_heads() -> set[str]:
    return set(ScriptDirectory.from_config(db.alembic_config("sqlite://")).get_heads())


def test_the_heads_read_from_the_scripts_are_alembics() -> None:
    assert db.migration_heads() == alembic_heads()


def test_a_new_database_is_migrated(empty_database: str) -> None:
    assert db.stored_revisions(empty_database) == set()
    db.ensure_migrated(empty_database)
    assert db.stored_revisions(empty_database) == alembic_heads()


def test_a_database_behind_is_upgraded_and_one_at_the_head_left_alone(
    empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db.upgrade(empty_database, "0004")
    db.ensure_migrated(empty_database)
    assert db.stored_revisions(empty_database) == alembic_heads()

    def refuse(url: str, revision: str = "head") -> None:
        raise AssertionError("Alembic ran on a database that was at the head already")

    monkeypatch.setattr(db, "upgrade", refuse)
    db.ensure_migrated(empty_database)


def test_heads_are_what_no_script_follows_and_an_unreadable_script_leaves_it_to_alembic(tmp_path: Path) -> None:
    scripts = {
        "a.py": "revision = 'a'\ndown_revision = None\n",
        "b.py": "revision: str = 'b'\ndown_revision: str | None = 'a'\n",
        "c.py": "revision = 'c'\ndown_revision = 'a'\n",
        "merge.py": "revision = 'm'\ndown_revision = ('b', 'c')\n",
        "d.py": "revision = 'd'\ndown_revision = 'm'\n",
        "e.py": "revision = 'e'\ndown_revision = 'm'\n",
    }
    for name, text in scripts.items():
        (tmp_path / name).write_text(text)
    assert db.migration_heads(tmp_path) == {"d", "e"}
    (tmp_path / "f.py").write_text("revision = make_revision()\ndown_revision = 'e'\n")
    assert db.migration_heads(tmp_path) is None
