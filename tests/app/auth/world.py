"""A small world for access tests: two organisations, each with a person, a reference face, an alert and keys of
every role, built straight in the database (no face engine needed)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from sqlmodel import Session

from app.alerts.models import Alert, AlertOccurrence
from app.alerts.service import face_evidence
from app.auth import service as auth
from core.clock import utcnow
from watchers.models import Detection, MediaAnalysis, MediaItem, Post, Watch
from watchlist.models import Person, ReferenceFace
from watchlist.service import encoding_to_bytes


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in console user: the session cookie's token and the session's CSRF token."""

    token: str
    csrf: str


def console_session(session: Session, role: str, organization_id: uuid.UUID | None, **fields: object) -> ConsoleSession:
    """A user of this role (with no password: none is needed to open a session directly) and a live session."""
    user, _ = auth.create_user(session, f"{role}-{uuid.uuid4().hex[:8]}@example.org", role, organization_id, **fields)
    opened, token = auth.open_session(session, user, timedelta(hours=1), utcnow())
    return ConsoleSession(token, opened.csrf_token)


@dataclass
class OrgWorld:
    organization_id: uuid.UUID
    person_id: uuid.UUID
    face_id: uuid.UUID
    alert_id: uuid.UUID
    keys: dict[str, str] = field(default_factory=dict)
    key_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    sessions: dict[str, ConsoleSession] = field(default_factory=dict)

    @property
    def object_ids(self) -> dict[str, uuid.UUID]:
        return {
            "person_id": self.person_id,
            "face_id": self.face_id,
            "alert_id": self.alert_id,
            "key_id": self.key_ids["org_member"],
        }


def build_org(session: Session, name: str, watch: Watch) -> OrgWorld:
    organization = auth.create_organization(session, name)
    person = Person(display_name=f"{name} principal", organization_id=organization.id)
    session.add(person)
    session.flush()
    face = ReferenceFace(
        person_id=person.id,
        encoding=encoding_to_bytes(np.random.default_rng().random(128)),
        model_name="m",
        model_version="v",
        box_top=0,
        box_right=10,
        box_bottom=10,
        box_left=0,
        face_width=10,
        face_height=10,
        sharpness=50,
        image_width=10,
        image_height=10,
        image_sha256=uuid.uuid4().hex * 2,
        crop_jpeg=b"\xff\xd8crop",
    )
    session.add(face)
    alert_id = _alert(session, person, watch)
    world = OrgWorld(organization.id, person.id, face.id, alert_id)
    for role in ("org_admin", "org_member"):
        issued = auth.issue_key(session, role, organization.id, role)
        world.keys[role], world.key_ids[role] = issued.plaintext, issued.key.id
    subject = auth.issue_key(session, "subject", organization.id, "subject", person_id=person.id)
    world.keys["subject"], world.key_ids["subject"] = subject.plaintext, subject.key.id
    for role in ("org_admin", "org_member"):
        world.sessions[role] = console_session(session, role, organization.id)
    world.sessions["subject"] = console_session(session, "subject", organization.id, person_id=person.id)
    return world


def _alert(session: Session, person: Person, watch: Watch) -> uuid.UUID:
    sha256 = uuid.uuid4().hex * 2
    post = Post(
        watch_id=watch.id,
        channel=watch.target,
        message_id=int(uuid.uuid4().int % 10**9),
        permalink="https://t.me/x/1",
        posted_at=utcnow(),
    )
    session.add(post)
    session.add(MediaAnalysis(sha256=sha256, kind="photo", size=1, width=1, height=1))
    session.flush()
    item = MediaItem(post_id=post.id, kind="photo", locator="x", sha256=sha256, status="done")
    detection = Detection(
        sha256=sha256,
        person_id=person.id,
        distance=0.3,
        box={"top": 0, "right": 1, "bottom": 1, "left": 0},
        crop_jpeg=b"\xff\xd8detection",
    )
    session.add_all([item, detection])
    session.flush()
    alert = Alert(
        kind="face_match",
        person_id=person.id,
        subject_key=sha256,
        evidence=face_evidence(detection, "photo").model_dump(mode="json", exclude={"crop_url"}),
        detection_id=detection.id,
        occurrences_count=1,
    )
    session.add(alert)
    session.flush()
    session.add(
        AlertOccurrence(
            alert_id=alert.id,
            post_id=post.id,
            media_item_id=item.id,
            watch_id=watch.id,
            channel=watch.target,
            permalink=post.permalink,
            posted_at=post.posted_at,
        )
    )
    session.flush()
    return alert.id


@dataclass
class World:
    own: OrgWorld
    other: OrgWorld
    watch_id: uuid.UUID
    operator_key: str
    operator_session: ConsoleSession


def build_world(session: Session) -> World:
    tag = uuid.uuid4().hex[:8]
    watch = Watch(kind="tme_preview", target=f"chan_{tag}", config={"kind": "tme_preview", "channel": f"chan_{tag}"})
    session.add(watch)
    session.flush()
    world = World(
        own=build_org(session, f"own {tag}", watch),
        other=build_org(session, f"other {tag}", watch),
        watch_id=watch.id,
        operator_key=auth.issue_key(session, "operator", None, "operator").plaintext,
        operator_session=console_session(session, "operator", None),
    )
    session.commit()
    return world
