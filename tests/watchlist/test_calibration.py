"""Per-person thresholds from counts of background distances, with real encodings of the development photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from watchlist.calibration import CalibrationPolicy, add_distances, empty_histogram, thresholds_from_counts
from watchlist.engine import FaceEngine
from watchlist.images import decode_image

EAST_ASIAN = Path(__file__).resolve().parents[2] / ".." / "shared" / "faces" / "east_asian"
pytestmark = pytest.mark.skipif(
    not EAST_ASIAN.is_dir(), reason=f"the East Asian development faces are not at {EAST_ASIAN}"
)


def faces_of(path: Path) -> list[np.ndarray]:
    engine = FaceEngine()
    return [face.encoding for face in engine.find_faces(decode_image(path.read_bytes(), 50_000_000))]


def test_thresholds_move_from_the_defaults_as_background_faces_are_counted() -> None:
    policy = CalibrationPolicy()
    [reference] = faces_of(EAST_ASIAN / "identities" / "korea_20005" / "korea_20005_1.jpg")
    crowd = faces_of(EAST_ASIAN / "crowds" / "japan.png") + faces_of(EAST_ASIAN / "crowds" / "korea.png")
    distances = sorted(
        float(np.linalg.norm(face - reference)) for face in crowd if np.linalg.norm(face - reference) > 0.3
    )

    thin = thresholds_from_counts(add_distances(empty_histogram(), distances[:5]), policy)
    assert (thin.match, thin.possible, thin.calibrated) == (policy.default_match, policy.default_possible, False)

    counts = add_distances(empty_histogram(), distances)
    calibrated = thresholds_from_counts(counts, policy)
    assert calibrated.calibrated and calibrated.faces == len(distances)
    assert calibrated.match != policy.default_match
    assert calibrated.match < distances[0], "no background face seen is a match"
    assert policy.floor <= calibrated.match <= calibrated.possible <= policy.ceiling

    twice = thresholds_from_counts(add_distances(counts, distances), policy)
    assert twice.faces == 2 * len(distances)
    assert abs(twice.match - policy.default_match) > abs(calibrated.match - policy.default_match), (
        "more counts weigh more against the default"
    )


def test_a_crowded_neighbourhood_gives_a_stricter_threshold() -> None:
    policy = CalibrationPolicy(min_faces=5, full_weight_faces=5)
    far = thresholds_from_counts(add_distances(empty_histogram(), np.linspace(0.55, 0.8, 50)), policy)
    near = thresholds_from_counts(add_distances(empty_histogram(), np.linspace(0.40, 0.8, 50)), policy)
    assert near.match < far.match and near.possible < far.possible
