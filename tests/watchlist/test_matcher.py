import uuid

import numpy as np

from watchlist.calibration import Thresholds
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


def test_one_face_one_person_others_only_within_the_margin() -> None:
    near, close_second, far_second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    face = unit(0)
    refs = [
        Reference(uuid.uuid4(), near, unit(0) * 0.70),
        Reference(uuid.uuid4(), close_second, unit(0) * 0.69),
        Reference(uuid.uuid4(), far_second, unit(0) * 0.62),
    ]
    matcher = Matcher(refs, dict.fromkeys([near, close_second, far_second], 0.5), margin=0.03)
    matches = matcher.match(face)
    assert [(m.person_id, m.tier) for m in matches] == [(near, "match"), (close_second, "possible")]
    assert matcher.match(face)[0].distance < 0.31 and far_second not in {m.person_id for m in matches}
    strict = Matcher(refs, dict.fromkeys([near, close_second, far_second], 0.5), margin=0.0)
    assert [(m.person_id, m.tier) for m in strict.match(face)] == [(near, "match")]


def test_each_organisation_decides_its_own_people() -> None:
    """The same face enrolled by two organisations is a `match` for each: one tenant's enrolment never demotes
    another's, while within one organisation the nearer person still wins."""
    office_a, office_b = uuid.uuid4(), uuid.uuid4()
    theirs, ours, our_lookalike = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    refs = [
        Reference(uuid.uuid4(), theirs, unit(0) * 0.70),
        Reference(uuid.uuid4(), ours, unit(0) * 0.70),
        Reference(uuid.uuid4(), our_lookalike, unit(0) * 0.69),
    ]
    people = [theirs, ours, our_lookalike]
    organizations = {theirs: office_a, ours: office_b, our_lookalike: office_b}
    matcher = Matcher(refs, dict.fromkeys(people, 0.5), margin=0.03, organizations=organizations)
    found = {(m.person_id, m.tier) for m in matcher.match(unit(0))}
    assert found == {(theirs, "match"), (ours, "match"), (our_lookalike, "possible")}
    one_office = Matcher(refs, dict.fromkeys(people, 0.5), margin=0.03)
    assert [m.tier for m in one_office.match(unit(0))] == ["match", "possible", "possible"]


def test_the_nearest_person_decides_even_outside_their_own_threshold() -> None:
    """A face nearest to a strict person is never a `match` for a looser person a little further away."""
    strict, loose = uuid.uuid4(), uuid.uuid4()
    matcher = Matcher(
        [Reference(uuid.uuid4(), strict, unit(0) * 0.65), Reference(uuid.uuid4(), loose, unit(0) * 0.62)],
        {strict: Thresholds(0.30, 0.50), loose: Thresholds(0.45, 0.50)},
    )
    assert [(m.person_id, m.tier) for m in matcher.match(unit(0))] == [(strict, "possible"), (loose, "possible")]


def test_a_face_nearer_to_a_negative_than_to_the_references_is_at_most_possible() -> None:
    person = uuid.uuid4()
    reference = Reference(uuid.uuid4(), person, unit(0) * 0.7)
    negative = Reference(uuid.uuid4(), person, unit(0) * 0.8)
    matcher = Matcher([reference], {person: 0.5}, negatives=[negative])
    assert [m.tier for m in matcher.match(unit(0) * 0.95)] == ["possible"]
    assert [m.tier for m in matcher.match(unit(0) * 0.72)] == ["match"]


def test_several_references_count_as_more_evidence() -> None:
    """A face between two photos of the person, too far from each alone, is near their mean."""
    person = uuid.uuid4()
    left, right = unit(0) + unit(1) * 0.4, unit(0) - unit(1) * 0.4
    refs = [Reference(uuid.uuid4(), person, left), Reference(uuid.uuid4(), person, right)]
    one_photo = Matcher(refs[:1], {person: 0.35})
    assert [m.tier for m in one_photo.match(unit(0))] == []
    [match] = Matcher(refs, {person: Thresholds(0.35, 0.5)}).match(unit(0))
    assert match.tier == "match" and match.score is not None and match.score < 0.01
    assert abs(match.distance - 0.4) < 1e-6 and match.reference_id in {ref.reference_id for ref in refs}
