"""Watch management (`watchers.service`): watches keep to the minimum interval whatever the entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from app.runtime import Runtime
from core.errors import InputRejected
from watchers import service
from watchers.schemas import WatchCreate, WatchUpdate
from watchers.service import WatchIntervals

INTERVALS = WatchIntervals(default_seconds=300, min_seconds=30)


def test_a_watch_is_never_made_or_changed_to_run_more_often_than_the_minimum(runtime: Runtime, tmp_path: Path) -> None:
    def data(**fields: object) -> WatchCreate:
        return WatchCreate.model_validate({"source": {"kind": "folder", "path": str(tmp_path)}, **fields})

    with Session(runtime.db_engine) as session:
        with pytest.raises(InputRejected) as too_fast:
            service.create_watch(session, data(interval_seconds=29), INTERVALS)
        assert too_fast.value.code == "interval_too_short" and "at least 30" in too_fast.value.message
        assert service.list_watches(session) == []

        watch = service.create_watch(session, data(), INTERVALS)
        assert watch.interval_seconds == 300, "no interval: the default"
        with pytest.raises(InputRejected) as changed_too_fast:
            service.update_watch(session, watch, WatchUpdate(interval_seconds=1), INTERVALS)
        assert changed_too_fast.value.code == "interval_too_short"
        assert watch.interval_seconds == 300
        assert service.update_watch(session, watch, WatchUpdate(interval_seconds=30), INTERVALS).interval_seconds == 30
