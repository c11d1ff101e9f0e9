"""Watchlist logic: people, enrolment of reference faces, and the matcher built from them.

Services never commit: the request or the job that calls them owns the transaction. The face work (numpy, Pillow,
the engine) is imported by the functions that do it: listing people or naming them in alerts does not load it.
"""

from __future__ import annotations

import hashlib
import math
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.clock import utcnow
from core.errors import AppError, Conflict, InputRejected, NotFound
from core.scope import INSTALLATION, Scope
from watchlist.calibration import (
    BINS,
    DEFAULT_MARGIN,
    CalibrationPolicy,
    Thresholds,
    add_distances,
    empty_histogram,
    thresholds_from_counts,
)
from watchlist.models import FaceCalibration, NegativeFace, Person, ReferenceFace
from watchlist.schemas import PersonCreate, PersonUpdate

if TYPE_CHECKING:
    import numpy as np

    from watchlist.engine import FaceEngine
    from watchlist.matcher import Matcher, Reference
    from watchlist.quality import QualityGates
    from watchlist.text import PersonIdentifiers, TextWatchlist


DEFAULT_PHONE_REGION = "KZ"


class BadPhoneNumber(InputRejected):
    """A phone number given for a person that is not one (422, `bad_phone_number`)."""


class BadWebsite(InputRejected):
    """A website given for a person that has no registrable domain (422, `bad_website`)."""


def create_person(
    session: Session, data: PersonCreate, scope: Scope = INSTALLATION, *, phone_region: str = DEFAULT_PHONE_REGION
) -> Person:
    """A new person in the caller's organisation (the installation's when the scope has none). Phone numbers are
    stored in E.164 and websites as host names, or refused (`BadPhoneNumber`, `BadWebsite`)."""
    fields = data.model_dump()
    fields["phone_numbers"] = e164_numbers(data.phone_numbers, phone_region)
    fields["websites"] = website_hosts(data.websites)
    person = Person(**fields, organization_id=scope.organization_id)
    session.add(person)
    session.flush()
    return person


def e164_numbers(numbers: Sequence[str], region: str = DEFAULT_PHONE_REGION) -> list[str]:
    """The numbers in E.164, each once, in the order given; `BadPhoneNumber` names the first that is not one."""
    from watchlist.text import to_e164  # imported when used: phonenumbers and tldextract take 0.3 s to load

    found: dict[str, None] = {}
    for number in numbers:
        e164 = to_e164(number, region)
        if e164 is None:
            raise BadPhoneNumber("bad_phone_number", f"{number!r} is not a valid phone number (region {region})")
        found.setdefault(e164)
    return list(found)


def website_hosts(websites: Sequence[str]) -> list[str]:
    """The host name of each site (lower case, without a leading `www.`), each once; `BadWebsite` names the first
    that has no registrable domain (a bare suffix such as `kz`, an address, a word)."""
    from watchlist.text import registrable_domain

    found: dict[str, None] = {}
    for website in websites:
        host = _host_of(website)
        if not host or registrable_domain(host) is None:
            raise BadWebsite("bad_website", f"{website!r} is not a website with a registrable domain, e.g. orda.kz")
        found.setdefault(host)
    return list(found)


def _host_of(website: str) -> str:
    text = website.strip()
    if "://" not in text:
        text = f"http://{text}"
    try:
        host = urlsplit(text).hostname or ""
    except ValueError:
        return ""
    host = host.rstrip(".").lower()
    return host[4:] if host.startswith("www.") else host


def get_person(session: Session, person_id: uuid.UUID, scope: Scope = INSTALLATION) -> Person:
    """The person, when the scope sees them; otherwise `NotFound`, exactly as if they did not exist."""
    person = session.get(Person, person_id)
    if person is None or not scope.sees(person.organization_id, person.id):
        raise NotFound(f"person {person_id} not found")
    return person


SelectT = TypeVar("SelectT", bound=sa.Select)


