"""Benchmark: the scanning pipeline against a plain face_recognition loop, and a long video in bounded memory.

Every measured workload runs in its own fresh child process (this script run with `--child KIND`), so each peak
RSS is that workload's alone. Times cover the scan only: imports, model loading, building the matcher and one
untimed warm-up image happen before the clock starts.

    .venv/bin/python bench/scan_photos.py [--repeats N] [--passes N] [--quick] [--skip-video] [--max-ratio R]

Exits 1 when the pipeline's median photo time is more than `--max-ratio` (1.10) times the plain loop's.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CLIP = FIXTURES / "short_hamilton_clip.mp4"
REFERENCE_PHOTOS = ("obama.jpg", "biden.jpg")
LONG_VIDEO_SECONDS = 600
QUICK_VIDEO_SECONDS = 120

Result = dict[str, Any]


# --- children: each runs one workload and prints one JSON line ---


def _peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _pipeline_parts() -> tuple[Any, Any, Any]:
    from watchers.frames import FrameSampling
    from watchlist.engine import EngineOptions, FaceEngine
    from watchlist.images import decode_image
    from watchlist.matcher import Matcher, Reference

    engine = FaceEngine(EngineOptions())
    references, tolerances = [], {}
    for name in REFERENCE_PHOTOS:
        rgb = decode_image((FIXTURES / name).read_bytes(), engine.options.max_image_pixels)
        person_id = uuid.uuid4()
        tolerances[person_id] = 0.5
        references += [Reference(uuid.uuid4(), person_id, face.encoding) for face in engine.find_faces(rgb)]
    return engine, Matcher(references, tolerances), FrameSampling()


def _child_pipeline(paths: list[Path]) -> Result:
    from watchers.scanning import analyse_file

    engine, matcher, sampling = _pipeline_parts()
    analyse_file(paths[0], engine, matcher, sampling)
    setup_rss = _peak_rss_mib()
    start = time.perf_counter()
    analyses = [analyse_file(path, engine, matcher, sampling) for path in paths]
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "faces": sum(len(analysis.faces) for analysis in analyses),
        "matched_faces": sum(1 for analysis in analyses for face in analysis.faces if face.matches),
        "setup_rss_mib": setup_rss,
        "peak_rss_mib": _peak_rss_mib(),
    }


def _plain_faces(path: Path) -> int:
    import face_recognition

    image = face_recognition.load_image_file(str(path))
    locations = face_recognition.face_locations(image)
    return len(face_recognition.face_encodings(image, locations))


def _child_plain(paths: list[Path]) -> Result:
    _plain_faces(paths[0])
    setup_rss = _peak_rss_mib()
    start = time.perf_counter()
    faces = sum(_plain_faces(path) for path in paths)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "faces": faces, "setup_rss_mib": setup_rss, "peak_rss_mib": _peak_rss_mib()}


def _child_video(paths: list[Path]) -> Result:
    from watchers.scanning import analyse_file

    engine, matcher, sampling = _pipeline_parts()
    setup_rss, rss_before = _peak_rss_mib(), _current_rss_mib()
    start = time.perf_counter()
    analysis = analyse_file(paths[0], engine, matcher, sampling)
    seconds = time.perf_counter() - start
    rss_after = _current_rss_mib()
    return {
        "seconds": seconds,
        "duration": analysis.duration,
        "frames_scanned": analysis.frames_scanned,
        "truncated": analysis.truncated,
        "faces": len(analysis.faces),
        "setup_rss_mib": setup_rss,
        "rss_before_mib": rss_before,
        "rss_after_mib": rss_after,
        "peak_rss_mib": _peak_rss_mib(),
    }


CHILDREN = {"pipeline": _child_pipeline, "plain": _child_plain, "video": _child_video}


def run_child(kind: str, paths: list[Path]) -> Result:
    """Run one workload in a fresh interpreter and return what it measured."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, *map(str, paths)]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"child {kind} failed ({completed.returncode}):\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --- building the long video ---


