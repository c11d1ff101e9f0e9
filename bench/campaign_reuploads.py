"""Benchmark: a campaign of re-uploaded fakes, photos and videos, through the watch pipeline, against a plain
face_recognition loop over the same media.

Each fake is posted once as it is and re-uploaded eight times, each copy on another post (the five channels take
turns). The mix is what forwarding across channels does to a fake: most copies are re-encodes (Telegram and every
channel that downloads and re-posts re-compress a photo as JPEG at their own quality and a video at their own bit
rate, and many resize it), a few are edited (cropped, watermarked with a channel's name). For a photo
(`tests.media_copies.write_copy`): JPEG quality 60, 75 and 85, resized to 0.75 at quality 90, 70 and 50, cropped
5%, watermarked. For a video (`write_video_copy`, H.264 re-encoded frame by frame): 250, 180 and 320 kbit/s,
resized to 0.75 at 250 and 180 kbit/s,
cropped 5%, watermarked. The issue's four transforms (re-compressed, resized, cropped 5%, watermarked) are all in.
Photo fakes: six fixture photos of enrolled people; video fakes: the sample clip (9.2 s) and its 4-8 s part, both
showing Lin-Manuel Miranda, who is enrolled too (`--quick`: three photos and the part).

The batch is published on a local t.me preview server and read by one `tme_preview` watch per channel, run at once
in `--threads` threads through the service's runner (`app.scheduling`), on a fresh SQLite database and a fresh
`Runtime` with `--face-workers` face processes, as `bench/campaign.py` does. The perceptual clusters
(`watchers.perceptual`) should analyse each fake and its edited copies, reuse the analysis for its re-encodes, and
raise one alert per fake with an occurrence per copy.

The baseline, in the same run: a plain loop over the same files that any script would write with face_recognition
(load, HOG face locations, encodings, distances to the enrolled encodings), one file after another; for a video,
the same over its frames sampled one a second (decoded with PyAV), as the service samples them.

Timed: running the watches, from the first run's start to the last run's end (page fetches, downloads, hashing,
face work, alerts), and the loop over every file. Not timed: making the copies, migrations, enrolment, starting the
face workers. Medians of `--repeats` runs (pipeline and loop alternate). Exits 1 when a run fails or when alerts and
occurrences are not one per fake and one per copy.

    .venv/bin/python -m bench.campaign_reuploads [--quick] [--repeats N] [--face-workers N] [--threads N]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sqlmodel import Session, select

from app.alerts.models import Alert
from app.runtime import Runtime
from app.scheduling import build_watch_runner
from bench.campaign import CLIP, FIXTURES, PEOPLE, AnalysisProbe, add_watch, fresh_runtime, run_watches, warm_up
from tests.factories import enrol_person
from tests.media_copies import write_copy, write_video_copy
from tests.watchers.sources.tme_pages import ChannelServer
from watchers.analysis import LocalExecutor
from watchers.models import MediaAnalysis

PHOTO_FAKES = ("obama2.jpg", "obama4.jpg", "biden2.jpg", "kit2.jpg", "kit3.jpg", "obama_small.jpg")
VIDEO_FAKES = {"hamilton": (0.0, None), "hamilton_4_8s": (4.0, 4.0)}
"""Video fakes: (start, seconds) of the sample clip; the whole clip is posted as it is, the part at 400 kbit/s."""
QUICK_PHOTO_FAKES, QUICK_VIDEO_FAKES = PHOTO_FAKES[:3], ("hamilton_4_8s",)
PHOTO_MIX = (
    ("jpeg_q60", 60),
    ("jpeg_q60", 75),
    ("jpeg_q60", 85),
    ("resized_075", 90),
    ("resized_075", 70),
    ("resized_075", 50),
    ("cropped_5", 90),
    ("watermarked", 90),
)
"""(how, JPEG quality) of each photo copy: six re-encodes, two edits."""
VIDEO_MIX = (
    ("reencoded", 250_000),
    ("reencoded", 180_000),
    ("reencoded", 320_000),
    ("resized_075", 250_000),
    ("resized_075", 180_000),
    ("cropped_5", 250_000),
    ("watermarked", 250_000),
)
"""(how, bit rate) of each video copy: five re-encodes, two edits (and the part's original is itself a re-encode)."""
PART_BITRATE = 400_000
PEOPLE_HERE = {**PEOPLE, "Lin-Manuel Miranda": "lmm1.png"}
CHANNELS = ("kz_news_fake", "daily_leaks", "election_rumours", "politics_now", "akim_watch")


@dataclasses.dataclass(frozen=True)
class Upload:
    fake: str
    how: str
    channel: str
    path: Path
    video: bool


def plan_uploads(photo_fakes: Sequence[str], video_fakes: Sequence[str], folder: Path) -> list[Upload]:
    """Each fake as it is on one channel and its copies on the next ones, in turn."""
    versions: list[tuple[str, bool, list[tuple[str, Path]]]] = []
    for fake in photo_fakes:
        stem = Path(fake).stem
        copies = [
            (f"{how}@q{quality}", write_copy(FIXTURES / fake, how, folder / f"{stem}-{how}-{quality}.jpg", quality))
            for how, quality in PHOTO_MIX
        ]
        versions.append((fake, False, [("original", FIXTURES / fake), *copies]))
    for fake in video_fakes:
        start, seconds = VIDEO_FAKES[fake]
        original = CLIP
        if seconds is not None:
            part = folder / f"{fake}.mp4"
            original = write_video_copy(CLIP, "reencoded", part, start=start, seconds=seconds, bitrate=PART_BITRATE)
        copies = [
            (
                f"{how}@{rate // 1000}k",
                write_video_copy(original, how, folder / f"{fake}-{how}-{rate}.mp4", bitrate=rate),
            )
            for how, rate in VIDEO_MIX
        ]
        versions.append((fake, True, [("original", original), *copies]))
    uploads = []
    for index, (fake, video, paths) in enumerate(versions):
        for offset, (how, path) in enumerate(paths):
            uploads.append(Upload(fake, how, CHANNELS[(index + offset) % len(CHANNELS)], path, video))
    return uploads


def publish(server: ChannelServer, uploads: list[Upload]) -> None:
    for channel in CHANNELS:
        server.add_channel(channel)
    for upload in uploads:
        media = {"video" if upload.video else "photo": upload.path.read_bytes()}
        server.add_post(upload.channel, f"{upload.fake} ({upload.how})", **media)  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True)
