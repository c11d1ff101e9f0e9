"""Matching faces against the watchlist: one float32 matrix of every active reference encoding.

A face goes to one person of each organisation: the nearest enrolled person is `match` when within their `match`
threshold and `possible` when within their `possible` threshold; another person is named beside them only when they
are within `margin` as near (and then at most `possible`), so the wrong person is never alerted beside the right one.
Each organisation's people are decided apart: a face another organisation enrolled never demotes one's own. A face
nearer to one of a person's negatives (faces triaged as a false match) than to their references is at most
`possible` for them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from watchlist.calibration import DEFAULT_MARGIN, Thresholds
from watchlist.engine import ENCODING_SIZE

MATCH = "match"
POSSIBLE = "possible"


@dataclass(frozen=True)
class Reference:
    reference_id: uuid.UUID
    person_id: uuid.UUID
    encoding: np.ndarray


@dataclass(frozen=True)
class Match:
    """`distance` is to the nearest reference photo; `score`, what the tier was decided on, is the nearer of that
    and the distance to the mean of the person's references (see `_Encodings`)."""

    person_id: uuid.UUID
    reference_id: uuid.UUID
    distance: float
    tier: str = MATCH
    score: float | None = None


class _Encodings:
    """Encodings grouped by person, with squared norms kept so a face's distances are one matrix-vector product.

    With `centroids`, a person with several references also gets the mean of their encodings as one more row: several
    photos then count as more evidence (the mean lies nearer to the person's other photos than any one of them), and a
    match still names the nearest real reference."""

    def __init__(self, references: Sequence[Reference], centroids: bool = False) -> None:
        rows = list(references)
        if centroids:
            rows += _centroids(references)
        ordered = sorted(rows, key=lambda ref: ref.person_id.int)
        matrix = (
            np.stack([ref.encoding for ref in ordered]).astype(np.float32)
            if ordered
            else np.empty((0, ENCODING_SIZE), dtype=np.float32)
        )
        self.squared_norms = np.einsum("ij,ij->i", matrix, matrix)
        self._scaled = matrix * np.float32(-2.0)
        """The matrix times -2, kept instead of the matrix: a face's distances are then one product and two adds."""
        self.reference_ids = [ref.reference_id for ref in ordered]
        self._real = np.array([not isinstance(ref, _Centroid) for ref in ordered], dtype=bool)
        self.real_count = int(self._real.sum())
        person_ids = [ref.person_id for ref in ordered]
        self.starts = np.array(
            [i for i, pid in enumerate(person_ids) if i == 0 or person_ids[i - 1] != pid], dtype=np.intp
        )
        self.persons = [person_ids[i] for i in self.starts]

    def squared_distances(self, encoding: np.ndarray) -> np.ndarray:
        """|r|^2 - 2 r.e + |e|^2 for every row r, computed in place: one pass over the matrix."""
        squared = self._scaled @ encoding
        squared += self.squared_norms
        squared += np.float32(encoding @ encoding)
        return np.maximum(squared, 0.0, out=squared)

    def distances(self, encoding: np.ndarray) -> np.ndarray:
        return np.sqrt(self.squared_distances(encoding))

    def nearest_of(self, squared: np.ndarray, group: int) -> tuple[int, float]:
        """The nearest real reference of the group (a centroid is never reported) and its distance."""
        start = self.starts[group]
        end = self.starts[group + 1] if group + 1 < len(self.starts) else len(squared)
        real = np.where(self._real[start:end], squared[start:end], np.inf)
        row = int(np.argmin(real))
        return start + row, float(np.sqrt(real[row]))


@dataclass(frozen=True)
class _Centroid(Reference):
    """The mean encoding of a person's references: a row of the matrix, never a reference reported."""


def _centroids(references: Sequence[Reference]) -> list[Reference]:
    grouped: dict[uuid.UUID, list[Reference]] = {}
    for ref in references:
        grouped.setdefault(ref.person_id, []).append(ref)
    return [
        _Centroid(refs[0].reference_id, person_id, np.mean([ref.encoding for ref in refs], axis=0))
        for person_id, refs in grouped.items()
        if len(refs) > 1
    ]


