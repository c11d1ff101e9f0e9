"""Benchmark: precision and recall of the two tiers on East Asian and on Western faces, against a plain loop at 0.5.

    .venv/bin/python bench/accuracy.py [--shared ../shared/faces] [--cache /tmp/impwatch-accuracy.json] [--no-speed]

Faces are encoded once with the service's own `FaceEngine` and kept in a cache file outside the repository (keyed
by path, size and mtime), so a rerun takes seconds. For one and for three reference photos per identity, every
rotation of each identity's photos is enrolled in turn (photos i..i+k-1 as references, the others as probes), and
every enrolled person's thresholds are calibrated as the service does: a histogram of the distances of the other
people's references and of a sheet of background faces (`impwatch calibrate`). The strangers that are counted are
those of the other sheet (calibrated on japan.png, tested on korea.png, and the other way round), so no stranger is
both calibration and test.

- East Asian: `east_asian/identities/*` are the people, the two crowd sheets the strangers; a crowd face within 0.30
  of an identity's photo is that person, not a stranger, and is left out (two faces).
- Western: the one-face photos of `obama/ biden/ kit_harington/ rose_leslie/ alex_lacamoire/ lin_manuel_miranda/`
  (and `edge/32bit.png`, Obama) are the people; the strangers are the unknown man of `groups/obama_and_biden.jpg`
  and the East Asian crowd sheets (the background is the other sheet, as above). An identity with fewer photos than
  the references asked for plus one is enrolled with one photo fewer (so that one remains a probe), or only enrolled.

Rates: recall (the right person named at `match`), wrong person (a probe named as somebody else at `match`),
stranger alerts (a stranger named at `match`), recall of `match`+`possible`; the plain loop names everyone with a
reference within 0.5, as `face_recognition.compare_faces` does.

Ends with how long matching one face against 100,000 reference encodings takes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from watchlist.calibration import CalibrationPolicy, add_distances, empty_histogram, thresholds_from_counts  # noqa: E402
from watchlist.engine import FACE_DETECTORS, EngineOptions  # noqa: E402
from watchlist.matcher import MATCH, Match, Matcher, Reference  # noqa: E402

if TYPE_CHECKING:
    from watchers.scanning import FileAnalysis

WESTERN_PEOPLE = ("obama", "biden", "kit_harington", "rose_leslie", "alex_lacamoire", "lin_manuel_miranda")
SAME_PERSON_IN_CROWD = 0.30
PLAIN_TOLERANCE = 0.5


def encodings(shared: Path, cache_path: Path, detector: str) -> dict[str, list[np.ndarray]]:
    """Every face of every photo under `shared`, by relative path; from the cache when the file and the face
    detector are unchanged."""
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    engine = None
    changed = False
    result = {}
    for path in sorted(p for p in shared.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"}):
        stat = path.stat()
        key = str(path.relative_to(shared))
        stamp = f"{stat.st_size}:{stat.st_mtime_ns}:{detector}"
        if cache.get(key, {}).get("stamp") != stamp:
            if engine is None:
                from watchlist.engine import EngineOptions, FaceEngine

                engine = FaceEngine(EngineOptions(face_detector=detector))
            from watchlist.images import decode_image

            faces = engine.find_faces(decode_image(path.read_bytes(), engine.options.max_image_pixels))
            cache[key] = {"stamp": stamp, "faces": [face.encoding.tolist() for face in faces]}
            changed = True
        result[key] = [np.asarray(face, dtype=np.float32) for face in cache[key]["faces"]]
    if changed:
        cache_path.write_text(json.dumps(cache))
    return result


@dataclass
class DataSet:
    name: str
    people: dict[str, list[np.ndarray]]
    strangers: list[list[np.ndarray]]
    """Two sheets of strangers: calibrated on one, tested on the other."""
    backgrounds: list[list[np.ndarray]]
    note: str = ""


def data_sets(faces: dict[str, list[np.ndarray]]) -> list[DataSet]:
    east = {}
    for key, found in faces.items():
        parts = key.split("/")
        if parts[:2] == ["east_asian", "identities"] and len(found) == 1:
            east.setdefault(parts[2], []).append(found[0])
    all_east = [face for photos in east.values() for face in photos]
    sheets, left_out = [], 0
    for sheet in ("east_asian/crowds/japan.png", "east_asian/crowds/korea.png"):
        kept = [face for face in faces[sheet] if _nearest(face, all_east) >= SAME_PERSON_IN_CROWD]
        left_out += len(faces[sheet]) - len(kept)
        sheets.append(kept)
    western: dict[str, list[np.ndarray]] = {}
    for key, found in faces.items():
        folder = key.split("/")[0]
        if folder in WESTERN_PEOPLE and len(found) == 1:
            western.setdefault(folder, []).append(found[0])
    western["obama"].extend(faces.get("edge/32bit.png", []))
    known = [western["obama"][0], western["biden"][0]]
    unknown = max(faces["groups/obama_and_biden.jpg"], key=lambda face: _nearest(face, known))
    return [
        DataSet("East Asian", east, sheets, sheets, f"{left_out} crowd faces left out as identities' own"),
        DataSet("Western", western, [[unknown, *sheets[1]], [unknown, *sheets[0]]], sheets),
    ]


def _nearest(face: np.ndarray, others: list[np.ndarray]) -> float:
    return float(np.min(np.linalg.norm(np.stack(others) - face, axis=1)))


@dataclass
class Tally:
    probes: int = 0
    right: int = 0
    wrong: int = 0
    right_any: int = 0
    strangers: int = 0
    stranger_alerts: int = 0
    thresholds: list[float] = field(default_factory=list)

    def row(self) -> list[str]:
        def rate(count: int, total: int) -> str:
            return f"{count / total:.3f}" if total else "-"

        return [
            rate(self.right, self.probes),
            rate(self.wrong, self.probes),
            rate(self.stranger_alerts, self.strangers),
            rate(self.right_any, self.probes),
            f"{np.median(self.thresholds):.3f}",
            f"{self.probes} / {self.strangers}",
        ]


def rotations(photos: list[int], k: int) -> Iterable[tuple[list[int], list[int]]]:
    """Each rotation's references and probes; `k` shrinks so that at least one photo is a probe."""
    n = len(photos)
    used = max(1, min(k, n - 1))
    for start in range(n):
        chosen = {(start + i) % n for i in range(used)}
        yield [photos[i] for i in sorted(chosen)], [photos[i] for i in range(n) if i not in chosen]
        if n == 1:
            return