class PipelineRun:
    seconds: float
    face_seconds: float
    analysed: int
    reused: int
    alerts: list[int]
    """Occurrences of each alert."""


def pipeline_run(runtime: Runtime, threads: int) -> PipelineRun:
    for name, photo in PEOPLE_HERE.items():
        enrol_person(runtime, name, photo)
    watch_ids = [add_watch(runtime, channel) for channel in CHANNELS]
    probe = AnalysisProbe(runtime.workers)
    analysis = LocalExecutor(runtime.db_engine, runtime.media_store, probe, runtime.matchers)
    runner = dataclasses.replace(build_watch_runner(runtime), analysis=analysis)
    warm_up(runtime)
    start = time.perf_counter()
    reports = run_watches(runner, watch_ids, threads)
    seconds = time.perf_counter() - start
    errors = [report.error for report in reports if report.error]
    if errors:
        raise RuntimeError(f"watch runs failed: {errors}")
    with Session(runtime.db_engine) as session:
        rows = session.exec(select(MediaAnalysis)).all()
        alerts = [alert.occurrences_count for alert in session.exec(select(Alert))]
    analysed = sum(row.reused_from is None for row in rows)
    return PipelineRun(seconds, probe.seconds, analysed, len(rows) - analysed, sorted(alerts))


@dataclasses.dataclass(frozen=True)
class LoopRun:
    photo_seconds: float
    video_seconds: float
    video_frames: int

    @property
    def seconds(self) -> float:
        return self.photo_seconds + self.video_seconds