@dataclass(frozen=True)
class ClipPacket:
    data: bytes
    pts: int
    dts: int
    duration: int
    keyframe: bool


def build_looped_video(source: Path, target: Path, seconds: float) -> float:
    """Remux the source's video packets over and over, timestamps shifted, until `seconds` are covered.

    No re-encoding: every loop starts on the clip's first packet, a keyframe, and the clip has no B-frames.
    Returns the duration written, in seconds.
    """
    import av

    with av.open(str(source)) as reader:
        stream = reader.streams.video[0]
        packets = [
            ClipPacket(bytes(packet), packet.pts, packet.dts, packet.duration, packet.is_keyframe)
            for packet in reader.demux(stream)
            if packet.size and packet.pts is not None
        ]
        time_base = stream.time_base
        with av.open(str(target), mode="w") as writer:
            out = writer.add_stream_from_template(stream)
            written = _write_loops(writer, out, packets, time_base, round(seconds / time_base))
    return float(written * time_base)


def _write_loops(writer: Any, out: Any, packets: list[ClipPacket], time_base: Fraction, limit: int) -> int:
    """Mux copies of `packets` shifted loop after loop, starting at 0; returns the end timestamp written."""
    import av

    first = packets[0].dts
    loop_length = packets[-1].pts + packets[-1].duration - packets[0].pts
    offset = -first
    while True:
        for clip_packet in packets:
            if clip_packet.pts + offset + clip_packet.duration > limit:
                return clip_packet.pts + offset
            packet = av.Packet(clip_packet.data)
            packet.pts, packet.dts = clip_packet.pts + offset, clip_packet.dts + offset
            packet.duration, packet.time_base = clip_packet.duration, time_base
            packet.is_keyframe = clip_packet.keyframe
            packet.stream = out
            writer.mux(packet)
        offset += loop_length


# --- the two benchmarks ---


@dataclass
class PhotoBench:
    photos: int
    passes: int
    repeats: int
    pipeline: list[Result]
    plain: list[Result]

    def median(self, which: str, key: str) -> float:
        return statistics.median(result[key] for result in getattr(self, which))

    @property
    def ratio(self) -> float:
        return self.median("pipeline", "seconds") / self.median("plain", "seconds")


@dataclass
class VideoBench:
    short: Result
    long: Result

    @property
    def rss_ratio(self) -> float:
        return self.long["peak_rss_mib"] / self.short["peak_rss_mib"]


def photo_paths(passes: int) -> list[Path]:
    photos = sorted(path for path in FIXTURES.iterdir() if path.suffix.lower() in (".jpg", ".png"))
    return photos * passes


