"""Study: what could lift the `match` tier's recall on East Asian faces, measured on the development sets.

    .venv/bin/python bench/accuracy_options.py [--shared ../shared/faces] [--cache /tmp/impwatch-accuracy-options.json]

Same protocol as `bench/accuracy.py` (rotations of each identity's photos, calibration on one crowd sheet, strangers
from the other), for options the service does not use today, so that each can be judged by numbers:

1. Encodings: face_recognition's 68-point landmark model ("large") instead of the 5-point one for alignment, and
   10 jitters for the reference photos only (their cost is at enrolment; probes are encoded as the service does).
   The boxes are the service's own detector boxes. Encoding takes about 6 minutes the first time (cached after).
2. Calibration: the service's thresholds without the pull towards the default while counts are thin
   (`full_weight_faces` 20), the same at a looser target (1e-3), and `match` set just below the nearest background
   face that the person's counts have seen (how near the unseen strangers come).
3. Upper bound, for scale only (it reads the answers): each person's threshold just below the nearest face of
   anybody else in the whole development set, probes and strangers included.
4. Probe-side normalisation: the best single threshold with no wrong person and no stranger on the raw distance,
   and on the distance divided by the median of the face's distances to the other enrolled people.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.accuracy import (  # noqa: E402
    DataSet,
    SystemFactory,
    counts,
    data_sets,
    evaluate,
    rotations,
    standard_systems,
)
from watchlist.calibration import BIN_WIDTH, CalibrationPolicy, Thresholds, thresholds_from_counts  # noqa: E402
from watchlist.matcher import Matcher, Reference  # noqa: E402

VARIANTS = (("small", 1), ("large", 1), ("small", 10), ("large", 10))
"""(landmark model, jitters of the references); probes always use one jitter of the same landmark model."""


def variant_encodings(shared: Path, cache_path: Path) -> dict[str, dict[str, list[np.ndarray]]]:
    """Per variant name, every face of every photo by relative path, all from the same detector boxes."""
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    changed = False
    for path in sorted(p for p in shared.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"}):
        key, stat = str(path.relative_to(shared)), path.stat()
        stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
        if cache.get(key, {}).get("stamp") == stamp:
            continue
        import face_recognition

        from watchlist.engine import FaceEngine
        from watchlist.images import decode_image

        engine = FaceEngine()
        rgb = np.ascontiguousarray(decode_image(path.read_bytes(), engine.options.max_image_pixels))
        locations = [(box.top, box.right, box.bottom, box.left) for box in engine.detect(rgb)]
        found: dict[str, list[list[float]]] = {}
        for model, jitters in VARIANTS:
            encoded = face_recognition.face_encodings(rgb, locations, num_jitters=jitters, model=model)
            found[f"{model}/{jitters}"] = [[float(x) for x in encoding] for encoding in encoded]
        cache[key] = {"stamp": stamp, "faces": found}
        changed = True
        print(f"encoded {key}", file=sys.stderr, flush=True)
    if changed:
        cache_path.write_text(json.dumps(cache))
    names = [f"{model}/{jitters}" for model, jitters in VARIANTS]
    return {
        name: {key: [np.asarray(face, dtype=np.float32) for face in row["faces"][name]] for key, row in cache.items()}
        for name in names
    }


def distribution(references: DataSet, probes: DataSet) -> str:
    """Same-person and different-person distances over every pair of photos, and each stranger's nearest photo."""
    same, other = [], []
    for name, photos in references.people.items():
        for i, reference in enumerate(photos):
            for probe_name, probe_photos in probes.people.items():
                for j, probe in enumerate(probe_photos):
                    if (name, i) != (probe_name, j):
                        (same if name == probe_name else other).append(float(np.linalg.norm(reference - probe)))
    photos = np.stack([face for faces in references.people.values() for face in faces])
    strangers = [float(np.linalg.norm(photos - face, axis=1).min()) for sheet in probes.strangers for face in sheet]
    lowest = min(min(other), min(strangers))
    return (
        f"same-person median {np.median(same):.3f}, nearest other-person pair {min(other):.3f}, "
        f"nearest stranger {min(strangers):.3f}, "
        f"same-person pairs nearer than both {np.mean(np.array(same) < lowest):.3f}"
    )


def upper_bound(probes: DataSet) -> SystemFactory:
    """Each person's threshold just below the nearest face of anybody else in the set (reads the answers)."""
    ids = {uuid.uuid5(uuid.NAMESPACE_OID, name): name for name in probes.people}
    faces = [(name, face) for name, photos in probes.people.items() for face in photos]
    faces += [(None, face) for sheet in probes.strangers for face in sheet]

    def build(references: list[Reference], _: list[np.ndarray], __: CalibrationPolicy) -> Matcher:
        measure = Matcher(references, {ref.person_id: 1.0 for ref in references})
        distances = np.stack([measure.person_distances(face) for _, face in faces])
        thresholds = {}
        for group, person in enumerate(measure.person_ids):
            others = np.array([owner != ids[person] for owner, _ in faces])
            thresholds[person] = Thresholds(float(distances[others, group].min()) - 1e-4, 0.5)
        return Matcher(references, thresholds)

    return build


