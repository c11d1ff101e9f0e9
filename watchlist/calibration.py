"""Per-person thresholds from the population the installation watches, kept as counts only.

For each enrolled person the service keeps a histogram of distances: how far the faces seen in watched media that
were not assigned to the person (and the other enrolled people's references) lay from the person's nearest
reference. No encoding and no link to media is kept, only how many faces fell in each distance bin. From the
histogram the `match` threshold is set where the estimated false-alert rate per face seen is at most a target, and
the `possible` threshold at a looser one.

The rate is estimated from the lower tail. With thousands of counts the empirical quantile says it; with fewer, a
normal curve fitted to the lower half of the histogram (its median and its 10th percentile) extends the tail, and
the threshold never reaches the nearest background face seen. Until a person rests on `min_faces` counts, the
conservative defaults apply.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MARGIN = 0.03
"""How much nearer the nearest person must be than the next for the next not to be named beside them."""
BIN_WIDTH = 0.005
BINS = 200
"""Bins of 0.005 from 0 to 1.0; a distance of 1.0 or more counts in the last bin."""

_Z_OF_10TH_PERCENTILE = NormalDist().inv_cdf(0.10)


@dataclass(frozen=True)
class CalibrationPolicy:
    """How thresholds follow the counts: targets are false-alert rates per face seen."""

    match_target: float = 1e-4
    possible_target: float = 0.2
    floor: float = 0.30
    ceiling: float = 0.50
    min_faces: int = 20
    full_weight_faces: int = 100
    """Below this many counts, the calibrated `match` threshold is drawn towards the default in proportion."""
    default_match: float = 0.32
    default_possible: float = 0.50


@dataclass(frozen=True)
class Thresholds:
    """A person's two thresholds: at most `match` is an alert, at most `possible` is kept for review."""

    match: float
    possible: float
    faces: int = 0
    calibrated: bool = False


def empty_histogram() -> list[int]:
    return [0] * BINS


def bin_of(distance: float) -> int:
    return min(BINS - 1, max(0, int(distance / BIN_WIDTH)))


def add_distances(counts: list[int], distances: Iterable[float]) -> list[int]:
    """A new histogram: `counts` plus one count per distance."""
    added = list(counts) if len(counts) == BINS else empty_histogram()
    for distance in distances:
        added[bin_of(float(distance))] += 1
    return added


def thresholds_from_counts(counts: list[int], policy: CalibrationPolicy) -> Thresholds:
    """The person's thresholds from their histogram, or the conservative defaults while it is too thin."""
    faces = int(sum(counts))
    if faces < policy.min_faces:
        return Thresholds(policy.default_match, max(policy.default_match, policy.default_possible), faces, False)
    weight = min(1.0, faces / policy.full_weight_faces)
    estimated = _threshold_at(counts, policy.match_target)
    match = _clamped(policy.default_match + weight * (estimated - policy.default_match), policy)
    possible = max(match, _clamped(_threshold_at(counts, policy.possible_target), policy))
    return Thresholds(match, possible, faces, True)


def _clamped(value: float, policy: CalibrationPolicy) -> float:
    return round(min(policy.ceiling, max(policy.floor, value)), 4)


def _threshold_at(counts: list[int], target: float) -> float:
    """The largest distance whose estimated share of background faces at or below it is at most `target`."""
    import numpy as np  # imported when thresholds are computed: listing people or alerts never loads it

    histogram = np.asarray(counts, dtype=np.float64)
    faces = histogram.sum()
    cumulative = np.cumsum(histogram)
    median = _quantile(cumulative, faces, 0.5)
    tenth = _quantile(cumulative, faces, 0.10)
    spread = max((median - tenth) / -_Z_OF_10TH_PERCENTILE, BIN_WIDTH)
    fitted = median + spread * NormalDist().inv_cdf(target)
    lowest_seen = float(np.flatnonzero(histogram)[0]) * BIN_WIDTH
    if faces * target >= 1.0:
        return min(fitted, _quantile(cumulative, faces, target))
    return min(fitted, lowest_seen - BIN_WIDTH)


def _quantile(cumulative: np.ndarray, faces: float, share: float) -> float:
    """The lower edge of the bin where the cumulative count first reaches `share` of the faces."""
    import numpy as np

    index = int(np.searchsorted(cumulative, max(1.0, math.ceil(share * faces)), side="left"))
    return index * BIN_WIDTH