SystemFactory = Callable[[list[Reference], list[np.ndarray], CalibrationPolicy], "Matcher | PlainLoop"]
"""Builds a system from the enrolled references, one background sheet and the policy."""


def standard_systems() -> dict[str, SystemFactory]:
    """The service's calibrated matcher, the same at the conservative defaults, and a plain loop at 0.5."""
    return {
        "calibrated": lambda refs, background, policy: Matcher(refs, calibrated(refs, background, policy)),
        "uncalibrated default": lambda refs, _, policy: Matcher(refs, thresholds_of_defaults(refs, policy)),
        "plain loop at 0.5": lambda refs, _, __: PlainLoop(refs),
    }


def evaluate(
    data: DataSet,
    k: int,
    policy: CalibrationPolicy,
    systems: dict[str, SystemFactory] | None = None,
    probes: DataSet | None = None,
) -> dict[str, Tally]:
    """The tallies of each system over every rotation and both background sheets. With `probes` (the same photos
    encoded another way, in the same order) the references come from `data` and every probe, stranger and background
    face from `probes`: encoding options that cost time only at enrolment."""
    systems = systems or standard_systems()
    seen = probes or data
    tallies = {name: Tally() for name in systems}
    names = list(data.people)
    ids = {name: uuid.uuid5(uuid.NAMESPACE_OID, name) for name in names}
    longest = max(len(photos) for photos in data.people.values())
    split = {name: list(rotations(list(range(len(photos))), k)) for name, photos in data.people.items()}
    for rotation in range(longest):
        chosen = {name: split[name][rotation % len(split[name])] for name in names}
        references = [
            Reference(uuid.uuid4(), ids[name], data.people[name][i]) for name in names for i in chosen[name][0]
        ]
        for half in (0, 1):
            for system, factory in systems.items():
                matcher = factory(references, seen.backgrounds[half], policy)
                tally = tallies[system]
                if isinstance(matcher, Matcher):
                    tally.thresholds.extend(matcher.thresholds_of(pid).match for pid in matcher.person_ids)
                else:
                    tally.thresholds.append(PLAIN_TOLERANCE)
                for name in names:
                    for index in chosen[name][1]:
                        _count_probe(tally, matcher, seen.people[name][index], ids[name])
                for stranger in seen.strangers[1 - half]:
                    _count_stranger(tally, matcher, stranger)
    return tallies