def below_nearest_seen(bins: int) -> SystemFactory:
    """`match` `bins` bins below the nearest background face the person's counts have seen (no normal curve, no
    pull to the default), `possible` as the service sets it."""

    def build(references: list[Reference], background: list[np.ndarray], policy: CalibrationPolicy) -> Matcher:
        thresholds = {}
        for person, histogram in counts(references, background).items():
            service = thresholds_from_counts(histogram, policy)
            nearest = float(np.flatnonzero(histogram)[0]) * BIN_WIDTH
            match = min(policy.ceiling, max(policy.floor, nearest - bins * BIN_WIDTH))
            thresholds[person] = Thresholds(match, max(match, service.possible))
        return Matcher(references, thresholds)

    return build


def normalised_recall(data: DataSet, k: int) -> str:
    """Recall at the loosest single threshold with no wrong person and no stranger: raw and probe-normalised."""
    names = list(data.people)
    ids = {name: uuid.uuid5(uuid.NAMESPACE_OID, name) for name in names}
    split = {name: list(rotations(list(range(len(photos))), k)) for name, photos in data.people.items()}
    scored: dict[str, tuple[list[float], list[float]]] = {"raw": ([], []), "ratio to the median": ([], [])}
    for rotation in range(max(len(photos) for photos in data.people.values())):
        chosen = {name: split[name][rotation % len(split[name])] for name in names}
        refs = [Reference(uuid.uuid4(), ids[name], data.people[name][i]) for name in names for i in chosen[name][0]]
        matcher = Matcher(refs, {ref.person_id: 1.0 for ref in refs})
        group = {person: index for index, person in enumerate(matcher.person_ids)}
        events = [(data.people[name][i], group[ids[name]]) for name in names for i in chosen[name][1]]
        events += [(face, -1) for sheet in data.strangers for face in sheet]
        for face, own in events:
            distances = matcher.person_distances(face)
            medians = np.array([np.median(np.delete(distances, g)) for g in range(len(distances))])
            for how, score in (("raw", distances), ("ratio to the median", distances / medians)):
                nearest = int(np.argmin(score))
                right, wrong = scored[how]
                if own >= 0:
                    right.append(float(score[nearest]) if nearest == own else np.inf)
                if nearest != own:
                    wrong.append(float(score[nearest]))
    return ", ".join(f"{how}: {np.mean(np.array(right) < min(wrong)):.3f}" for how, (right, wrong) in scored.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "faces")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/impwatch-accuracy-options.json"))
    args = parser.parse_args()
    if not (args.shared / "east_asian").is_dir():
        print(f"no development faces at {args.shared}/east_asian", file=sys.stderr)
        return 2
    encoded = variant_encodings(args.shared, args.cache)
    service = CalibrationPolicy()
    header = "| Set | References | Option | Recall (match) | Wrong person | Stranger alerts | Recall (match+possible)"
    print(header + " | Median match threshold | Probes / strangers |\n|---|---|---|---|---|---|---|---|---|")
    distributions = []
    for model, jitters in VARIANTS:
        name = f"{model}/{jitters}"
        probes = data_sets(encoded[f"{model}/1"])
        for references, seen in zip(data_sets(encoded[name]), probes, strict=True):
            distributions.append(
                f"- {references.name}, {model} landmarks, {jitters} jitter(s): " + distribution(references, seen)
            )
            for k in (1, 3):
                label = f"encodings: {model} landmarks, references {jitters} jitter(s)"
                systems = {label: standard_systems()["calibrated"]}
                for option, tally in evaluate(references, k, service, systems, seen).items():
                    print(f"| {references.name} | {k} | {option} | " + " | ".join(tally.row()) + " |")
    policies = {
        "calibration without the pull to the default": CalibrationPolicy(full_weight_faces=20),
        "the same at target 1e-3": CalibrationPolicy(full_weight_faces=20, match_target=1e-3),
    }
    for data in data_sets(encoded["small/1"]):
        for k in (1, 3):
            for option, policy in policies.items():
                tally = evaluate(data, k, policy, {option: standard_systems()["calibrated"]})[option]
                print(f"| {data.name} | {k} | {option} | " + " | ".join(tally.row()) + " |")
            for bins in (1, 4, 8):
                option = f"match {bins * BIN_WIDTH:.3f} below the nearest background face seen"
                tally = evaluate(data, k, service, {option: below_nearest_seen(bins)})[option]
                print(f"| {data.name} | {k} | {option} | " + " | ".join(tally.row()) + " |")
            option = "upper bound: threshold below the nearest other face (reads the answers)"
            tally = evaluate(data, k, service, {option: upper_bound(data)})[option]
            print(f"| {data.name} | {k} | {option} | " + " | ".join(tally.row()) + " |")
    print("\nDistances (probes encoded with one jitter):")
    print("\n".join(distributions))
    print("\nOne threshold for everyone, the loosest with no wrong person and no stranger (recall at match):")
    for data in data_sets(encoded["small/1"]):
        for k in (1, 3):
            print(f"- {data.name}, {k} reference(s): " + normalised_recall(data, k))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
