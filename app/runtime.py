"""The long-lived objects one process needs, built once from settings and shared by the API, CLI and jobs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from app.db import make_engine
from app.settings import Settings
from watchlist.engine import FaceEngine
from watchlist.quality import QualityGates
from watchlist.service import EnrolmentPolicy, MatcherCache


@dataclass
class Runtime:
    settings: Settings
    db_engine: Engine
    face_engine: FaceEngine
    enrolment_policy: EnrolmentPolicy
    matchers: MatcherCache

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        return cls(
            settings=settings,
            db_engine=make_engine(settings.resolved_database_url),
            face_engine=FaceEngine(settings.engine_options),
            enrolment_policy=EnrolmentPolicy(
                QualityGates(settings.min_face_pixels, settings.min_sharpness), settings.max_image_pixels
            ),
            matchers=MatcherCache(settings.default_tolerance),
        )
