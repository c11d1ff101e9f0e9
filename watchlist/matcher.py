"""Matching faces against the watchlist: one float32 matrix of every active reference encoding."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np

from watchlist.engine import ENCODING_SIZE


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


class Matcher:
    """Nearest reference per person; a match when that distance is within the person's tolerance.

    References are grouped by person so that one `np.minimum.reduceat` gives every person's best distance.
    """

    def __init__(self, references: list[Reference], tolerances: dict[uuid.UUID, float]) -> None:
        ordered = sorted(references, key=lambda ref: ref.person_id.int)
        self._matrix = (
            np.stack([ref.encoding for ref in ordered]).astype(np.float32)
            if ordered
            else np.empty((0, ENCODING_SIZE), dtype=np.float32)
        )
        self._reference_ids = [ref.reference_id for ref in ordered]
        person_ids = [ref.person_id for ref in ordered]
        self._group_starts = np.array(
            [i for i, pid in enumerate(person_ids) if i == 0 or person_ids[i - 1] != pid], dtype=np.intp
        )
        self._group_persons = [person_ids[i] for i in self._group_starts]
        self._tolerances = np.array([tolerances[pid] for pid in self._group_persons], dtype=np.float32)

    @property
    def size(self) -> int:
        return len(self._reference_ids)

    def match(self, encoding: np.ndarray) -> list[Match]:
        """Every person within tolerance of this face, nearest first."""
        if not self._reference_ids:
            return []
        distances = np.linalg.norm(self._matrix - np.asarray(encoding, dtype=np.float32), axis=1)
        best = np.minimum.reduceat(distances, self._group_starts)
        matches = []
        for group in np.flatnonzero(best <= self._tolerances):
            start = self._group_starts[group]
            end = self._group_starts[group + 1] if group + 1 < len(self._group_starts) else len(distances)
            nearest = start + int(np.argmin(distances[start:end]))
            matches.append(Match(self._group_persons[group], self._reference_ids[nearest], float(best[group])))
        return sorted(matches, key=lambda m: m.distance)
