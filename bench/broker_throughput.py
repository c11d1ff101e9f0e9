"""Benchmark: face analyses per second through the broker (RabbitMQ), with one and with two
`impwatch worker --queues analyse` processes on this machine, each with one thread and its face work in-process
(`IMPWATCH_FACE_WORKERS=0`, so one process uses one core).

Every run starts its workers afresh on its own queues, warms each one up (imports, dlib's models, the matcher) with
one analysis of its own, then enqueues the same `--items` distinct photos (mirrored and cropped variants of the
fixture photos, chosen so that no two are near copies: each is analysed, none reuses another's analysis) and times
from the first message sent to the last analysis stored. Runs alternate one worker, two workers, `--repeats` times;
medians are printed, and the ratio two/one, with the workers' CPU seconds per analysis (which, unlike the rate,
hardly moves with what else loads the machine: equal CPU per analysis with two workers means the broker adds no
work, and two free cores give twice the rate).

    .venv/bin/python -m bench.broker_throughput [--items 48] [--repeats 3] [--broker-url amqp://...]

Exits 1 when the ratio is under `--min-ratio` (default 0: report only; the goal on 2 cores is 1.8).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from PIL import Image, ImageOps
from sqlmodel import Session, select

from app import db
from app.queue.broker import ANALYSE, QUEUES
from app.runtime import Runtime
from app.settings import Settings
from tests.factories import enrol_person
from watchers.media_store import MediaStore
from watchers.models import Detection, MediaAnalysis
from watchers.perceptual import REUSE_DISTANCE, distance, photo_hash

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
PHOTOS = (
    "obama2.jpg",
    "obama4.jpg",
    "obama-480p.jpg",
    "biden2.jpg",
    "kit1.jpg",
    "kit2.jpg",
    "kit3.jpg",
    "rose1.jpg",
    "rose2.jpg",
    "alex2.jpg",
    "obama_and_biden.jpg",
    "two_people.jpg",
    "kit_with_rose.jpg",
)
MAX_SIDE = 1024


def variants(photo: Path) -> list[bytes]:
    """The photo, mirrored, and four 85% crops of each, at most MAX_SIDE pixels a side, as JPEG."""
    with Image.open(photo) as opened:
        image = opened.convert("RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    out = []
    for base in (image, ImageOps.mirror(image)):
        width, height = base.size
        crop_w, crop_h = int(width * 0.85), int(height * 0.85)
        boxes = [None, (0, 0, crop_w, crop_h), (width - crop_w, height - crop_h, width, height)]
        for box in boxes:
            buffer = io.BytesIO()
            (base.crop(box) if box else base).save(buffer, "JPEG", quality=90)
            out.append(buffer.getvalue())
    return out


def distinct_photos(store: MediaStore, workdir: Path, count: int) -> list[str]:
    """`count` photos no two of which are near copies (perceptual distance above the reuse threshold), put in the
    media store; their sha256s."""
    import hashlib

    chosen: list[tuple[str, str]] = []
    for name in PHOTOS:
        for content in variants(FIXTURES / name):
            candidate = workdir / "candidate.jpg"
            candidate.write_bytes(content)
            phash = photo_hash(candidate)
            if phash is None or any(distance(phash, other) <= REUSE_DISTANCE for _, other in chosen):
                continue
            sha256 = hashlib.sha256(content).hexdigest()
            target = store.path_of(sha256)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            chosen.append((sha256, phash))
            if len(chosen) == count:
                return [sha for sha, _ in chosen]
    raise SystemExit(f"only {len(chosen)} distinct photos could be made; ask for fewer --items")


def stored(engine: sa.Engine, hashes: list[str]) -> int:
    with Session(engine) as session:
        return session.exec(
            select(sa.func.count()).select_from(MediaAnalysis).where(sa.column("sha256").in_(hashes))
        ).one()


def forget(engine: sa.Engine) -> None:
    with Session(engine) as session:
        session.exec(sa.delete(Detection))
        session.exec(sa.delete(MediaAnalysis))
        session.commit()


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.02)


def start_workers(count: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen[bytes]]:
    workers = []
    for index in range(count):
        log = (logs / f"worker-{uuid.uuid4().hex[:6]}-{index}.log").open("wb")
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker", "--queues", ANALYSE, "--threads", "1"],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return workers


def cpu_seconds(processes: list[subprocess.Popen[bytes]]) -> float:
    """User and system time the worker processes have used so far."""
    import psutil

    return sum(sum(psutil.Process(process.pid).cpu_times()[:2]) for process in processes)


def one_run(
    workers: int, settings: Settings, runtime: Runtime, items: list[str], warm: list[str], logs: Path
) -> tuple[float, float]:
    """Analyses per second with `workers` processes, and the workers' CPU seconds per analysis; the queues of the
    run are deleted after it."""
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("IMPWATCH_")},
        "PYTHONPATH": str(ROOT),
        "IMPWATCH_DATA_DIR": str(settings.data_dir),
        "IMPWATCH_DATABASE_URL": settings.resolved_database_url,
        "IMPWATCH_BROKER_URL": settings.broker_url,
        "IMPWATCH_BROKER_QUEUE_PREFIX": prefix,
        "IMPWATCH_FACE_WORKERS": "0",
        "IMPWATCH_WORKER_METRICS_PORT": "0",
    }
    from app.queue.broker import TaskQueue

    queue = TaskQueue.from_settings(settings.model_copy(update={"broker_queue_prefix": prefix}))
    forget(runtime.db_engine)
    processes = start_workers(workers, env, logs)
    try:
        for sha256 in warm[:workers]:
            queue.send_analysis(sha256)
        wait_until(lambda: stored(runtime.db_engine, warm[:workers]) == workers, 120, "the warm-up analyses")
        started, cpu_before = time.perf_counter(), cpu_seconds(processes)
        for sha256 in items:
            queue.send_analysis(sha256)
        wait_until(lambda: stored(runtime.db_engine, items) == len(items), 600, "the analyses")
        elapsed, cpu = time.perf_counter() - started, cpu_seconds(processes) - cpu_before
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
        _delete_queues(settings.broker_url, prefix)
        queue.close()
    with Session(runtime.db_engine) as session:
        reused = session.exec(
            select(sa.func.count()).select_from(MediaAnalysis).where(sa.column("reused_from").is_not(None))
        ).one()
    if reused:
        raise SystemExit(f"{reused} items reused another's analysis: the photos are not distinct enough")
    return len(items) / elapsed, cpu / len(items)


def _delete_queues(broker_url: str, prefix: str) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        channel = connection.channel()
        for name in QUEUES:
            for suffix in ("", ".DQ", ".XQ"):
                channel.queue_delete(f"{prefix}{name}{suffix}")
    finally:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--broker-url", default="amqp://guest:guest@127.0.0.1:5672/%2F", help="RabbitMQ")
    parser.add_argument("--min-ratio", type=float, default=0.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="broker-bench-") as folder:
        workdir = Path(folder)
        settings = Settings(data_dir=workdir / "data", broker_url=args.broker_url, face_workers=0, keep_media=True)
        db.upgrade(settings.resolved_database_url)
        runtime = Runtime.from_settings(settings)
        enrol_person(runtime, "Barack Obama", "obama.jpg")
        enrol_person(runtime, "Joe Biden", "biden.jpg")
        photos = distinct_photos(runtime.media_store, workdir, args.items + 2)
        warm, items = photos[:2], photos[2:]
        rates: dict[int, list[float]] = {1: [], 2: []}
        cpu: dict[int, list[float]] = {1: [], 2: []}
        print(f"{len(items)} distinct photos (<= {MAX_SIDE} px), {os.cpu_count()} cores; load: {os.getloadavg()}")
        for repeat in range(args.repeats):
            for workers in (1, 2) if repeat % 2 == 0 else (2, 1):
                rate, per_item = one_run(workers, settings, runtime, items, warm, workdir)
                rates[workers].append(rate)
                cpu[workers].append(per_item)
                print(
                    f"  run {repeat + 1}, {workers} worker(s): {rate:.2f} analyses/s, "
                    f"{per_item:.3f} CPU s per analysis (load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
        runtime.close()
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    print(f"median, 1 worker process:  {one:.2f} analyses/s, {statistics.median(cpu[1]):.3f} CPU s per analysis")
    print(f"median, 2 worker processes: {two:.2f} analyses/s, {statistics.median(cpu[2]):.3f} CPU s per analysis")
    print(f"ratio two/one: {two / one:.2f}x (load average after: {os.getloadavg()})")
    return 0 if two / one >= args.min_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
