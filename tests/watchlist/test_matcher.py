import uuid

import numpy as np

from watchlist.matcher import Matcher, Reference


def unit(index: int) -> np.ndarray:
    vector = np.zeros(128, dtype=np.float32)
    vector[index] = 1.0
    return vector


def test_nearest_reference_per_person_within_their_tolerance() -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    refs = [Reference(uuid.uuid4(), alice, unit(0)), Reference(uuid.uuid4(), bob, unit(1))]
    near_alice = refs[0]
    refs.append(Reference(uuid.uuid4(), alice, unit(0) * 0.9))
    matcher = Matcher(refs, {alice: 0.5, bob: 0.5})
    matches = matcher.match(unit(0) * 0.95)
    assert [m.person_id for m in matches] == [alice]
    assert abs(matches[0].distance - 0.05) < 1e-6
    assert matches[0].reference_id in {near_alice.reference_id, refs[2].reference_id}


def test_per_person_tolerance_decides() -> None:
    strict, loose = uuid.uuid4(), uuid.uuid4()
    probe = unit(0) * 0.6
    matcher = Matcher(
        [Reference(uuid.uuid4(), strict, unit(0)), Reference(uuid.uuid4(), loose, unit(0))],
        {strict: 0.3, loose: 0.45},
    )
    assert [m.person_id for m in matcher.match(probe)] == [loose]


def test_empty_watchlist_matches_nobody() -> None:
    assert Matcher([], {}).match(unit(3)) == []
