"""The demo: enrol two sample people from bundled photos, then scan bundled photos and a video."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from app.auth import service as auth_service
from app.auth.models import Organization
from app.runtime import Runtime
from core.errors import NotFound
from core.scope import Scope
from watchers import analysis as scan_service
from watchers.schemas import ScanResult
from watchlist import service as watchlist_service
from watchlist.models import Person
from watchlist.schemas import PersonCreate

DEMO_MEDIA = Path(__file__).resolve().parent / "demo_media"
DEMO_PEOPLE = {"Barack Obama": "obama.jpg", "Lin-Manuel Miranda": "lmm1.png"}
DEMO_SCANS = ("obama2.jpg", "two_people.jpg", "kit_with_rose.jpg", "short_hamilton_clip.mp4")


DEMO_ORGANIZATION = "Demo press office"


@dataclass(frozen=True)
class DemoScan:
    file_name: str
    result: ScanResult


def enrol_demo_people(runtime: Runtime) -> list[Person]:
    """Enrol the demo people once; running the demo again reuses them."""
    people = []
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        organization = _demo_organization(session)
        scope = Scope("org_admin", organization.id)
        for name, photo in DEMO_PEOPLE.items():
            person = watchlist_service.find_person_by_name(session, name)
            if person is None:
                person = watchlist_service.create_person(session, PersonCreate(display_name=name), scope)
                watchlist_service.enrol_face(
                    session, person, (DEMO_MEDIA / photo).read_bytes(), runtime.face_engine, runtime.enrolment_policy
                )
            people.append(person)
        session.commit()
    return people


def _demo_organization(session: Session) -> Organization:
    try:
        return auth_service.find_organization(session, DEMO_ORGANIZATION)
    except NotFound:
        return auth_service.create_organization(session, DEMO_ORGANIZATION)


def scan_demo_media(runtime: Runtime) -> list[DemoScan]:
    with Session(runtime.db_engine) as session:
        return [
            DemoScan(
                name,
                scan_service.scan_file(session, DEMO_MEDIA / name, runtime.workers, runtime.matchers),
            )
            for name in DEMO_SCANS
        ]
