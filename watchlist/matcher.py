"""Matching faces against the watchlist: one float32 matrix of every active reference encoding.

A face goes to one person: the nearest enrolled person is `match` when within their `match` threshold and
`possible` when within their `possible` threshold; another person is named beside them only when they are within
`margin` as near (and then at most `possible`), so the wrong person is never alerted beside the right one. A face
nearer to one of a person's negatives (faces triaged as a false match) than to their references is at most
`possible` for them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from watchlist.calibration import Thresholds
from watchlist.engine import ENCODING_SIZE

MATCH = "match"
POSSIBLE = "possible"
DEFAULT_MARGIN = 0.03


@dataclass(frozen=True)
class Reference:
    reference_id: uuid.UUID
    person_id: uuid.UUID
    encoding: np.ndarray


@dataclass(frozen=True)
class Match:
    person_id: uuid.UUID
    reference_id: uuid.UUID
    distance: float
    tier: str = MATCH


class _Encodings:
    """Encodings grouped by person, with squared norms kept so a face's distances are one matrix-vector product."""

    def __init__(self, references: Sequence[Reference]) -> None:
        ordered = sorted(references, key=lambda ref: ref.person_id.int)
        self.matrix = (
            np.stack([ref.encoding for ref in ordered]).astype(np.float32)
            if ordered
            else np.empty((0, ENCODING_SIZE), dtype=np.float32)
        )
        self.squared_norms = np.einsum("ij,ij->i", self.matrix, self.matrix)
        self.reference_ids = [ref.reference_id for ref in ordered]
        person_ids = [ref.person_id for ref in ordered]
        self.starts = np.array(
            [i for i, pid in enumerate(person_ids) if i == 0 or person_ids[i - 1] != pid], dtype=np.intp
        )
        self.persons = [person_ids[i] for i in self.starts]

    def distances(self, encoding: np.ndarray) -> np.ndarray:
        squared = self.squared_norms - 2.0 * (self.matrix @ encoding) + float(encoding @ encoding)
        return np.sqrt(np.maximum(squared, 0.0))

    def nearest_of(self, distances: np.ndarray, group: int) -> int:
        start = self.starts[group]
        end = self.starts[group + 1] if group + 1 < len(self.starts) else len(distances)
        return int(start + np.argmin(distances[start:end]))


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
    ) -> None:
        self._references = _Encodings(references)
        persons = self._references.persons
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
        return len(self._references.reference_ids)

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
        distances = self._references.distances(np.asarray(encoding, dtype=np.float32))
        return np.minimum.reduceat(distances, self._references.starts)

    def match(self, encoding: np.ndarray) -> list[Match]:
        """The persons this face is reported for, nearest first: at most one `match`."""
        return self.match_and_measure(encoding)[0]

    def match_and_measure(self, encoding: np.ndarray) -> tuple[list[Match], np.ndarray]:
        """`match`, and the face's distance to each person (in the order of `person_ids`) from the same one pass
        over the matrix, for the calibration counts."""
        if not self.size:
            return [], np.empty(0, dtype=np.float32)
        face = np.asarray(encoding, dtype=np.float32)
        distances = self._references.distances(face)
        best = np.minimum.reduceat(distances, self._references.starts)
        nearest = float(best.min())
        reported = np.flatnonzero((best <= self._possible) & (best <= nearest + self.margin))
        if not len(reported):
            return [], best
        vetoed = self._vetoed(face, best)
        matches: list[Match] = []
        for group in reported[np.argsort(best[reported], kind="stable")]:
            distance = float(best[group])
            is_match = not matches and distance == nearest and distance <= self._match[group] and group not in vetoed
            reference = self._references.reference_ids[self._references.nearest_of(distances, int(group))]
            matches.append(Match(self._references.persons[group], reference, distance, MATCH if is_match else POSSIBLE))
        return matches, best

    def _vetoed(self, face: np.ndarray, best: np.ndarray) -> set[int]:
        """The persons this face is nearer to a negative of than to their references."""
        if not len(self._negative_groups):
            return set()
        negative = np.minimum.reduceat(self._negatives.distances(face), self._negatives.starts)
        return {int(g) for g, d in zip(self._negative_groups, negative, strict=True) if d < best[g]}


def _as_thresholds(value: Thresholds | float) -> Thresholds:
    return value if isinstance(value, Thresholds) else Thresholds(float(value), float(value))