def calibrated(references: list[Reference], background: list[np.ndarray], policy: CalibrationPolicy) -> dict:
    """Each person's thresholds from the other people's references and the background sheet, as the service does."""
    return {pid: thresholds_from_counts(histogram, policy) for pid, histogram in counts(references, background).items()}


def counts(references: list[Reference], background: list[np.ndarray]) -> dict[uuid.UUID, list[int]]:
    """Each person's histogram: the distances of the other people's references and of the background faces."""
    probe = Matcher(references, {ref.person_id: 1.0 for ref in references})
    histograms = {pid: empty_histogram() for pid in probe.person_ids}
    faces = [(ref.person_id, ref.encoding) for ref in references] + [(None, face) for face in background]
    for owner, face in faces:
        for pid, distance in zip(probe.person_ids, probe.person_distances(face), strict=True):
            if pid != owner:
                histograms[pid] = add_distances(histograms[pid], [distance])
    return histograms


def thresholds_of_defaults(references: list[Reference], policy: CalibrationPolicy) -> dict:
    return {ref.person_id: thresholds_from_counts(empty_histogram(), policy) for ref in references}


class PlainLoop:
    """What a plain face_recognition loop does: everyone with a reference within 0.5 of the face is named."""

    def __init__(self, references: list[Reference]) -> None:
        self._references = references

    def match(self, face: np.ndarray) -> list[Match]:
        named: dict[uuid.UUID, Match] = {}
        for ref in self._references:
            distance = float(np.linalg.norm(ref.encoding - face))
            if distance <= PLAIN_TOLERANCE and (ref.person_id not in named or distance < named[ref.person_id].distance):
                named[ref.person_id] = Match(ref.person_id, ref.reference_id, distance, MATCH)
        return list(named.values())


def _count_probe(tally: Tally, matcher: Matcher | PlainLoop, face: np.ndarray, person: uuid.UUID) -> None:
    matches = matcher.match(face)
    alerted = {m.person_id for m in matches if m.tier == MATCH}
    tally.probes += 1
    tally.right += person in alerted
    tally.wrong += bool(alerted - {person})
    tally.right_any += person in {m.person_id for m in matches}


def _count_stranger(tally: Tally, matcher: Matcher | PlainLoop, face: np.ndarray) -> None:
    tally.strangers += 1
    tally.stranger_alerts += any(m.tier == MATCH for m in matcher.match(face))


