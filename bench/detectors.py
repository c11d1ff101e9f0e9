"""Benchmark: CenterFace against dlib's HOG, each as the service's `FaceEngine` runs it, in one run.

    .venv/bin/python bench/detectors.py [--shared ../shared/faces] [--repeats 3] [--centerface-side 640]

- **Faces found**: the sample photos of `../shared/faces` (one face in each photo of the people's folders and of
  `edge/`; 2, 3 and 2 in `groups/`) and the two East Asian crowd sheets (24 portraits each). A photo's hits are its
  faces found up to the number it holds; more are counted as extra.
- **Small faces**: each one-face photo scaled so that its face (dlib's box on the original) is 40 and 28 pixels
  wide, pasted on a grey 1024x683 canvas (a news photo's size, so neither detector upsamples it): 38 faces. A hit is
  a box whose centre falls inside the face's box grown by half; other boxes are extra.
- **Time per photo**: `FaceEngine.detect`, and `FaceEngine.search` (detection and dlib's encodings), on the photos
  of the first set, both detectors alternating photo by photo, `--repeats` passes; medians over every photo and
  pass, and the ratio CenterFace / HOG. One core each: dlib's detector runs on one thread, onnxruntime is given one.
- **Video frames**: the sampled frames of `video/short_hamilton_clip.mp4` (1 a second): faces found and time per
  frame, for `IMPWATCH_VIDEO_FACE_DETECTOR`.
- **Distances**: dlib's encodings on each detector's boxes (CenterFace's made square, `watchlist.engine`): per
  face, HOG-box against CenterFace-box encoding; same-person and different-person pairs among the Western photos
  and the East Asian identities with both detectors' encodings, and with references on HOG boxes against probes on
  CenterFace boxes (an installation that switches detector keeps the references it enrolled).
- Exits 1 when CenterFace finds fewer faces or small faces than HOG on the photos, or detects no faster.
- **Box fit** (`--box-fit`): for faces both find, dlib's square side against CenterFace's box and its centre's
  shift, the medians behind `watchlist.engine`'s square boxes.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from watchlist.engine import CENTERFACE, HOG, Box, EngineOptions, FaceEngine  # noqa: E402
from watchlist.images import decode_image  # noqa: E402

WESTERN_PEOPLE = ("obama", "biden", "kit_harington", "rose_leslie", "alex_lacamoire", "lin_manuel_miranda")
GROUPS = {"two_people.jpg": 2, "obama_and_biden.jpg": 3, "kit_with_rose.jpg": 2}
CROWD_FACES = 24
SMALL_FACE_WIDTHS = (40, 28)
CANVAS = (1024, 683)
DETECTORS = (HOG, CENTERFACE)


@dataclass
class Photo:
    name: str
    rgb: np.ndarray
    faces: int
    person: str | None = None
    expected_boxes: list[Box] = field(default_factory=list)


def photos(shared: Path) -> list[Photo]:
    found = []
    for person in (*WESTERN_PEOPLE, "edge"):
        for path in sorted((shared / person).iterdir()):
            owner = "obama" if path.name == "32bit.png" else None if person == "edge" else person
            found.append(Photo(f"{person}/{path.name}", _read(path), 1, owner))
    for name, count in GROUPS.items():
        found.append(Photo(f"groups/{name}", _read(shared / "groups" / name), count))
    for path in sorted((shared / "east_asian" / "crowds").iterdir()):
        found.append(Photo(f"crowds/{path.name}", _read(path), CROWD_FACES))
    return found


def _read(path: Path) -> np.ndarray:
    return decode_image(path.read_bytes(), 50_000_000)


def small_faces(singles: list[Photo], hog: FaceEngine) -> list[Photo]:
    made = []
    for index, (photo, width) in enumerate(itertools.product(singles, SMALL_FACE_WIDTHS)):
        [box] = hog.detect(photo.rgb)
        scale = width / box.width
        height, photo_width = photo.rgb.shape[:2]
        size = (max(1, round(photo_width * scale)), max(1, round(height * scale)))
        scaled = Image.fromarray(photo.rgb).resize(size, Image.Resampling.LANCZOS)
        canvas = Image.new("RGB", CANVAS, (128, 128, 128))
        x = 40 + (index * 137) % max(1, CANVAS[0] - size[0] - 80)
        y = 40 + (index * 89) % max(1, CANVAS[1] - size[1] - 80)
        canvas.paste(scaled, (x, y))
        expected = Box(
            top=y + round(box.top * scale),
            right=x + round(box.right * scale),
            bottom=y + round(box.bottom * scale),
            left=x + round(box.left * scale),
        )
        made.append(Photo(f"{photo.name}@{width}px", np.asarray(canvas), 1, photo.person, [expected]))
    return made


def count_hits(photo: Photo, boxes: list[Box]) -> tuple[int, int]:
    """Faces found and extra boxes, by count (`photo.faces`) or by position (`photo.expected_boxes`)."""
    if not photo.expected_boxes:
        return min(len(boxes), photo.faces), max(0, len(boxes) - photo.faces)
    hits = 0
    for expected in photo.expected_boxes:
        grow_x, grow_y = expected.width / 4, expected.height / 4
        if any(
            expected.left - grow_x <= (box.left + box.right) / 2 <= expected.right + grow_x
            and expected.top - grow_y <= (box.top + box.bottom) / 2 <= expected.bottom + grow_y
            for box in boxes
        ):
            hits += 1
    return hits, len(boxes) - hits


def timed(call: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def pairs_summary(encodings: list[tuple[str, np.ndarray]], others: list[tuple[str, np.ndarray]] | None = None) -> str:
    """Same-person pairs (median, max) and different-person pairs (min, share within 0.5) between the two lists
    (or within one)."""
    same, different = [], []
    second = others if others is not None else encodings
    for (i, (person_a, a)), (j, (person_b, b)) in itertools.product(enumerate(encodings), enumerate(second)):
        if others is None and j <= i:
            continue
        if others is not None and i == j:
            continue  # the same photo on both sides
        distance = float(np.linalg.norm(a - b))
        (same if person_a == person_b else different).append(distance)
    within = sum(distance < 0.5 for distance in different) / max(1, len(different))
    return (
        f"{statistics.median(same):.3f} | {max(same):.3f} | {min(different):.3f} | {within:.2%} "
        f"| {len(same)} / {len(different)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "faces")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--centerface-side", type=int, default=EngineOptions().centerface_side)
    parser.add_argument("--box-fit", action="store_true")
    parser.add_argument("--skip-east-asian", action="store_true")
    args = parser.parse_args()

    engines = {
        HOG: FaceEngine(EngineOptions(face_detector=HOG)),
        CENTERFACE: FaceEngine(EngineOptions(face_detector=CENTERFACE, centerface_side=args.centerface_side)),
    }
    sample = photos(args.shared)
    small = small_faces(
        [photo for photo in sample if photo.person is not None or photo.name.startswith("edge/")], engines[HOG]
    )
    for engine in engines.values():  # models loaded, one untimed photo
        engine.search(sample[0].rgb)

    found = {name: [0, 0] for name in DETECTORS}
    small_found = {name: [0, 0] for name in DETECTORS}
    detect_ms: dict[str, list[float]] = {name: [] for name in DETECTORS}
    search_ms: dict[str, list[float]] = {name: [] for name in DETECTORS}
    boxes_of: dict[str, dict[str, list[Box]]] = {name: {} for name in DETECTORS}
    for repeat in range(args.repeats):
        for photo in sample:
            order = DETECTORS if repeat % 2 == 0 else DETECTORS[::-1]
            for name in order:
                elapsed, boxes = timed(lambda name=name, photo=photo: engines[name].detect(photo.rgb))
                detect_ms[name].append(elapsed)
                elapsed, _ = timed(lambda name=name, photo=photo: engines[name].search(photo.rgb))
                search_ms[name].append(elapsed)
                if repeat == 0:
                    assert isinstance(boxes, list)
                    boxes_of[name][photo.name] = boxes
                    hits, extra = count_hits(photo, boxes)
                    found[name][0] += hits
                    found[name][1] += extra
    for photo in small:
        for name in DETECTORS:
            hits, extra = count_hits(photo, engines[name].detect(photo.rgb))
            small_found[name][0] += hits
            small_found[name][1] += extra

    total = sum(photo.faces for photo in sample)
    print(
        f"{len(sample)} photos ({total} faces) of {args.shared}, {len(small)} small faces; CenterFace at "
        f"{args.centerface_side} px; {args.repeats} passes; 1 thread each\n"
    )
    print(
        "| Detector | Faces found | Extra boxes | Small faces found | Extra boxes | detect ms / photo (median) "
        "| detect + encode ms / photo (median) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in DETECTORS:
        print(
            f"| {name} | {found[name][0]} of {total} | {found[name][1]} | {small_found[name][0]} of {len(small)} "
            f"| {small_found[name][1]} | {statistics.median(detect_ms[name]):.0f} "
            f"| {statistics.median(search_ms[name]):.0f} |"
        )
    detect_ratio = statistics.median(detect_ms[CENTERFACE]) / statistics.median(detect_ms[HOG])
    search_ratio = statistics.median(search_ms[CENTERFACE]) / statistics.median(search_ms[HOG])
    print(
        f"\nTime ratio CenterFace / HOG: detection **{detect_ratio:.2f}**, detection + encoding **{search_ratio:.2f}**"
    )
    for name in DETECTORS:
        missed = [photo.name for photo in small if count_hits(photo, engines[name].detect(photo.rgb))[0] < 1]
        print(f"small faces {name} missed: {', '.join(missed) or 'none'}")

    video(args.shared / "video" / "short_hamilton_clip.mp4", engines)
    distances(sample, engines, args)
    if args.box_fit:
        box_fit(sample, boxes_of)
    wins = found[CENTERFACE][0] >= found[HOG][0] and small_found[CENTERFACE][0] >= small_found[HOG][0]
    if not (wins and detect_ratio < 1):
        print("FAIL: CenterFace does not win on both faces found and time on these photos")
        return 1
    return 0


def video(path: Path, engines: dict[str, FaceEngine]) -> None:
    """The sampled frames of the clip (1 a second), each searched by both: faces found and time per frame."""
    from watchers.frames import FrameSampling, SampledVideo

    frames = [frame.rgb.copy() for frame in SampledVideo(path, FrameSampling(), 50_000_000).frames()]
    print(f"\nVideo frames ({path.name}, {len(frames)} sampled frames of {frames[0].shape[1]}x{frames[0].shape[0]})\n")
    print(
        "| Detector | Faces found | detect ms / frame (median) | detect + encode ms / frame (median) | all frames, s |"
    )
    print("|---|---|---|---|---|")
    for name in DETECTORS:
        faces, detect, search = 0, [], []
        for rgb in frames:
            elapsed, boxes = timed(lambda rgb=rgb, name=name: engines[name].detect(rgb))
            detect.append(elapsed)
            assert isinstance(boxes, list)
            faces += len(boxes)
            search.append(timed(lambda rgb=rgb, name=name: engines[name].search(rgb))[0])
        print(
            f"| {name} | {faces} | {statistics.median(detect):.0f} | {statistics.median(search):.0f} "
            f"| {sum(search) / 1000:.2f} |"
        )


def distances(sample: list[Photo], engines: dict[str, FaceEngine], args: argparse.Namespace) -> None:
    sets = {"Western": [(photo.person, photo.rgb) for photo in sample if photo.person is not None]}
    if not args.skip_east_asian:
        root = args.shared / "east_asian" / "identities"
        sets["East Asian"] = [
            (folder.name, _read(path)) for folder in sorted(root.iterdir()) for path in sorted(folder.iterdir())
        ]
    print(
        "\ndlib's encodings on each detector's boxes (one face per photo; photos where a detector finds another "
        "number are left out)\n"
    )
    print("| Set | Encodings | same person: median | max | different people: min | within 0.5 | pairs |")
    print("|---|---|---|---|---|---|---|")
    for set_name, items in sets.items():
        by_detector: dict[str, list[tuple[str, np.ndarray]]] = {}
        kept = []
        for person, rgb in items:
            faces = {name: engines[name].find_faces(rgb) for name in DETECTORS}
            if all(len(found) == 1 for found in faces.values()):
                kept.append((person, {name: faces[name][0].encoding for name in DETECTORS}))
        for name in DETECTORS:
            by_detector[name] = [(person, encodings[name]) for person, encodings in kept]
        for name in DETECTORS:
            print(f"| {set_name} ({len(kept)} photos) | {name} boxes | {pairs_summary(by_detector[name])} |")
        print(
            f"| {set_name} | HOG references, CenterFace probes "
            f"| {pairs_summary(by_detector[HOG], by_detector[CENTERFACE])} |"
        )
        shift = [float(np.linalg.norm(encodings[HOG] - encodings[CENTERFACE])) for _, encodings in kept]
        print(
            f"| {set_name} | the same face, HOG box against CenterFace box | median {statistics.median(shift):.3f} "
            f"| max {max(shift):.3f} | | | {len(shift)} faces |"
        )


def box_fit(sample: list[Photo], boxes_of: dict[str, dict[str, list[Box]]]) -> None:
    """dlib's boxes against CenterFace's raw boxes (before they are made square)."""
    from watchlist import centerface

    rows = []
    for photo in sample:
        raw = centerface.detect(photo.rgb, centerface.CenterFaceOptions())
        for hog in boxes_of[HOG][photo.name]:
            side = (hog.width + hog.height) / 2
            centre = ((hog.left + hog.right) / 2, (hog.top + hog.bottom) / 2)
            for face in raw:
                width, height = face.right - face.left, face.bottom - face.top
                face_centre = ((face.left + face.right) / 2, (face.top + face.bottom) / 2)
                if np.hypot(centre[0] - face_centre[0], centre[1] - face_centre[1]) < side / 2:
                    rows.append((side / ((width + height) / 2), (centre[1] - face_centre[1]) / height))
    sides, shifts = zip(*rows, strict=True)
    print(
        f"\nBox fit over {len(rows)} faces: dlib's side / CenterFace's mean side, "
        f"median {statistics.median(sides):.3f}; "
        f"centre shift down / CenterFace's height, median {statistics.median(shifts):.3f}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
