"""Benchmark: a campaign of re-uploaded fakes through the watch pipeline, against a plain face_recognition loop.

Each fake (a fixture photo of one enrolled person) is posted once as it is and re-uploaded four ways, each copy on
another channel: re-compressed as JPEG at quality 60, resized to 0.75, cropped 5%, watermarked
(`tests.media_copies`). The batch is published on a local t.me preview server and read by one `tme_preview` watch
per channel, run at once in `--threads` threads through the service's runner (`app.scheduling`), on a fresh
SQLite database and a fresh `Runtime` with `--face-workers` face processes, as `bench/campaign.py` does. The
perceptual clusters (`watchers.perceptual`) should analyse each fake and its edited copies, reuse the analysis for
its re-encodes, and raise one alert per fake with an occurrence per copy.

The baseline, in the same run: a plain loop over the same files that any script would write with face_recognition
(load, HOG face locations, encodings, distances to the enrolled encodings), one file after another.

Timed: running the watches, from the first run's start to the last run's end (page fetches, downloads, hashing,
face work, alerts), and the loop over every file. Not timed: migrations, enrolment, starting the face workers.
Exits 1 when a run fails or when alerts and occurrences are not one per fake and one per copy.

    .venv/bin/python -m bench.campaign_reuploads [--quick] [--face-workers N] [--threads N]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sqlmodel import Session, select

from app.alerts.models import Alert
from app.runtime import Runtime
from app.scheduling import build_watch_runner
from bench.campaign import FIXTURES, PEOPLE, AnalysisProbe, add_watch, fresh_runtime, run_watches, warm_up
from tests.factories import enrol_person
from tests.media_copies import COPIES, write_copy
from tests.watchers.sources.tme_pages import ChannelServer
from watchers.analysis import LocalExecutor
from watchers.models import MediaAnalysis

FAKES = ("obama2.jpg", "obama4.jpg", "biden2.jpg", "kit2.jpg", "kit3.jpg", "obama_small.jpg")
QUICK_FAKES = FAKES[:3]
CHANNELS = ("kz_news_fake", "daily_leaks", "election_rumours", "politics_now", "akim_watch")


@dataclasses.dataclass(frozen=True)
class Upload:
    fake: str
    how: str
    channel: str
    path: Path


def plan_uploads(fakes: Sequence[str], folder: Path) -> list[Upload]:
    """Each fake as it is on one channel and its four copies on the next four."""
    uploads = []
    for index, fake in enumerate(fakes):
        versions = [("original", FIXTURES / fake)] + [
            (how, write_copy(FIXTURES / fake, how, folder / f"{Path(fake).stem}-{how}.jpg")) for how in COPIES
        ]
        for offset, (how, path) in enumerate(versions):
            uploads.append(Upload(fake, how, CHANNELS[(index + offset) % len(CHANNELS)], path))
    return uploads


def publish(server: ChannelServer, uploads: list[Upload]) -> None:
    for channel in CHANNELS:
        server.add_channel(channel)
    for upload in uploads:
        server.add_post(upload.channel, f"{upload.fake} ({upload.how})", photo=upload.path.read_bytes())


def pipeline_run(runtime: Runtime, threads: int) -> tuple[float, float, int, int, list[tuple[str, int]]]:
    """Seconds, seconds of face work (summed), face analyses, analyses reused, and (person, occurrences) per
    alert."""
    for name, photo in PEOPLE.items():
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
        alerts = [(str(alert.person_id), alert.occurrences_count) for alert in session.exec(select(Alert))]
    analysed = sum(row.reused_from is None for row in rows)
    return seconds, probe.seconds, analysed, len(rows) - analysed, alerts


def plain_loop(uploads: list[Upload]) -> float:
    """face_recognition over every file, one after another, against the enrolled people's encodings."""
    import face_recognition

    known = [
        face_recognition.face_encodings(face_recognition.load_image_file(FIXTURES / p))[0] for p in PEOPLE.values()
    ]
    start = time.perf_counter()
    for upload in uploads:
        image = face_recognition.load_image_file(upload.path)
        for encoding in face_recognition.face_encodings(image, face_recognition.face_locations(image)):
            face_recognition.face_distance(known, encoding)
    return time.perf_counter() - start


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{len(QUICK_FAKES)} fakes instead of {len(FAKES)}")
    parser.add_argument("--face-workers", type=int, default=1, help="face processes of the service (default 1)")
    parser.add_argument("--threads", type=int, default=4, help="watch runs at once (default 4)")
    args = parser.parse_args(argv)
    fakes = QUICK_FAKES if args.quick else FAKES
    with tempfile.TemporaryDirectory(prefix="impwatch-reuploads-") as folder, ChannelServer() as server:
        uploads = plan_uploads(fakes, Path(folder))
        publish(server, uploads)
        runtime = fresh_runtime(Path(folder) / "run", server.base_url, args.face_workers)
        try:
            seconds, face_seconds, analysed, reused, alerts = pipeline_run(runtime, args.threads)
        finally:
            runtime.close()
        loop_seconds = plain_loop(uploads)
    occurrences = sum(count for _, count in alerts)
    print(
        f"{len(fakes)} fakes, {len(uploads)} uploads on {len(CHANNELS)} channels ({', '.join(['original', *COPIES])})"
    )
    print(
        f"pipeline ({args.face_workers} face worker, {args.threads} threads): {seconds:.2f} s, {analysed} analysed, "
        f"{reused} reusing an analysis (face work {face_seconds:.2f} s summed); {len(alerts)} alerts, "
        f"{occurrences} occurrences"
    )
    print(f"plain face_recognition loop: {loop_seconds:.2f} s over {len(uploads)} files")
    print(f"ratio: {loop_seconds / seconds:.2f}x")
    expected = (len(fakes), len(uploads))
    if (len(alerts), occurrences) != expected or any(count != len(COPIES) + 1 for _, count in alerts):
        print(f"FAILED: expected {expected[0]} alerts with {len(COPIES) + 1} occurrences each, got {alerts}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