def matching_speed(
    references: int = 100_000, persons: int = 10_000, repeats: int = 200
) -> dict[str, dict[str, tuple[float, float]]]:
    """Milliseconds (median of `repeats`, wall clock and this process's CPU time: on a loaded machine the wall clock
    includes waiting for a core) to match one face against `references` reference encodings, and to count that face
    into every person's calibration counts (`watchers.scanning`), each beside its baseline measured in the same run,
    interleaved: the former matcher's distance computation alone (`np.linalg.norm` over the difference) and the
    former counting loop."""
    from watchers.scanning import FileAnalysis, _count_background

    rng = np.random.default_rng(7)
    people = [uuid.UUID(int=i + 1) for i in range(persons)]
    encodings_ = rng.normal(size=(references, 128)).astype(np.float32) * 0.05
    refs = [Reference(uuid.UUID(int=10**9 + i), people[i % persons], encodings_[i]) for i in range(references)]
    matcher = Matcher(refs, dict.fromkeys(people, 0.4))
    face = rng.normal(size=128).astype(np.float32) * 0.05
    _, distances = matcher.match_and_measure(face)
    now, former = FileAnalysis("photo", "", 0, 0, 0), FileAnalysis("photo", "", 0, 0, 0)
    return {
        "matching one face against 100,000 reference encodings (10,000 people)": _interleaved(
            {
                "matcher": lambda: matcher.match(face),
                "former np.linalg.norm": lambda: np.linalg.norm(encodings_ - face, axis=1),
            },
            repeats,
        ),
        "counting that face for the 10,000 people's calibration": _interleaved(
            {
                "now": lambda: _count_background(now, matcher, distances, set()),
                "former loop": lambda: _former_count(former, matcher, distances, set()),
            },
            repeats,
        ),
    }


def _interleaved(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, tuple[float, float]]:
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            run()
            times[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
    return {name: (float(np.median(times[name]) * 1000), float(np.median(cpu[name]) * 1000)) for name in runs}


def _former_count(analysis: FileAnalysis, matcher: Matcher, distances: np.ndarray, assigned: set) -> None:
    """`watchers.scanning._count_background` before it was rewritten: the baseline."""
    from watchlist.calibration import BIN_WIDTH, BINS

    counted = np.array([person_id not in assigned for person_id in matcher.person_ids], dtype=bool)
    bins = np.minimum(BINS - 1, (distances / BIN_WIDTH).astype(np.intp))
    for group in np.flatnonzero(counted):
        person_bins = analysis.background.setdefault(matcher.person_ids[group], {})
        index = int(bins[group])
        person_bins[index] = person_bins.get(index, 0) + 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "faces")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/impwatch-accuracy-cache.json"))
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--face-detector", choices=FACE_DETECTORS, default=EngineOptions().face_detector)
    parser.add_argument("--match-target", type=float, default=CalibrationPolicy.match_target)
    parser.add_argument("--possible-target", type=float, default=CalibrationPolicy.possible_target)
    parser.add_argument("--min-faces", type=int, default=CalibrationPolicy.min_faces)
    parser.add_argument("--full-weight-faces", type=int, default=CalibrationPolicy.full_weight_faces)
    parser.add_argument("--default-match", type=float, default=CalibrationPolicy.default_match)
    args = parser.parse_args()
    if not (args.shared / "east_asian").is_dir():
        print(f"no development faces at {args.shared}/east_asian", file=sys.stderr)
        return 2
    policy = CalibrationPolicy(
        match_target=args.match_target,
        possible_target=args.possible_target,
        min_faces=args.min_faces,
        full_weight_faces=args.full_weight_faces,
        default_match=args.default_match,
    )
    sets = data_sets(encodings(args.shared, args.cache, args.face_detector))
    print(f"Policy: {policy}; face detector: {args.face_detector}\n")
    header = "| Set | References | System | Recall (match) | Wrong person | Stranger alerts | Recall (match+possible)"
    print(header + " | Median match threshold | Probes / strangers |")
    print("|---|---|---|---|---|---|---|---|---|")
    for data in sets:
        for k in (1, 3):
            for system, tally in evaluate(data, k, policy).items():
                print(f"| {data.name} | {k} | {system} | " + " | ".join(tally.row()) + " |")
    for data in sets:
        if data.note:
            print(f"\n{data.name}: {data.note}.")
    if not args.no_speed:
        for what, speeds in matching_speed().items():
            print(f"\n{what.capitalize()}, medians in one run:")
            (_, (now, now_cpu)), *_ = speeds.items()
            for name, (spent, spent_cpu) in speeds.items():
                print(
                    f"- {name}: {spent:.2f} ms wall ({spent / now:.1f} x), "
                    f"{spent_cpu:.2f} ms CPU ({spent_cpu / now_cpu:.1f} x)"
                )
        print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