def plain_loop(uploads: list[Upload]) -> LoopRun:
    """face_recognition over every file (a video's frames one a second), one after another, against the enrolled
    people's encodings."""
    import face_recognition

    known = [
        face_recognition.face_encodings(face_recognition.load_image_file(FIXTURES / photo))[0]
        for photo in PEOPLE_HERE.values()
    ]
    seconds = {False: 0.0, True: 0.0}
    frames = 0
    for upload in uploads:
        start = time.perf_counter()
        images = video_frames(upload.path) if upload.video else [face_recognition.load_image_file(upload.path)]
        for image in images:
            for encoding in face_recognition.face_encodings(image, face_recognition.face_locations(image)):
                face_recognition.face_distance(known, encoding)
        seconds[upload.video] += time.perf_counter() - start
        frames += len(images) if upload.video else 0
    return LoopRun(seconds[False], seconds[True], frames)


def video_frames(path: Path) -> list:  # type: ignore[type-arg]
    """The first frame and then the first at or after each second, as RGB arrays."""
    import av

    frames, due = [], 0.0
    with av.open(str(path)) as container:
        origin = None
        for frame in container.decode(video=0):
            moment = float(frame.time or 0.0)
            origin = moment if origin is None else origin
            if moment - origin >= due:
                frames.append(frame.to_ndarray(format="rgb24"))
                due = int(moment - origin) + 1.0
    return frames


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="three photo fakes and one video fake")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (default 3); medians are quoted")
    parser.add_argument("--face-workers", type=int, default=1, help="face processes of the service (default 1)")
    parser.add_argument("--threads", type=int, default=4, help="watch runs at once (default 4)")
    args = parser.parse_args(argv)
    photo_fakes = QUICK_PHOTO_FAKES if args.quick else PHOTO_FAKES
    video_fakes = QUICK_VIDEO_FAKES if args.quick else tuple(VIDEO_FAKES)
    fakes = len(photo_fakes) + len(video_fakes)
    runs: list[PipelineRun] = []
    loops: list[LoopRun] = []
    with tempfile.TemporaryDirectory(prefix="impwatch-reuploads-") as folder, ChannelServer() as server:
        uploads = plan_uploads(photo_fakes, video_fakes, Path(folder))
        publish(server, uploads)
        for repeat in range(args.repeats):
            if repeat % 2:
                loops.append(plain_loop(uploads))
            runtime = fresh_runtime(Path(folder) / f"run{repeat}", server.base_url, args.face_workers)
            try:
                runs.append(pipeline_run(runtime, args.threads))
            finally:
                runtime.close()
            if not repeat % 2:
                loops.append(plain_loop(uploads))
    videos = sum(upload.video for upload in uploads)
    print(
        f"{len(photo_fakes)} photo and {len(video_fakes)} video fakes, {len(uploads)} uploads ({videos} videos) on "
        f"{len(CHANNELS)} channels: each fake as it is and {len(PHOTO_MIX)} photo / {len(VIDEO_MIX)} video copies"
    )
    for run, loop in zip(runs, loops, strict=True):
        print(
            f"  pipeline {run.seconds:.2f} s ({run.analysed} analysed, {run.reused} reusing an analysis, face work "
            f"{run.face_seconds:.2f} s summed; {len(run.alerts)} alerts, {sum(run.alerts)} occurrences); "
            f"loop {loop.seconds:.2f} s ({loop.photo_seconds:.2f} s photos, {loop.video_seconds:.2f} s videos of "
            f"{loop.video_frames} frames); ratio {loop.seconds / run.seconds:.2f}x"
        )
    seconds = statistics.median(run.seconds for run in runs)
    loop_seconds = statistics.median(loop.seconds for loop in loops)
    print(f"pipeline ({args.face_workers} face worker, {args.threads} threads): median {seconds:.2f} s")
    print(f"plain face_recognition loop: median {loop_seconds:.2f} s over {len(uploads)} files")
    print(f"ratio: {loop_seconds / seconds:.2f}x (median of each)")
    per_fake = sorted({1 + len(PHOTO_MIX)} if not video_fakes else {1 + len(PHOTO_MIX), 1 + len(VIDEO_MIX)})
    for run in runs:
        expected = sorted([1 + len(PHOTO_MIX)] * len(photo_fakes) + [1 + len(VIDEO_MIX)] * len(video_fakes))
        if run.alerts != expected:
            print(f"FAILED: expected {fakes} alerts with {per_fake} occurrences each, got {run.alerts}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
