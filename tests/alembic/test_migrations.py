"""Migrations keep what an installation already has: a database at an earlier revision, filled as a running
service filled it, is upgraded and read back through the API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from alembic import command
from app import db
from app.main import create_app
from app.runtime import Runtime
from tests.conftest import DATABASES, POSTGRES_URL, make_settings
from tests.factories import api_key, bearer
from tests.support import postgres_database_from_template, running_server

ORGANIZATION = "Akimat press office"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture(params=DATABASES)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    with postgres_database_from_template(POSTGRES_URL, "template0") as url:
        yield url


class OldRows:
    """Rows written with the tables as they were at one revision (reflected, so the current models play no part)."""

    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self.metadata = sa.MetaData()
        self.sqlite = connection.dialect.name == "sqlite"

    def add(self, table: str, **values: object) -> uuid.UUID:
        row_id = uuid.uuid4()
        columns = {"id": row_id, **values}
        stored = {key: self._stored(value) for key, value in columns.items()}
        self.connection.execute(sa.Table(table, self.metadata, autoload_with=self.connection).insert().values(stored))
        return row_id

    def _stored(self, value: object) -> object:
        if isinstance(value, uuid.UUID):
            return value.hex if self.sqlite else str(value)
        return value


def fill_at_0004(url: str) -> dict[str, uuid.UUID]:
    """One organisation's person seen in a photo posted twice (one alert, two occurrences) and a video posted once,
    with a detection for each, and one webhook delivery of the first alert."""
    engine = db.make_engine(url)
    with engine.begin() as connection:
        rows = OldRows(connection)
        org = rows.add("organization", name=ORGANIZATION, created_at=T0)
        person = rows.add(
            "person",
            organization_id=org,
            display_name="Aigerim Nurtileu",
            aliases=["Айгерим Нұртілеу"],
            official_channels=["akimat_official"],
            phone_numbers=[],
            active=True,
            created_at=T0,
            updated_at=T0,
        )
        watch = rows.add(
            "watch",
            kind="tme_preview",
            target="kz_news_fake",
            config={"kind": "tme_preview", "channel": "kz_news_fake"},
            interval_seconds=300,
            enabled=True,
            state="ok",
            run_requested=False,
            consecutive_failures=0,
            posts_seen=3,
            created_at=T0,
            updated_at=T0,
        )
        alerts = {}
        for name, sha256, kind, posts in (("photo", "a" * 64, "photo", 2), ("video", "b" * 64, "video", 1)):
            connection.execute(
                sa.Table("media_analysis", rows.metadata, autoload_with=connection)
                .insert()
                .values(
                    sha256=sha256,
                    kind=kind,
                    size=1000,
                    width=640,
                    height=480,
                    frames_scanned=9 if kind == "video" else 1,
                    faces_found=1,
                    analysed_at=T0,
                )
            )
            detection = rows.add(
                "detection",
                sha256=sha256,
                person_id=person,
                distance=0.31,
                box={"top": 10, "right": 90, "bottom": 100, "left": 5},
                best_timestamp=4.0 if kind == "video" else None,
                timestamps=[3.0, 4.0] if kind == "video" else [],
                frames_matched=2 if kind == "video" else 1,
                crop_jpeg=b"\xff\xd8old crop",
                created_at=T0,
            )
            alert = rows.add(
                "alert",
                kind="face_match",
                person_id=person,
                sha256=sha256,
                detection_id=detection,
                media_kind=kind,
                best_distance=0.31,
                status="confirmed_impersonation" if kind == "photo" else "new",
                note="seen by the desk" if kind == "photo" else None,
                official_only=False,
                occurrences_count=posts,
                first_seen_at=T0,
                last_seen_at=T0 + timedelta(hours=posts),
                created_at=T0 + timedelta(minutes=1 if kind == "photo" else 2),
                updated_at=T0,
            )
            alerts[name] = alert
            for number in range(posts):
                message_id = 10 * (1 if kind == "photo" else 2) + number
                post = rows.add(
                    "post",
                    watch_id=watch,
                    channel="kz_news_fake",
                    message_id=message_id,
                    permalink=f"https://t.me/kz_news_fake/{message_id}",
                    posted_at=T0 + timedelta(hours=number),
                    text=f"post {message_id}",
                    created_at=T0,
                )
                item = rows.add(
                    "media_item",
                    post_id=post,
                    position=0,
                    kind=kind,
                    locator=f"https://cdn/{message_id}",
                    sha256=sha256,
                    status="done",
                    attempts=1,
                    created_at=T0,
                )
                rows.add(
                    "alert_occurrence",
                    alert_id=alert,
                    media_item_id=item,
                    watch_id=watch,
                    channel="kz_news_fake",
                    permalink=f"https://t.me/kz_news_fake/{message_id}",
                    posted_at=T0 + timedelta(hours=number),
                    official=False,
                    created_at=T0,
                )
        endpoint = rows.add(
            "webhook_endpoint",
            organization_id=org,
            url="https://hooks.example.org/x",
            description="desk",
            events=["*"],
            person_ids=[],
            enabled=True,
            secret="whsec_" + "A" * 43,
            created_at=T0,
            updated_at=T0,
        )
        event = rows.add("webhook_event", type="alert.created", payload='{"version": 1}', created_at=T0)
        delivery = rows.add(
            "webhook_delivery",
            event_id=event,
            endpoint_id=endpoint,
            status="delivered",
            attempts=1,
            one_more_attempt=False,
            last_status_code=200,
            delivered_at=T0,
            created_at=T0,
            updated_at=T0,
        )
        rows.add("webhook_attempt", delivery_id=delivery, attempted_at=T0, status_code=200, duration_ms=12.5)
    engine.dispose()
    return {**alerts, "endpoint": endpoint, "delivery": delivery}


def test_alerts_occurrences_detections_and_deliveries_survive_the_kind_neutral_alert(
    empty_database: str, tmp_path: Path
) -> None:
    db.upgrade(empty_database, "0004")
    ids = fill_at_0004(empty_database)

    db.upgrade(empty_database)

    runtime = Runtime.from_settings(make_settings(tmp_path, empty_database, face_workers=0))
    try:
        with (
            running_server(create_app(runtime)) as base_url,
            httpx.Client(
                base_url=base_url, headers=bearer(api_key(runtime, "org_admin", ORGANIZATION)), timeout=30
            ) as api,
        ):
            page = api.get("/v1/alerts").json()
            assert [item["id"] for item in page["items"]] == [str(ids["video"]), str(ids["photo"])]
            photo = api.get(f"/v1/alerts/{ids['photo']}").json()
            assert (photo["kind"], photo["subject_key"], photo["tier"], photo["priority"]) == (
                "face_match",
                "a" * 64,
                "match",
                "high",
            )
            assert (photo["status"], photo["note"], photo["occurrences_count"]) == (
                "confirmed_impersonation",
                "seen by the desk",
                2,
            )
            assert [o["permalink"] for o in photo["occurrences"]] == [
                "https://t.me/kz_news_fake/10",
                "https://t.me/kz_news_fake/11",
            ]
            assert [o["post_text"] for o in photo["occurrences"]] == ["post 10", "post 11"]
            evidence = photo["evidence"]
            assert evidence["kind"] == "face_match" and evidence["sha256"] == "a" * 64
            assert (evidence["media_kind"], evidence["best_distance"], evidence["box"]["right"]) == ("photo", 0.31, 90)
            assert api.get(evidence["crop_url"]).content == b"\xff\xd8old crop"
            video = api.get(f"/v1/alerts/{ids['video']}").json()["evidence"]
            assert (video["timestamps"], video["best_timestamp"], video["frames_matched"]) == ([3.0, 4.0], 4.0, 2)
            assert [a["id"] for a in api.get("/v1/alerts", params={"kind": "face_match"}).json()["items"]] == [
                str(ids["video"]),
                str(ids["photo"]),
            ]
            assert api.get("/v1/alerts", params={"kind": "phone_number"}).json()["items"] == []
            deliveries = api.get(f"/v1/webhooks/{ids['endpoint']}/deliveries").json()
            [delivery] = deliveries["items"] if isinstance(deliveries, dict) else deliveries
            assert delivery["id"] == str(ids["delivery"]) and delivery["status"] == "delivered"
            assert [attempt["status_code"] for attempt in delivery["attempt_log"]] == [200]
    finally:
        runtime.close()


def test_downgrade_to_0004_keeps_face_alerts(empty_database: str) -> None:
    db.upgrade(empty_database, "0004")
    fill_at_0004(empty_database)
    db.upgrade(empty_database)

    command.downgrade(db.alembic_config(empty_database), "0004")

    engine = db.make_engine(empty_database)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT sha256, media_kind, best_distance FROM alert ORDER BY sha256")).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [("a" * 64, "photo", 0.31), ("b" * 64, "video", 0.31)]


def fill_at_0005(url: str) -> dict[str, uuid.UUID]:
    """The 0004 installation upgraded to 0005, then a phone-number alert raised by a text post (an occurrence without
    a media item), as 0005 stored it."""
    db.upgrade(url, "0004")
    ids = fill_at_0004(url)
    db.upgrade(url, "0005")
    engine = db.make_engine(url)
    with engine.begin() as connection:
        rows = OldRows(connection)
        person = connection.execute(sa.text("SELECT id FROM person")).scalar_one()
        watch = connection.execute(sa.text("SELECT id FROM watch")).scalar_one()
        post = rows.add(
            "post",
            watch_id=watch,
            channel="kz_news_fake",
            message_id=30,
            permalink="https://t.me/kz_news_fake/30",
            posted_at=T0,
            text="Звоните: +7 701 555 12 34",
            created_at=T0,
        )
        alert = rows.add(
            "alert",
            kind="phone_number",
            person_id=person,
            subject_key="+77015551234",
            evidence={"kind": "phone_number", "number": "+77015551234", "span": None},
            tier="match",
            priority="high",
            status="new",
            official_only=False,
            occurrences_count=1,
            first_seen_at=T0,
            last_seen_at=T0,
            created_at=T0 + timedelta(minutes=3),
            updated_at=T0,
        )
        rows.add(
            "alert_occurrence",
            alert_id=alert,
            post_id=post,
            watch_id=watch,
            channel="kz_news_fake",
            permalink="https://t.me/kz_news_fake/30",
            posted_at=T0,
            official=False,
            created_at=T0,
        )
    engine.dispose()
    return {**ids, "phone": alert}


def test_people_posts_and_text_alerts_survive_the_text_identifiers(empty_database: str, tmp_path: Path) -> None:
    ids = fill_at_0005(empty_database)

    db.upgrade(empty_database)

    runtime = Runtime.from_settings(make_settings(tmp_path, empty_database, face_workers=0))
    try:
        with (
            running_server(create_app(runtime)) as base_url,
            httpx.Client(
                base_url=base_url, headers=bearer(api_key(runtime, "org_admin", ORGANIZATION)), timeout=30
            ) as api,
        ):
            [person] = api.get("/v1/persons").json()
            assert (person["display_name"], person["aliases"]) == ("Aigerim Nurtileu", ["Айгерим Нұртілеу"])
            assert (person["websites"], person["distinctive_aliases"], person["name_mentions"]) == ([], [], "possible")
            assert (person["phone_alerts"], person["website_alerts"]) == (True, True)
            phone = api.get(f"/v1/alerts/{ids['phone']}").json()
            assert (phone["kind"], phone["subject_key"], phone["priority"], phone["tier_reason"]) == (
                "phone_number",
                "+77015551234",
                "high",
                None,
            )
            assert (phone["corroborated_by"], phone["campaign_terms"], phone["related_alert_ids"]) == ([], [], [])
            assert [o["post_text"] for o in phone["occurrences"]] == ["Звоните: +7 701 555 12 34"]
            assert phone["evidence"]["where"] is None
            assert len(api.get("/v1/alerts").json()["items"]) == 3
            added = api.patch(f"/v1/persons/{person['id']}", json={"websites": ["orda.kz"], "name_mentions": "off"})
            assert added.status_code == 200 and added.json()["websites"] == ["orda.kz"]
    finally:
        runtime.close()


def test_downgrade_to_0005_keeps_alerts_and_makes_urgent_high(empty_database: str) -> None:
    fill_at_0005(empty_database)
    db.upgrade(empty_database)
    engine = db.make_engine(empty_database)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alert SET priority = 'urgent' WHERE kind = 'phone_number'"))
    engine.dispose()

    command.downgrade(db.alembic_config(empty_database), "0005")

    engine = db.make_engine(empty_database)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT kind, priority FROM alert ORDER BY kind")).all()
        columns = {column["name"] for column in sa.inspect(connection).get_columns("person")}
    engine.dispose()
    assert [tuple(row) for row in rows] == [("face_match", "high"), ("face_match", "high"), ("phone_number", "high")]
    assert "websites" not in columns


def test_face_calibration_keeps_detections_and_endpoints_and_downgrades(empty_database: str) -> None:
    """0007 on a filled 0005 database: detections are `match` with no encoding kept and no track, endpoints keep
    not asking for `possible` alerts, the new tables start empty; the downgrade to 0005 keeps the detections."""
    db.upgrade(empty_database, "0004")
    ids = fill_at_0004(empty_database)
    db.upgrade(empty_database, "0005")

    db.upgrade(empty_database, "0007")

    engine = db.make_engine(empty_database)
    with engine.connect() as connection:
        detections = connection.execute(
            sa.text("SELECT tier, encoding, track_timestamps, distance FROM detection ORDER BY sha256")
        ).all()
        endpoints = connection.execute(sa.text("SELECT include_possible FROM webhook_endpoint")).all()
        tables = {
            name: connection.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one()
            for name in ("face_calibration", "negative_face")
        }
        connection.execute(
            sa.text(
                "INSERT INTO face_calibration (person_id, counts, faces, match_threshold, possible_threshold, "
                "calibrated, counts_updated_at, thresholds_changed_at) SELECT id, '[]', 0, 0.32, 0.5, false, "
                "created_at, created_at FROM person"
            )
        )
        connection.commit()
    engine.dispose()
    assert [(tier, encoding, distance) for tier, encoding, _, distance in detections] == [
        ("match", None, 0.31),
        ("match", None, 0.31),
    ]
    assert all(track in ([], "[]") for _, _, track, _ in detections)
    assert [bool(row[0]) for row in endpoints] == [False] and ids["endpoint"]
    assert tables == {"face_calibration": 0, "negative_face": 0}

    command.downgrade(db.alembic_config(empty_database), "0005")

    engine = db.make_engine(empty_database)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM detection")).scalar_one() == 2
        assert "face_calibration" not in sa.inspect(connection).get_table_names()
        assert "tier" not in {column["name"] for column in sa.inspect(connection).get_columns("detection")}
    engine.dispose()


def test_watches_and_media_survive_the_telegram_coverage_revision_and_its_downgrade(
    empty_database: str, tmp_path: Path
) -> None:
    db.upgrade(empty_database, "0004")
    ids = fill_at_0004(empty_database)
    db.upgrade(empty_database, "0005")

    db.upgrade(empty_database)  # through 0008, and whatever came after: the API reads the head

    runtime = Runtime.from_settings(make_settings(tmp_path, empty_database, face_workers=0))
    try:
        with (
            running_server(create_app(runtime)) as base_url,
            httpx.Client(
                base_url=base_url, headers=bearer(api_key(runtime, "operator", ORGANIZATION)), timeout=30
            ) as api,
        ):
            [watch] = api.get("/v1/watches").json()
            assert (watch["target"], watch["posts_seen"], watch["since"], watch["history_complete"]) == (
                "kz_news_fake",
                3,
                None,
                False,
            )
            assert watch["coverage"] == {"poster_only": 0, "not_fetched": 0, "awaiting_file": 0, "notes": []}
            desk = bearer(api_key(runtime, "org_admin", ORGANIZATION))
            photo = api.get(f"/v1/alerts/{ids['photo']}", headers=desk).json()
            assert photo["evidence"]["poster_only"] is False and photo["occurrences_count"] == 2
    finally:
        runtime.close()
    engine = db.make_engine(empty_database)
    with engine.connect() as connection:
        flags = connection.execute(sa.text("SELECT poster_only, not_fetched FROM media_item")).all()
    assert [tuple(row) for row in flags] == [(False, None)] * 3
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE media_item SET status = 'awaiting_file'"))
    engine.dispose()

    command.downgrade(db.alembic_config(empty_database), "0005")

    engine = db.make_engine(empty_database)
    with engine.connect() as connection:
        statuses = connection.execute(sa.text("SELECT status FROM media_item")).scalars().all()
        columns = {column["name"] for column in sa.inspect(connection).get_columns("watch")}
    engine.dispose()
    assert statuses == ["pending"] * 3
    assert not columns & {"coverage", "since", "history_position", "history_complete"}


def test_an_installation_at_0008_gets_console_users_and_keeps_its_audit(empty_database: str, tmp_path: Path) -> None:
    fill_at_0005(empty_database)
    db.upgrade(empty_database, "0008")
    engine = db.make_engine(empty_database)
    with engine.begin() as connection:
        organization_id = connection.execute(sa.text("SELECT id FROM organization")).scalar_one()
        OldRows(connection).add(
            "audit_event",
            organization_id=organization_id,
            at=T0,
            action="person.created",
            actor_role="org_admin",
            object_type="person",
            object_id="x",
            details={},
        )
    engine.dispose()

    db.upgrade(empty_database)

    runtime = Runtime.from_settings(make_settings(tmp_path, empty_database, face_workers=0))
    try:
        from sqlmodel import Session

        from app.auth import service as auth

        with Session(runtime.db_engine) as session:
            organization = auth.find_organization(session, ORGANIZATION)
            auth.create_user(session, "press@example.org", "org_admin", organization.id, password="a long password")
            session.commit()
        with running_server(create_app(runtime)) as base_url, httpx.Client(base_url=base_url, timeout=30) as browser:
            page = browser.get("/login")
            token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            form = {"email": "press@example.org", "password": "a long password", "csrf_token": token}
            assert browser.post("/login", data=form).status_code == 303
            audit = browser.get("/audit")
            assert audit.status_code == 200 and "person.created" in audit.text
    finally:
        runtime.close()
    command.downgrade(db.alembic_config(empty_database), "0008")
    with db.make_engine(empty_database).connect() as connection:
        assert "console_user" not in sa.inspect(connection).get_table_names()


# 0010: notification channels and their outbox, added beside everything an installation at the revision before has.
BEFORE_NOTIFICATIONS = "0009"
NEW_TABLES = {"notification_channel", "notification_delivery", "notification_attempt", "public_report"}


def tables(url: str) -> set[str]:
    engine = db.make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_an_installation_at_the_previous_revision_keeps_its_alerts_and_gains_channels(
    empty_database: str, tmp_path: Path
) -> None:
    ids = fill_at_0005(empty_database)
    db.upgrade(empty_database, BEFORE_NOTIFICATIONS)
    assert not NEW_TABLES & tables(empty_database)

    db.upgrade(empty_database)

    assert tables(empty_database) >= NEW_TABLES
    runtime = Runtime.from_settings(make_settings(tmp_path, empty_database, face_workers=0))
    try:
        key = api_key(runtime, "org_admin", ORGANIZATION)
        with (
            running_server(create_app(runtime)) as base_url,
            httpx.Client(base_url=base_url, headers=bearer(key), timeout=30) as api,
        ):
            assert len(api.get("/v1/alerts").json()["items"]) == 3
            assert api.get(f"/v1/alerts/{ids['photo']}").json()["status"] == "confirmed_impersonation"
            assert api.get(f"/v1/webhooks/{ids['endpoint']}/deliveries").json()[0]["status"] == "delivered"
            assert api.get("/v1/notifications/channels").json() == []
            [person] = api.get("/v1/persons").json()
            assert (person["public_reports"], person["public_name"]) == (False, False)  # nobody is opted in
            created = api.post("/v1/notifications/channels", json={"kind": "email", "address": "desk@akimat.kz"})
            assert created.status_code == 201, created.text
    finally:
        runtime.close()


def test_downgrade_to_0006_drops_the_channels_and_keeps_the_rest(empty_database: str) -> None:
    fill_at_0005(empty_database)
    db.upgrade(empty_database)

    command.downgrade(db.alembic_config(empty_database), BEFORE_NOTIFICATIONS)

    assert not NEW_TABLES & tables(empty_database)
    engine = db.make_engine(empty_database)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM alert")).scalar_one() == 3
        assert connection.execute(sa.text("SELECT count(*) FROM webhook_delivery")).scalar_one() == 1
        columns = {column["name"] for column in sa.inspect(connection).get_columns("person")}
    engine.dispose()
    assert "public_reports" not in columns and "display_name" in columns


def post_again_and_read(
    url: str, tmp_path: Path, alert_id: uuid.UUID, message_id: int, sha256: str, kind: str
) -> dict[str, object]:
    """The file of the old post `message_id` posted again on another channel after the upgrade, through the alerts
    hook; the alert as the API shows it then."""
    runtime = Runtime.from_settings(make_settings(tmp_path, url, face_workers=0))
    try:
        from sqlmodel import Session, select

        from app.alerts.service import record_detections
        from watchers.models import Detection, MediaItem, Post

        with Session(runtime.db_engine) as session:
            old_post = session.exec(select(Post).where(Post.message_id == message_id)).one()
            post = Post(watch_id=old_post.watch_id, channel="daily_leaks", message_id=99, permalink="https://t.me/x/99")
            post.posted_at = T0 + timedelta(days=1)
            item = MediaItem(post_id=post.id, kind=kind, locator="https://cdn/99", sha256=sha256, status="done")
            session.add(post)
            session.flush()
            session.add(item)
            session.flush()
            detections = list(session.exec(select(Detection).where(Detection.sha256 == sha256)))
            assert record_detections(session, item, post, detections, public_base_url="http://impwatch.test") == []
            session.commit()
        with (
            running_server(create_app(runtime)) as base_url,
            httpx.Client(base_url=base_url, headers=bearer(api_key(runtime, "org_admin", ORGANIZATION))) as api,
        ):
            answer: dict[str, object] = api.get(f"/v1/alerts/{alert_id}").json()
            return answer
    finally:
        runtime.close()


def test_face_alerts_made_before_clusters_stay_keyed_by_their_sha256(empty_database: str, tmp_path: Path) -> None:
    db.upgrade(empty_database, "0004")
    ids = fill_at_0004(empty_database)
    db.upgrade(empty_database, "0010")

    db.upgrade(empty_database)

    photo = post_again_and_read(empty_database, tmp_path, ids["photo"], 10, "a" * 64, "photo")
    assert photo["subject_key"] == "a" * 64 and photo["occurrences_count"] == 3
    assert photo["cluster"]["copies"] == 1 and photo["cluster"]["channels"] == ["kz_news_fake", "daily_leaks"]

    command.downgrade(db.alembic_config(empty_database), "0010")
    with db.make_engine(empty_database).connect() as connection:
        columns = {column["name"] for column in sa.inspect(connection).get_columns("media_analysis")}
        analyses = connection.execute(sa.text("SELECT count(*) FROM media_analysis")).scalar_one()
    assert analyses == 2 and not columns & {"phash", "cluster", "reused_from"}


def test_video_alerts_made_before_video_clusters_stay_keyed_by_their_sha256(
    empty_database: str, tmp_path: Path
) -> None:
    db.upgrade(empty_database, "0004")
    ids = fill_at_0004(empty_database)
    db.upgrade(empty_database, "0011")
    with db.make_engine(empty_database).begin() as connection:  # a photo analysed with its cluster at 0011
        connection.execute(
            sa.text("UPDATE media_analysis SET phash = 'ffff0000ffff0000', cluster = sha256 WHERE kind = 'photo'")
        )

    db.upgrade(empty_database)

    video = post_again_and_read(empty_database, tmp_path, ids["video"], 20, "b" * 64, "video")
    assert video["subject_key"] == "b" * 64 and video["occurrences_count"] == 2
    cluster = video["cluster"]
    assert (
        isinstance(cluster, dict) and cluster["copies"] == 1 and cluster["channels"] == ["kz_news_fake", "daily_leaks"]
    )
    engine = db.make_engine(empty_database)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT kind, phash, cluster, vhash, vhash_samples FROM media_analysis ORDER BY kind")
        ).all()
        indexes = {index["name"] for index in sa.inspect(connection).get_indexes("media_analysis")}
    engine.dispose()
    assert [tuple(row) for row in rows] == [
        ("photo", "ffff0000ffff0000", "a" * 64, None, None),
        ("video", None, None, None, None),
    ]
    assert "ix_media_analysis_vhash_samples" in indexes

    command.downgrade(db.alembic_config(empty_database), "0011")
    with db.make_engine(empty_database).connect() as connection:
        columns = {column["name"] for column in sa.inspect(connection).get_columns("media_analysis")}
        analyses = connection.execute(sa.text("SELECT count(*) FROM media_analysis")).scalar_one()
    assert analyses == 2 and "phash" in columns and not columns & {"vhash", "vhash_samples"}


BEFORE_RESCANS = "0012"


def test_an_installation_before_durable_rescans_keeps_its_alerts_and_can_rescan(
    empty_database: str, tmp_path: Path
) -> None:
    db.upgrade(empty_database, "0004")
    ids = fill_at_0004(empty_database)
    db.upgrade(empty_database, BEFORE_RESCANS)
    alerts_before = count_rows(empty_database, "alert")

    db.upgrade(empty_database)

    runtime = Runtime.from_settings(make_settings(tmp_path, empty_database, face_workers=0))
    try:
        with (
            running_server(create_app(runtime)) as base_url,
            httpx.Client(base_url=base_url, headers=bearer(api_key(runtime, "org_admin", ORGANIZATION))) as api,
        ):
            person_id = api.get(f"/v1/alerts/{ids['photo']}").json()["person_id"]
            started = api.post("/v1/rescans", json={"person_id": person_id})
            assert started.status_code == 202, started.text
            rescan_id = started.json()["id"]
            assert api.get(f"/v1/rescans/{rescan_id}").json()["person_id"] == person_id
    finally:
        runtime.close()

    command.downgrade(db.alembic_config(empty_database), BEFORE_RESCANS)
    with db.make_engine(empty_database).connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
    assert "rescan" not in tables and count_rows(empty_database, "alert") == alerts_before == 2


def count_rows(url: str, table: str) -> int:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


def test_media_analyses_gain_an_index_on_when_they_were_stored_and_keep_their_rows(empty_database: str) -> None:
    db.upgrade(empty_database, "0004")
    fill_at_0004(empty_database)
    db.upgrade(empty_database, "0013")
    analyses_before = count_rows(empty_database, "media_analysis")

    db.upgrade(empty_database)

    engine = db.make_engine(empty_database)
    with engine.connect() as connection:
        indexes = {index["name"] for index in sa.inspect(connection).get_indexes("media_analysis")}
    engine.dispose()
    assert "ix_media_analysis_analysed_at" in indexes
    assert count_rows(empty_database, "media_analysis") == analyses_before == 2
    command.downgrade(db.alembic_config(empty_database), "0013")
    assert count_rows(empty_database, "media_analysis") == 2
