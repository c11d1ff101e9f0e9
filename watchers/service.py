"""Scanning logic shared by the API, the CLI and (later) the watch pipeline."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlmodel import Session, select

from watchers.frames import FrameSampling
from watchers.scanning import MediaAnalysis, analyse_file
from watchers.schemas import ScanResult
from watchlist.engine import FaceEngine
from watchlist.models import Person
from watchlist.service import MatcherCache


def person_names(session: Session, person_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not person_ids:
        return {}
    rows = session.exec(select(Person.id, Person.display_name).where(Person.id.in_(person_ids)))  # type: ignore[attr-defined]
    return dict(rows.all())


def scan_file(
    session: Session, path: Path, engine: FaceEngine, matchers: MatcherCache, sampling: FrameSampling
) -> ScanResult:
    """Analyse one photo or video against the current watchlist; raises `InputRejected` with a reason."""
    analysis: MediaAnalysis = analyse_file(path, engine, matchers.get(session), sampling)
    names = person_names(session, {match.person_id for face in analysis.faces for match in face.matches})
    return ScanResult.from_analysis(analysis, names)
