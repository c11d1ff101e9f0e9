"""The settings' reference: the README's table is the one the settings make, and `impwatch settings` prints or
rewrites it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.settings import REFERENCE_END, REFERENCE_START, SETTING_GROUPS, Settings, settings_reference
from tests.impwatch import Ran

README = Path(__file__).resolve().parents[2] / "README.md"
REGENERATE = ".venv/bin/impwatch settings --readme README.md"


def rows(table: str) -> dict[str, list[str]]:
    """The cells of each setting's row, by its variable."""
    found = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        if cells[0].startswith("`IMPWATCH_"):
            found[cells[0].strip("`")] = cells[1:]
    return found


def test_the_readme_shows_the_settings_table_they_make() -> None:
    text = README.read_text(encoding="utf-8")
    between = text.split(REFERENCE_START, 1)[1].split(REFERENCE_END, 1)[0]
    assert between.strip() == settings_reference().strip(), (
        f"The README's settings table differs from app/settings.py; rewrite it with `{REGENERATE}`"
    )


def test_every_setting_has_one_row_with_a_description_in_order_of_declaration() -> None:
    table = rows(settings_reference())
    assert list(table) == [f"IMPWATCH_{name.upper()}" for name in Settings.model_fields]
    assert [name for name, (_default, description) in table.items() if not description] == []


def test_the_groups_start_at_settings_and_the_first_group_at_the_first_one() -> None:
    names = list(Settings.model_fields)
    starts = [names.index(first) for _title, first in SETTING_GROUPS]
    assert starts[0] == 0
    assert starts == sorted(set(starts))


def test_defaults_read_as_they_are_written_in_the_environment() -> None:
    table = rows(settings_reference())
    assert table["IMPWATCH_DATA_DIR"][0] == "`data`"
    assert table["IMPWATCH_KEEP_MEDIA"][0] == "`false`"
    assert table["IMPWATCH_MATCH_FALSE_ALERT_TARGET"][0] == "`0.0001`"
    assert table["IMPWATCH_MAX_UPLOAD_BYTES"][0] == "`209715200` (200 MiB)"
    assert table["IMPWATCH_WEBHOOK_RETRY_SCHEDULE_SECONDS"][0] == "`[5, 300, 1800, 7200, 18000, 36000, 36000]`"
    for empty in ("IMPWATCH_DATABASE_URL", "IMPWATCH_CAMPAIGN_TERMS", "IMPWATCH_SMTP_PASSWORD"):
        assert table[empty][0] == ""


def test_impwatch_settings_prints_the_table(impwatch: Callable[..., Ran]) -> None:
    result = impwatch("settings")
    assert result.returncode == 0, result.stderr
    assert result.stdout == settings_reference()


def test_impwatch_settings_readme_rewrites_only_the_table(impwatch: Callable[..., Ran], tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# Title\n\nBefore.\n\n{REFERENCE_START}\n| old |\n{REFERENCE_END}\n\nAfter.\n", encoding="utf-8"
    )
    result = impwatch("settings", "--readme", str(readme))
    assert result.returncode == 0, result.stderr
    assert readme.read_text(encoding="utf-8") == (
        f"# Title\n\nBefore.\n\n{REFERENCE_START}\n\n{settings_reference()}\n{REFERENCE_END}\n\nAfter.\n"
    )
    assert impwatch("settings", "--readme", str(readme)).returncode == 0
    assert rows(readme.read_text(encoding="utf-8")) == rows(settings_reference())


def test_impwatch_settings_refuses_a_file_without_the_markers(impwatch: Callable[..., Ran], tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n", encoding="utf-8")
    result = impwatch("settings", "--readme", str(readme))
    assert result.returncode == 2
    assert "markers" in result.stderr
    assert readme.read_text(encoding="utf-8") == "# Title\n"
    missing = impwatch("settings", "--readme", str(tmp_path / "absent.md"))
    assert missing.returncode == 2
    assert "No such file" in missing.stderr