def scoped_persons(statement: SelectT, scope: Scope) -> SelectT:
    """Restrict a statement over Person to the people the scope sees."""
    if scope.organization_id is not None:
        statement = statement.where(col(Person.organization_id) == scope.organization_id)
    if scope.person_id is not None:
        statement = statement.where(col(Person.id) == scope.person_id)
    return statement


def list_persons(
    session: Session, offset: int = 0, limit: int = 100, query: str | None = None, scope: Scope = INSTALLATION
) -> list[Person]:
    statement = scoped_persons(select(Person), scope)
    statement = statement.order_by(col(Person.display_name), col(Person.id)).offset(offset).limit(limit)
    if query:
        statement = statement.where(sa.func.lower(Person.display_name).contains(query.lower()))
    return list(session.exec(statement))


def find_person_by_name(session: Session, display_name: str) -> Person | None:
    return session.exec(select(Person).where(Person.display_name == display_name)).first()


def person_names(session: Session, person_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The display names of these people, by id (people not found are left out)."""
    if not person_ids:
        return {}
    rows = session.exec(select(Person.id, Person.display_name).where(col(Person.id).in_(person_ids)))
    return dict(rows.all())


NOT_NULLABLE = {
    "display_name",
    "aliases",
    "official_channels",
    "phone_numbers",
    "websites",
    "distinctive_aliases",
    "name_mentions",
    "phone_alerts",
    "website_alerts",
    "public_reports",
    "public_name",
    "active",
}


def update_person(
    session: Session, person: Person, data: PersonUpdate, *, phone_region: str = DEFAULT_PHONE_REGION
) -> Person:
    """Change the fields given; `null` leaves a field that cannot be empty as it is. Numbers and websites are
    checked as on creation, before anything changes."""
    changes = data.model_dump(exclude_unset=True)
    if changes.get("phone_numbers") is not None:
        changes["phone_numbers"] = e164_numbers(changes["phone_numbers"], phone_region)
    if changes.get("websites") is not None:
        changes["websites"] = website_hosts(changes["websites"])
    for name, value in changes.items():
        if name in NOT_NULLABLE and value is None:
            continue
        setattr(person, name, value)
    person.updated_at = utcnow()
    session.add(person)
    session.flush()
    return person


def delete_person(session: Session, person: Person) -> int:
    """Delete a person, their reference faces, negatives and calibration counts; returns how many reference faces were
    removed."""
    session.exec(sa.delete(NegativeFace).where(col(NegativeFace.person_id) == person.id))
    session.exec(sa.delete(FaceCalibration).where(col(FaceCalibration.person_id) == person.id))
    removed = session.exec(sa.delete(ReferenceFace).where(col(ReferenceFace.person_id) == person.id)).rowcount
    session.delete(person)
    session.flush()
    return removed or 0


def reference_face_counts(session: Session, person_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not person_ids:
        return {}
    rows = session.exec(
        select(ReferenceFace.person_id, sa.func.count())
        .where(col(ReferenceFace.person_id).in_(person_ids))
        .group_by(col(ReferenceFace.person_id))
    )
    return dict(rows.all())


class DuplicateReference(Conflict):
    """The same face of the same photo is already enrolled for this person."""


@dataclass(frozen=True)
class EnrolmentPolicy:
    gates: QualityGates
    max_image_pixels: int
    calibration: CalibrationPolicy = field(default_factory=CalibrationPolicy)


@dataclass(frozen=True)
class AnalysedFace:
    """A reference face found in a photo and judged good enough, not yet added to any session."""

    encoding: np.ndarray
    face_index: int
    box_top: int
    box_right: int
    box_bottom: int
    box_left: int
    face_width: int
    face_height: int
    sharpness: float
    image_width: int
    image_height: int
    image_sha256: str
    crop_jpeg: bytes


def analyse_face(
    image_bytes: bytes, engine: FaceEngine, policy: EnrolmentPolicy, face_index: int | None = None
) -> AnalysedFace:
    """The face work of an enrolment, with no database: decode, find faces, choose one and check its quality, or
    raise `ImageRejected` / `EnrolmentRefused`. With several faces in the photo the caller picks one by
    `face_index`, counted left to right."""
    from watchlist.engine import face_crop
    from watchlist.images import decode_image, encode_jpeg
    from watchlist.quality import check_quality, choose_reference_face

    rgb = decode_image(image_bytes, policy.max_image_pixels)
    faces = sorted(engine.find_faces(rgb), key=lambda face: face.box.left)
    chosen = choose_reference_face(faces, face_index, policy.gates.min_face_pixels)
    quality = check_quality(rgb, chosen, policy.gates)
    return AnalysedFace(
        encoding=chosen.encoding,
        face_index=faces.index(chosen),
        box_top=chosen.box.top,
        box_right=chosen.box.right,
        box_bottom=chosen.box.bottom,
        box_left=chosen.box.left,
        face_width=quality.face_width,
        face_height=quality.face_height,
        sharpness=quality.sharpness,
        image_width=rgb.shape[1],
        image_height=rgb.shape[0],
        image_sha256=hashlib.sha256(image_bytes).hexdigest(),
        crop_jpeg=encode_jpeg(face_crop(rgb, chosen.box)),
    )


def add_reference_face(
    session: Session,
    person: Person,
    analysed: AnalysedFace,
    engine: FaceEngine,
    calibration: CalibrationPolicy | None = None,
) -> ReferenceFace:
    """Store an analysed face for the person, or raise `DuplicateReference` before anything is added; its distances
    to the other people's references go into the counts of both."""
    if _already_enrolled(session, person.id, analysed.image_sha256, analysed.face_index):
        raise DuplicateReference("duplicate_reference", "this face of this photo is already enrolled for this person")
    reference = ReferenceFace(
        person_id=person.id,
        encoding=encoding_to_bytes(analysed.encoding),
        model_name=engine.model_name,
        model_version=engine.model_version,
        face_index=analysed.face_index,
        box_top=analysed.box_top,
        box_right=analysed.box_right,
        box_bottom=analysed.box_bottom,
        box_left=analysed.box_left,
        face_width=analysed.face_width,
        face_height=analysed.face_height,
        sharpness=analysed.sharpness,
        image_width=analysed.image_width,
        image_height=analysed.image_height,
        image_sha256=analysed.image_sha256,
        crop_jpeg=analysed.crop_jpeg,
    )
    session.add(reference)
    person.updated_at = utcnow()
    session.add(person)
    session.flush()
    count_reference_against_others(session, reference, calibration or CalibrationPolicy())
    return reference


def enrol_face(
    session: Session,
    person: Person,
    image_bytes: bytes,
    engine: FaceEngine,
    policy: EnrolmentPolicy,
    face_index: int | None = None,
) -> ReferenceFace:
    """Add a reference face from a photo, or raise `ImageRejected` / `EnrolmentRefused` / `DuplicateReference`,
    before anything is added to the session (a refused photo leaves the caller's transaction as it was).

    With several faces in the photo the caller picks one by `face_index`, counted left to right.
    """
    analysed = analyse_face(image_bytes, engine, policy, face_index)
    return add_reference_face(session, person, analysed, engine, policy.calibration)


@dataclass(frozen=True)
class EnrolmentPhoto:
    """One photo offered for enrolment: a name to report it by (a path, an upload's file name) and how to read its
    bytes. Reading may fail (`OSError`, or an `AppError` such as an upload over its size cap): that refuses this
    photo only."""

    name: str
    read: Callable[[], bytes]


@dataclass(frozen=True)
class PhotoRefused:
    name: str
    code: str
    message: str


@dataclass(frozen=True)
class EnrolmentOutcome:
    faces: list[ReferenceFace]
    refused: list[PhotoRefused]


class NoUsablePhoto(InputRejected):
    """Not one of the photos offered could be enrolled; `refused` says why for each."""

    def __init__(self, refused: Sequence[PhotoRefused]) -> None:
        reasons = "; ".join(f"{photo.name}: {photo.message}" for photo in refused)
        super().__init__("no_usable_photo", f"no photo could be enrolled: {reasons}")
        self.refused = list(refused)


@dataclass(frozen=True)
class AnalysedPhotos:
    """Photos analysed for enrolment before any write: the usable faces with their photos' names, and the refused."""

    faces: list[tuple[str, AnalysedFace]]
    refused: list[PhotoRefused]


def analyse_photos(photos: Sequence[EnrolmentPhoto], engine: FaceEngine, policy: EnrolmentPolicy) -> AnalysedPhotos:
    """Read and analyse each photo, touching no database, so the slow face work holds no write lock: a refused photo
    (unreadable, no face, several faces, too small, too blurry) is reported and the others are kept."""
    faces: list[tuple[str, AnalysedFace]] = []
    refused: list[PhotoRefused] = []
    for photo in photos:
        try:
            faces.append((photo.name, analyse_face(photo.read(), engine, policy)))
        except AppError as exc:
            refused.append(PhotoRefused(photo.name, exc.code, exc.message))
        except OSError as exc:
            refused.append(PhotoRefused(photo.name, "unreadable", str(exc)))
    return AnalysedPhotos(faces, refused)


def add_analysed_faces(
    session: Session,
    person: Person,
    analysed: AnalysedPhotos,
    engine: FaceEngine,
    calibration: CalibrationPolicy | None = None,
) -> EnrolmentOutcome:
    """Store the analysed faces for the person; one already enrolled (also twice in the same batch) is refused."""
    faces: list[ReferenceFace] = []
    refused = list(analysed.refused)
    for name, face in analysed.faces:
        try:
            faces.append(add_reference_face(session, person, face, engine, calibration))
        except AppError as exc:
            refused.append(PhotoRefused(name, exc.code, exc.message))
    return EnrolmentOutcome(faces, refused)


def enrol_faces(
    session: Session,
    person: Person,
    photos: Sequence[EnrolmentPhoto],
    engine: FaceEngine,
    policy: EnrolmentPolicy,
) -> EnrolmentOutcome:
    """Enrol one reference face from each photo: a refused photo (unreadable, no face, several faces, too small, too
    blurry, already enrolled) is reported in `refused` and the others are kept. All photos are analysed before the
    first write, so the face work never holds the database's write lock.

    No savepoint is needed, as `add_reference_face` refuses before it adds anything to the session; and none is used,
    as on SQLite (pysqlite) a savepoint opened before the transaction's first write is a transaction of its own,
    committed when it is released."""
    return add_analysed_faces(session, person, analyse_photos(photos, engine, policy), engine, policy.calibration)


def create_enrolled_person(
    session: Session,
    data: PersonCreate,
    scope: Scope,
    photos: Sequence[EnrolmentPhoto] | AnalysedPhotos,
    engine: FaceEngine,
    policy: EnrolmentPolicy,
    *,
    phone_region: str = DEFAULT_PHONE_REGION,
) -> tuple[Person, EnrolmentOutcome]:
    """A new person with a reference face from each usable photo, analysed before anything is written (photos may
    come already analysed). When none is usable nothing is written, and `NoUsablePhoto` says why for each photo."""
    analysed = photos if isinstance(photos, AnalysedPhotos) else analyse_photos(photos, engine, policy)
    if not analysed.faces:
        raise NoUsablePhoto(analysed.refused)
    person = create_person(session, data, scope, phone_region=phone_region)
    outcome = add_analysed_faces(session, person, analysed, engine, policy.calibration)
    if not outcome.faces:
        session.delete(person)
        session.flush()
        raise NoUsablePhoto(outcome.refused)
    return person, outcome


def _already_enrolled(session: Session, person_id: uuid.UUID, sha256: str, face_index: int) -> bool:
    return (
        session.exec(
            select(ReferenceFace.id).where(
                ReferenceFace.person_id == person_id,
                ReferenceFace.image_sha256 == sha256,
                ReferenceFace.face_index == face_index,
            )
        ).first()
        is not None
    )


def list_reference_faces(session: Session, person: Person) -> list[ReferenceFace]:
    return list(
        session.exec(
            select(ReferenceFace)
            .where(ReferenceFace.person_id == person.id)
            .order_by(col(ReferenceFace.created_at), col(ReferenceFace.id))
        )
    )


def get_reference_face(session: Session, person: Person, face_id: uuid.UUID) -> ReferenceFace:
    face = session.get(ReferenceFace, face_id)
    if face is None or face.person_id != person.id:
        raise NotFound(f"reference face {face_id} not found for person {person.id}")
    return face


def delete_reference_face(session: Session, person: Person, face: ReferenceFace) -> None:
    session.delete(face)
    person.updated_at = utcnow()
    session.add(person)
    session.flush()


def encoding_to_bytes(encoding: np.ndarray) -> bytes:
    import numpy as np

    return np.asarray(encoding, dtype="<f4").tobytes()


def encoding_from_bytes(data: bytes) -> np.ndarray:
    import numpy as np

    return np.frombuffer(data, dtype="<f4")


def watchlist_revision(session: Session) -> tuple[object, ...]:
    """Changes whenever a reference face, a person's tolerance or activity, a person's thresholds or their negatives
    change: the matcher's cache key. Counts that leave the thresholds as they were do not change it."""
    faces = session.exec(select(sa.func.count(), sa.func.max(ReferenceFace.created_at))).one()
    persons = session.exec(select(sa.func.count(), sa.func.max(Person.updated_at))).one()
    calibrations = session.exec(select(sa.func.count(), sa.func.max(FaceCalibration.thresholds_changed_at))).one()
    negatives = session.exec(select(sa.func.count(), sa.func.max(NegativeFace.created_at))).one()
    return (*faces, *persons, *calibrations, *negatives)


@dataclass(frozen=True)
class MatchingPolicy:
    """How faces are decided: the calibration of thresholds and the margin of the one-face-one-person rule."""

    calibration: CalibrationPolicy = field(default_factory=CalibrationPolicy)
    margin: float = DEFAULT_MARGIN
    track_min_frames: int = 2
    strong_margin: float = 0.04


def build_matcher(
    session: Session, policy: MatchingPolicy | float, organization_id: uuid.UUID | None = None
) -> Matcher:
    """The matcher of one organisation's people, or of everyone's when `organization_id` is None. A number as the
    policy is a fixed tolerance for both tiers of everyone without a tolerance of their own."""
    from watchlist.matcher import Matcher, Reference

    statement = (
        select(ReferenceFace.id, ReferenceFace.person_id, ReferenceFace.encoding, Person.organization_id)
        .join(Person, col(Person.id) == ReferenceFace.person_id)
        .where(ReferenceFace.active, Person.active)
    )
    if organization_id is not None:
        statement = statement.where(Person.organization_id == organization_id)
    rows = session.exec(statement).all()
    references = [Reference(ref_id, person_id, encoding_from_bytes(blob)) for ref_id, person_id, blob, _ in rows]
    organizations = {person_id: organization for _, person_id, _, organization in rows}
    person_ids = {ref.person_id for ref in references}
    if isinstance(policy, MatchingPolicy):
        thresholds = person_thresholds(session, person_ids, policy.calibration)
    else:
        tolerances = _tolerances(session, person_ids)
        thresholds = {
            pid: Thresholds(tolerances.get(pid) or policy, tolerances.get(pid) or policy) for pid in person_ids
        }
        policy = MatchingPolicy()
    return Matcher(
        references,
        thresholds,
        negatives=_negatives(session, person_ids),
        margin=policy.margin,
        track_min_frames=policy.track_min_frames,
        strong_margin=policy.strong_margin,
        organizations=organizations,
    )


def _tolerances(session: Session, person_ids: set[uuid.UUID]) -> dict[uuid.UUID, float | None]:
    if not person_ids:
        return {}
    return dict(session.exec(select(Person.id, Person.tolerance).where(col(Person.id).in_(person_ids))).all())


def person_thresholds(
    session: Session, person_ids: set[uuid.UUID], policy: CalibrationPolicy
) -> dict[uuid.UUID, Thresholds]:
    """Each person's thresholds: their own tolerance when set (it fixes `match`), else their calibration, else the
    conservative defaults."""
    if not person_ids:
        return {}
    stored = {
        row.person_id: Thresholds(row.match_threshold, row.possible_threshold, row.faces, row.calibrated)
        for row in session.exec(select(FaceCalibration).where(col(FaceCalibration.person_id).in_(person_ids)))
    }
    default = thresholds_from_counts(empty_histogram(), policy)
    result = {}
    for pid, tolerance in _tolerances(session, person_ids).items():
        chosen = stored.get(pid, default)
        if tolerance is not None:
            chosen = Thresholds(tolerance, max(tolerance, chosen.possible), chosen.faces, chosen.calibrated)
        result[pid] = chosen
    return result


def _negatives(session: Session, person_ids: set[uuid.UUID]) -> list[Reference]:
    from watchlist.matcher import Reference

    if not person_ids:
        return []
    rows = session.exec(
        select(NegativeFace.id, NegativeFace.person_id, NegativeFace.encoding).where(
            col(NegativeFace.person_id).in_(person_ids)
        )
    )
    return [Reference(neg_id, person_id, encoding_from_bytes(blob)) for neg_id, person_id, blob in rows]


def calibration_of(session: Session, person_id: uuid.UUID, policy: CalibrationPolicy) -> FaceCalibration:
    """The person's calibration row, locked until the transaction ends; made at the defaults when there is none.

    Enrolments running at once all count their faces for every other person, so two of them may make the same
    person's first row together: the row is inserted only if absent (`ON CONFLICT DO NOTHING`, on SQLite and
    PostgreSQL alike), then read and locked, so the second waits for the first and adds to its counts."""
    mine = select(FaceCalibration).where(FaceCalibration.person_id == person_id).with_for_update()
    row = session.exec(mine).first()
    if row is not None:
        return row
    defaults = thresholds_from_counts(empty_histogram(), policy)
    fresh = FaceCalibration(
        person_id=person_id,
        counts=empty_histogram(),
        match_threshold=defaults.match,
        possible_threshold=defaults.possible,
    )
    session.execute(_insert_if_absent(session, fresh))
    return session.exec(mine.execution_options(populate_existing=True)).one()


def _insert_if_absent(session: Session, row: FaceCalibration) -> sa.Executable:
    values = {column.key: getattr(row, column.key) for column in sa.inspect(FaceCalibration).columns}
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(FaceCalibration).values(**values).on_conflict_do_nothing(index_elements=["person_id"])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(FaceCalibration).values(**values).on_conflict_do_nothing(index_elements=["person_id"])


def add_background_counts(session: Session, counts: dict[uuid.UUID, dict[int, int]], policy: CalibrationPolicy) -> int:
    """Add counts (per person: distance bin -> faces) to each person's histogram and recompute their thresholds;
    returns how many people's thresholds changed. People not (or no longer) enrolled are skipped."""
    known = set(session.exec(select(Person.id).where(col(Person.id).in_(list(counts))))) if counts else set()
    changed = 0
    for person_id in sorted(known, key=lambda pid: pid.int):
        row = calibration_of(session, person_id, policy)
        histogram = list(row.counts) if len(row.counts) == BINS else empty_histogram()
        for index, count in counts[person_id].items():
            histogram[min(BINS - 1, max(0, int(index)))] += int(count)
        changed += _store_counts(session, row, histogram, policy)
    session.flush()
    return changed


def _store_counts(session: Session, row: FaceCalibration, histogram: list[int], policy: CalibrationPolicy) -> bool:
    thresholds = thresholds_from_counts(histogram, policy)
    now = utcnow()
    moved = (thresholds.match, thresholds.possible) != (row.match_threshold, row.possible_threshold)
    row.counts, row.faces, row.calibrated, row.counts_updated_at = (
        histogram,
        thresholds.faces,
        thresholds.calibrated,
        now,
    )
    if moved:
        row.match_threshold, row.possible_threshold, row.thresholds_changed_at = (
            thresholds.match,
            thresholds.possible,
            now,
        )
    session.add(row)
    return moved


def count_reference_against_others(session: Session, reference: ReferenceFace, policy: CalibrationPolicy) -> None:
    """A new reference is a background face for every other enrolled person, and theirs are for its person: the
    distances (never the encodings) go into the counts."""
    import numpy as np

    encoding = encoding_from_bytes(reference.encoding)
    others = session.exec(
        select(ReferenceFace.person_id, ReferenceFace.encoding).where(ReferenceFace.person_id != reference.person_id)
    ).all()
    if not others:
        return
    matrix = np.stack([encoding_from_bytes(blob) for _, blob in others])
    distances = np.linalg.norm(matrix - encoding, axis=1)
    nearest: dict[uuid.UUID, float] = {}
    for (person_id, _), distance in zip(others, distances, strict=True):
        nearest[person_id] = min(nearest.get(person_id, np.inf), float(distance))
    counts: dict[uuid.UUID, dict[int, int]] = {pid: _bins([d]) for pid, d in nearest.items()}
    counts[reference.person_id] = _bins(distances)
    add_background_counts(session, counts, policy)


def _bins(distances: Sequence[float] | np.ndarray) -> dict[int, int]:
    histogram = add_distances(empty_histogram(), distances)
    return {index: count for index, count in enumerate(histogram) if count}


def add_negative(
    session: Session, person_id: uuid.UUID, encoding: bytes, distance: float, alert_id: uuid.UUID | None
) -> NegativeFace:
    negative = NegativeFace(person_id=person_id, encoding=encoding, distance=distance, alert_id=alert_id)
    session.add(negative)
    session.flush()
    return negative


@dataclass(frozen=True)
class ReferenceReport:
    distances_to_own: list[float]
    nearest_other: float | None
    warning: str | None


def reference_report(session: Session, reference: ReferenceFace, policy: CalibrationPolicy) -> ReferenceReport:
    """How far a new reference lies from the person's other references and from everyone else's; a warning when it
    is nearer to somebody else than to the person, or within another person's `match` threshold."""
    encoding = encoding_from_bytes(reference.encoding)
    rows = session.exec(
        select(ReferenceFace.person_id, ReferenceFace.encoding).where(ReferenceFace.id != reference.id)
    ).all()
    own = [_distance(encoding, blob) for pid, blob in rows if pid == reference.person_id]
    others: dict[uuid.UUID, float] = {}
    for pid, blob in rows:
        if pid != reference.person_id:
            others[pid] = min(others.get(pid, math.inf), _distance(encoding, blob))
    nearest = min(others.items(), key=lambda item: item[1], default=None)
    warning = None
    if nearest is not None:
        threshold = person_thresholds(session, {nearest[0]}, policy).get(nearest[0])
        if (own and nearest[1] < min(own)) or (threshold is not None and nearest[1] <= threshold.match):
            name = person_names(session, {nearest[0]}).get(nearest[0], str(nearest[0]))
            warning = f"this photo looks like {name} (distance {nearest[1]:.3f}): check it is the right person"
    return ReferenceReport([round(d, 4) for d in own], round(nearest[1], 4) if nearest else None, warning)


def _distance(encoding: np.ndarray, blob: bytes) -> float:
    import numpy as np

    return float(np.linalg.norm(encoding_from_bytes(blob) - encoding))


def list_negatives(session: Session, person: Person) -> list[NegativeFace]:
    return list(
        session.exec(
            select(NegativeFace)
            .where(NegativeFace.person_id == person.id)
            .order_by(col(NegativeFace.created_at), col(NegativeFace.id))
        )
    )


def get_calibration(session: Session, person: Person, policy: CalibrationPolicy) -> Thresholds | FaceCalibration:
    """The person's stored calibration, or the defaults they rest on while none is stored."""
    row = session.get(FaceCalibration, person.id)
    return row if row is not None else thresholds_from_counts(empty_histogram(), policy)


class MatcherCache:
    """Keeps a matcher per organisation (and one for everyone) between scans; rebuilds it when the watchlist
    revision changes. The revision is read from the database, so a change made by another process is seen too.

    A scan by an organisation matches only its own people: nobody learns that another organisation's principal
    is in a photo.
    """

    def __init__(self, policy: MatchingPolicy | float) -> None:
        self.policy = policy if isinstance(policy, MatchingPolicy) else MatchingPolicy()
        self._build_policy = policy
        self._lock = threading.Lock()
        self._built: dict[uuid.UUID | None, tuple[tuple[object, ...], Matcher]] = {}

    def get(self, session: Session, organization_id: uuid.UUID | None = None) -> Matcher:
        revision = watchlist_revision(session)
        with self._lock:
            built = self._built.get(organization_id)
            if built is None or built[0] != revision:
                built = (revision, build_matcher(session, self._build_policy, organization_id))
                self._built[organization_id] = built
            return built[1]


def person_revision(session: Session) -> tuple[object, ...]:
    """Changes whenever a person is added, changed or removed: the text watchlist's cache key."""
    return tuple(session.exec(select(sa.func.count(), sa.func.max(Person.updated_at))).one())


def person_identifiers(person: Person) -> PersonIdentifiers:
    """What the text matchers look for about a person: only the kinds the person lets alert."""
    from watchlist.text import PersonIdentifiers

    names = [person.display_name, *person.aliases] if person.name_mentions != "off" else []
    return PersonIdentifiers(
        person_id=person.id,
        names=names,
        distinctive_names=list(person.distinctive_aliases) if person.name_mentions != "off" else [],
        phone_numbers=list(person.phone_numbers) if person.phone_alerts else [],
        websites=list(person.websites) if person.website_alerts else [],
    )


def build_text_watchlist(
    session: Session, default_region: str = DEFAULT_PHONE_REGION, organization_id: uuid.UUID | None = None
) -> TextWatchlist:
    """The text watchlist of one organisation's active people, or of everyone's when `organization_id` is None."""
    from watchlist.text import TextWatchlist

    statement = select(Person).where(Person.active)
    if organization_id is not None:
        statement = statement.where(Person.organization_id == organization_id)
    people = [person_identifiers(person) for person in session.exec(statement)]
    return TextWatchlist(people, default_region=default_region)


class TextWatchlistCache:
    """Keeps a text watchlist per organisation (and one for everyone) between posts, as `MatcherCache` keeps
    matchers; rebuilt when a person is added, changed or removed (read from the database, so another process's
    changes count)."""

    def __init__(self, default_region: str = DEFAULT_PHONE_REGION) -> None:
        self._default_region = default_region
        self._lock = threading.Lock()
        self._built: dict[uuid.UUID | None, tuple[tuple[object, ...], TextWatchlist]] = {}

    def get(self, session: Session, organization_id: uuid.UUID | None = None) -> TextWatchlist:
        revision = person_revision(session)
        with self._lock:
            built = self._built.get(organization_id)
            if built is None or built[0] != revision:
                built = (revision, build_text_watchlist(session, self._default_region, organization_id))
                self._built[organization_id] = built
            return built[1]


__all__ = ["DuplicateReference", "MatcherCache", "TextWatchlistCache"]
