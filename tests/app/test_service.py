"""Alerts under concurrency: the same media reposted in two channels and recorded by two transactions at once (two
watches finding the same deepfake) adds two occurrences, never one."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app.models import Alert, AlertOccurrence
from app.runtime import Runtime
from tests.app.webhooks.builders import add_person, raise_alert, record_post
from tests.support import wait_for


def waiting_for_a_lock(runtime: Runtime) -> bool:
    with runtime.db_engine.connect() as connection:
        return bool(connection.execute(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar())


def test_two_reposts_recorded_at_once_both_count(runtime: Runtime, database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite lets one transaction write at a time: two recordings cannot overlap")
    person = add_person(runtime)
    alert = raise_alert(runtime, person, media="deepfake", channel="first_channel")
    errors: list[BaseException] = []

    def record_the_second_repost() -> None:
        try:
            with Session(runtime.db_engine) as session:
                record_post(session, person, "deepfake", "third_channel")
                session.commit()
        except BaseException as error:  # reported by the assertion below, not lost in the thread
            errors.append(error)

    with Session(runtime.db_engine) as first:
        record_post(first, person, "deepfake", "second_channel")
        second = threading.Thread(target=record_the_second_repost)
        second.start()
        wait_for(lambda: waiting_for_a_lock(runtime), timeout=30, what="the second recording to wait for the first")
        first.commit()
    second.join(timeout=60)
    assert not second.is_alive() and not errors, errors

    with Session(runtime.db_engine) as session:
        stored = session.get(Alert, alert.id)
        occurrences = session.exec(select(AlertOccurrence).where(AlertOccurrence.alert_id == alert.id)).all()
    assert len(occurrences) == 3
    assert stored is not None and stored.occurrences_count == 3