class Matcher:
    """Nearest reference per person, two tiers per person (`thresholds`, or one tolerance for both), the margin
    rule and the negatives. Picklable: it is sent to the face workers with every file."""

    def __init__(
        self,
        references: Sequence[Reference],
        thresholds: Mapping[uuid.UUID, Thresholds | float],
        negatives: Sequence[Reference] = (),
        margin: float = DEFAULT_MARGIN,
        track_min_frames: int = 2,
        strong_margin: float = 0.04,
        organizations: Mapping[uuid.UUID, uuid.UUID | None] | None = None,
    ) -> None:
        self._references = _Encodings(references, centroids=True)
        persons = self._references.persons
        organization_of = organizations or {}
        by_organization: dict[uuid.UUID | None, list[int]] = {}
        for group, pid in enumerate(persons):
            by_organization.setdefault(organization_of.get(pid), []).append(group)
        self._organizations = [np.array(groups, dtype=np.intp) for groups in by_organization.values()]
        """The persons (their groups) of each organisation: the one-face-one-person rule holds within each."""
        chosen = [_as_thresholds(thresholds[pid]) for pid in persons]
        self._match = np.array([t.match for t in chosen], dtype=np.float32)
        self._possible = np.array([max(t.match, t.possible) for t in chosen], dtype=np.float32)
        self._group_of = {pid: group for group, pid in enumerate(persons)}
        self._negatives = _Encodings([neg for neg in negatives if neg.person_id in self._group_of])
        self._negative_groups = np.array([self._group_of[pid] for pid in self._negatives.persons], dtype=np.intp)
        self.margin = margin
        self.track_min_frames = track_min_frames
        """A video is a `match` for a person when one track has this many `match` frames of them..."""
        self.strong_margin = strong_margin
        """...or one frame is this far below their `match` threshold."""

    @property
    def size(self) -> int:
        """How many reference encodings (not counting the centroids)."""
        return self._references.real_count

    @property
    def person_ids(self) -> list[uuid.UUID]:
        """The enrolled persons, in the order of `person_distances` (do not modify)."""
        return self._references.persons

    def thresholds_of(self, person_id: uuid.UUID) -> Thresholds:
        group = self._group_of[person_id]
        return Thresholds(float(self._match[group]), float(self._possible[group]))

    def person_distances(self, encoding: np.ndarray) -> np.ndarray:
        """The distance of this face to each person's nearest reference, in the order of `person_ids`."""
        if not self.size:
            return np.empty(0, dtype=np.float32)
        squared = self._references.squared_distances(np.asarray(encoding, dtype=np.float32))
        return np.sqrt(np.minimum.reduceat(squared, self._references.starts))

    def match(self, encoding: np.ndarray) -> list[Match]:
        """The persons this face is reported for, nearest first: at most one `match`."""
        return self.match_and_measure(encoding)[0]

    def match_and_measure(self, encoding: np.ndarray) -> tuple[list[Match], np.ndarray]:
        """`match`, and the face's distance to each person (in the order of `person_ids`) from the same one pass
        over the matrix, for the calibration counts."""
        if not self.size:
            return [], np.empty(0, dtype=np.float32)
        face = np.asarray(encoding, dtype=np.float32)
        squared = self._references.squared_distances(face)
        best = np.sqrt(np.minimum.reduceat(squared, self._references.starts))
        if not np.any(best <= self._possible):
            return [], best
        vetoed = self._vetoed(face, best)
        matches = [match for members in self._organizations for match in self._decide(members, best, squared, vetoed)]
        matches.sort(key=lambda match: match.score if match.score is not None else match.distance)
        return matches, best

    def _decide(self, members: np.ndarray, best: np.ndarray, squared: np.ndarray, vetoed: set[int]) -> list[Match]:
        """One organisation's persons for this face, nearest first: at most one `match`."""
        nearest = float(best[members].min())
        reported = members[(best[members] <= self._possible[members]) & (best[members] <= nearest + self.margin)]
        matches: list[Match] = []
        for group in reported[np.argsort(best[reported], kind="stable")]:
            score = float(best[group])
            is_match = not matches and score == nearest and score <= self._match[group] and group not in vetoed
            row, distance = self._references.nearest_of(squared, int(group))
            tier = MATCH if is_match else POSSIBLE
            person = self._references.persons[group]
            matches.append(Match(person, self._references.reference_ids[row], distance, tier, score))
        return matches

    def _vetoed(self, face: np.ndarray, best: np.ndarray) -> set[int]:
        """The persons this face is nearer to a negative of than to their references."""
        if not len(self._negative_groups):
            return set()
        negative = np.minimum.reduceat(self._negatives.distances(face), self._negatives.starts)
        return {int(g) for g, d in zip(self._negative_groups, negative, strict=True) if d < best[g]}


def _as_thresholds(value: Thresholds | float) -> Thresholds:
    return value if isinstance(value, Thresholds) else Thresholds(float(value), float(value))