def bench_photos(repeats: int, passes: int) -> PhotoBench:
    paths = photo_paths(passes)
    results: dict[str, list[Result]] = {"pipeline": [], "plain": []}
    for repeat in range(repeats):
        order = ("pipeline", "plain") if repeat % 2 == 0 else ("plain", "pipeline")
        for kind in order:
            result = run_child(kind, paths)
            results[kind].append(result)
            print(
                f"  photos run {repeat + 1}/{repeats} {kind:8}: {result['seconds']:.2f} s, "
                f"{result['faces']} faces, peak RSS {result['peak_rss_mib']:.0f} MiB",
                flush=True,
            )
    return PhotoBench(len(paths) // passes, passes, repeats, results["pipeline"], results["plain"])


def bench_video(seconds: int) -> VideoBench:
    short = run_child("video", [CLIP])
    print(f"  video {CLIP.name}: {_video_line(short)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="impwatch-bench-") as folder:
        target = Path(folder) / f"looped_{seconds}s.mp4"
        start = time.perf_counter()
        written = build_looped_video(CLIP, target, seconds)
        size_mib = target.stat().st_size / 2**20
        print(
            f"  built {target.name}: {written:.1f} s, {size_mib:.1f} MiB in {time.perf_counter() - start:.1f} s",
            flush=True,
        )
        long = run_child("video", [target])
    print(f"  video {target.name}: {_video_line(long)}", flush=True)
    return VideoBench(short, long)


def _video_line(result: Result) -> str:
    return (
        f"{result['frames_scanned']} frames of {result['duration']:.1f} s in {result['seconds']:.1f} s "
        f"({result['frames_scanned'] / result['seconds']:.2f} frames/s), {result['faces']} faces, "
        f"peak RSS {result['peak_rss_mib']:.0f} MiB"
    )


# --- the summary ---


def photo_table(bench: PhotoBench) -> list[str]:
    def row(label: str, key: str, fmt: str) -> str:
        return f"| {label} | {fmt.format(bench.median('pipeline', key))} | {fmt.format(bench.median('plain', key))} |"

    return [
        f"Photos: the {bench.photos} photos of tests/fixtures/ scanned {bench.passes}x per run, "
        f"median of {bench.repeats} runs, each in a fresh process",
        "",
        "| Photos | Pipeline (`analyse_file`) | Plain face_recognition loop |",
        "|---|---|---|",
        row("Scan time", "seconds", "{:.2f} s"),
        _per_photo_row(bench),
        row("Peak RSS", "peak_rss_mib", "{:.0f} MiB"),
        row("Faces found", "faces", "{:.0f}"),
        "",
        f"Time ratio pipeline / plain: **{bench.ratio:.2f}**",
    ]


def _per_photo_row(bench: PhotoBench) -> str:
    pipeline, plain = (
        bench.median(which, "seconds") * 1000 / (bench.photos * bench.passes) for which in ("pipeline", "plain")
    )
    return f"| Per photo | {pipeline:.0f} ms | {plain:.0f} ms |"


def video_table(bench: VideoBench) -> list[str]:
    def row(label: str, result: Result) -> str:
        rate = result["frames_scanned"] / result["seconds"]
        return (
            f"| {label} | {result['duration']:.0f} s | {result['frames_scanned']} | {result['seconds']:.1f} s "
            f"| {rate:.2f} | {result['faces']} | {result['peak_rss_mib']:.0f} MiB "
            f"| {result['rss_before_mib']:.0f} → {result['rss_after_mib']:.0f} MiB |"
        )

    return [
        "Video: `analyse_file` with the default FrameSampling (first frame, then 1 frame a second)",
        "",
        "| Video | Duration | Frames scanned | Wall time | Frames/s | Faces | Peak RSS | RSS before → after scan |",
        "|---|---|---|---|---|---|---|---|",
        row(CLIP.name, bench.short),
        row("the clip looped", bench.long),
        "",
        f"Peak RSS long / short: **{bench.rss_ratio:.2f}**",
    ]


def print_summary(photos: PhotoBench | None, video: VideoBench | None) -> None:
    lines = ["", "## Summary", ""]
    if photos is not None:
        lines += [*photo_table(photos), ""]
    if video is not None:
        lines += [*video_table(video), ""]
    print("\n".join(lines))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each photo workload (default 3)")
    parser.add_argument("--passes", type=int, default=2, help="times each photo is scanned per run (default 2)")
    parser.add_argument("--quick", action="store_true", help=f"a {QUICK_VIDEO_SECONDS} s video instead of 600 s")
    parser.add_argument("--skip-video", action="store_true", help="only the photo benchmark")
    parser.add_argument("--skip-photos", action="store_true", help="only the video benchmark")
    parser.add_argument("--max-ratio", type=float, default=1.10, help="fail above this time ratio (default 1.10)")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.paths)))
        return 0
    photos = None if args.skip_photos else bench_photos(args.repeats, args.passes)
    seconds = QUICK_VIDEO_SECONDS if args.quick else LONG_VIDEO_SECONDS
    video = None if args.skip_video else bench_video(seconds)
    print_summary(photos, video)
    if photos is not None and photos.ratio > args.max_ratio:
        print(f"FAIL: the pipeline takes {photos.ratio:.2f}x the plain loop's time (limit {args.max_ratio:.2f}x)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
