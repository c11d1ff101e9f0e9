"""Benchmark: a campaign batch through the watch pipeline, with the sha256 media cache and with it defeated.

A batch is published on one local t.me preview server (`tests.watchers.sources.tme_pages.ChannelServer`): several
channels, photos and short videos from tests/fixtures/, a few albums, text-only posts, and reposts (the same file
posted again in another channel, the usual way a deepfake spreads). Every run gets a fresh SQLite database migrated
by `app.db.upgrade`, a fresh media folder and a fresh `Runtime`; three people are enrolled; one `tme_preview` watch
per channel, its cursor at "0" (a watch already running when the campaign starts, so every post is fetched); then
every watch is run once, in `--threads` threads at the same time (4, the scheduler's pool), through the runner
that `app.scheduling.build_watch_runner` builds.

- **cached**: the normal pipeline. A file whose sha256 was analysed before is not analysed again.
- **uncached**: the same batch and the same runner, except its `MediaStore` deletes the stored analysis (and its
  detections) of each file right after downloading it, in the run's own transaction, so the lookup by sha256 in
  `watchers.analysis.analyse_media` always misses and every media item is analysed. Alerts are keyed by person
  and sha256 and are kept, so a repost still adds an occurrence to the existing alert; the cost is two DELETEs
  per media item (negligible next to face work), committed in a short transaction of their own so that, as in the
  cached mode, no database lock is held while faces are analysed. `media_cached` must be 0 in this mode, and it is
  checked.

The runner's face workers are wrapped to report the face analysis time (summed over analyses) and the most
analyses running at once.

Timed: running the watches (page fetches, downloads, hashing, face work, alerts), from the first run's start to
the last run's end. Not timed: migrations, enrolment, and starting the face worker processes (each loads dlib's
models; a warm-up analysis per worker runs first). Modes alternate (cached first, then uncached first...); medians
of `--repeats` runs are quoted. The script exits 1 when a run fails or when the two modes' alerts differ (person,
sha256 and occurrence count of every alert are compared, not only the count).

    .venv/bin/python -m bench.campaign [--quick] [--repeats N] [--face-workers N] [--threads N] [--repost-share S]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import object_session
from sqlmodel import Session, select

from app import db
from app.alerts.models import Alert
from app.runtime import Runtime
from app.scheduling import build_watch_runner
from app.settings import Settings
from bench.scan_photos import build_looped_video
from tests.factories import enrol_person
from tests.watchers.sources.tme_pages import ChannelServer
from watchers import service
from watchers.analysis import LocalExecutor
from watchers.jobs import RunReport, WatchRunner
from watchers.media_store import Download, MediaStore
from watchers.models import Detection, MediaAnalysis, MediaItem, MediaStatus
from watchers.scanning import FileAnalysis
from watchers.schemas import WatchCreate
from watchers.sources.base import Source
from watchers.workers import FaceWorkers
from watchlist.matcher import Matcher
from watchlist.models import Person

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CLIP = FIXTURES / "short_hamilton_clip.mp4"
LOOPED_CLIP_SECONDS = 18
WARM_UP_PHOTO = FIXTURES / "obama_small.jpg"

CHANNELS = ("kz_news_fake", "daily_leaks", "election_rumours", "politics_now")
PEOPLE = {"Barack Obama": "obama.jpg", "Joe Biden": "biden.jpg", "Kit Harington": "kit1.jpg"}
FULL_PHOTOS = (
    "obama2.jpg",
    "obama4.jpg",
    "obama-480p.jpg",
    "obama_small.jpg",
    "32bit.png",
    "biden2.jpg",
    "two_people.jpg",
    "obama_and_biden.jpg",
    "kit2.jpg",
    "kit3.jpg",
    "kit_with_rose.jpg",
    "rose1.jpg",
    "rose2.jpg",
    "alex1.png",
    "alex2.jpg",
    "lmm1.png",
)
QUICK_PHOTOS = ("obama2.jpg", "biden2.jpg", "two_people.jpg", "kit2.jpg", "rose1.jpg", "alex2.jpg")
TEXTS = (
    "BREAKING: watch before it is deleted",
    "Official statement, share widely",
    "Sign the contract today!",
    "They don't want you to see this",
    "Exclusive interview",
    "",
)
TEXT_ONLY_SHARE = 0.2
ALBUM_CHANCE = 0.3
FORWARD_CHANCE = 0.5
SEED = 20240501
MODES = ("cached", "uncached")


# --- the batch ---


@dataclass(frozen=True)
class Media:
    name: str
    kind: str
    data: bytes


@dataclass(frozen=True)
class PlannedPost:
    channel: str
    text: str
    media: tuple[Media, ...] = ()
    forwarded_from: str | None = None
    repost: bool = False


@dataclass(frozen=True)
class Batch:
    channels: tuple[str, ...]
    posts: tuple[PlannedPost, ...]

    @property
    def media(self) -> list[Media]:
        return [media for post in self.posts for media in post.media]

    @property
    def unique_media(self) -> int:
        return len({media.data for media in self.media})

    def describe(self) -> str:
        kinds = Counter(media.kind for media in self.media)
        text_only = sum(not post.media for post in self.posts)
        albums = sum(len(post.media) > 1 for post in self.posts)
        reposts = sum(len(post.media) for post in self.posts if post.repost)
        top, copies = Counter(media.name for media in self.media).most_common(1)[0]
        return (
            f"{plural(len(self.channels), 'channel')}, {plural(len(self.posts), 'post')} ({text_only} text-only, "
            f"{plural(albums, 'album')}), {plural(len(self.media), 'media item')} ({plural(kinds['photo'], 'photo')}, "
            f"{plural(kinds['video'], 'video')}), {self.unique_media} unique files, {plural(reposts, 'repost')} "
            f"({reposts / len(self.media):.0%} of media items); most spread: {top}, {plural(copies, 'copy', 'copies')}"
        )


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def load_originals(quick: bool, folder: Path) -> list[Media]:
    """The batch's distinct files: fixture photos, the clip, and (full batch) the clip looped to 18 s."""
    photos = [Media(name, "photo", (FIXTURES / name).read_bytes()) for name in (QUICK_PHOTOS if quick else FULL_PHOTOS)]
    videos = [Media(CLIP.name, "video", CLIP.read_bytes())]
    if not quick:
        looped = folder / f"hamilton_looped_{LOOPED_CLIP_SECONDS}s.mp4"
        build_looped_video(CLIP, looped, LOOPED_CLIP_SECONDS)
        videos.append(Media(looped.name, "video", looped.read_bytes()))
    return photos + videos


def plan_batch(originals: list[Media], channels: tuple[str, ...], repost_share: float, rng: random.Random) -> Batch:
    """Originals spread over the channels (some as albums), reposts into other channels, text-only posts."""
    originals = rng.sample(originals, len(originals))
    homes = {media.name: channels[index % len(channels)] for index, media in enumerate(originals)}
    feeds: dict[str, list[PlannedPost]] = {channel: [] for channel in channels}
    for channel in channels:
        feeds[channel] += original_posts(channel, [m for m in originals if homes[m.name] == channel], rng)
    for post in repost_posts(originals, homes, channels, repost_count(len(originals), repost_share), rng):
        feeds[post.channel].append(post)
    media_posts = sum(len(feed) for feed in feeds.values())
    for _ in range(round(media_posts * TEXT_ONLY_SHARE / (1 - TEXT_ONLY_SHARE))):
        channel = rng.choice(channels)
        feeds[channel].append(PlannedPost(channel, f"{rng.choice(TEXTS[:-1])} (text only)"))
    for feed in feeds.values():
        rng.shuffle(feed)
    return Batch(channels, tuple(post for channel in channels for post in feeds[channel]))


def repost_count(originals: int, repost_share: float) -> int:
    """Reposts making `repost_share` of all media items: r / (originals + r) = share."""
    return round(originals * repost_share / (1 - repost_share))


def original_posts(channel: str, media: list[Media], rng: random.Random) -> list[PlannedPost]:
    """One post per file, except that two photos in a row sometimes make an album."""
    posts: list[PlannedPost] = []
    index = 0
    while index < len(media):
        pair = media[index : index + 2]
        album = len(pair) == 2 and all(m.kind == "photo" for m in pair) and rng.random() < ALBUM_CHANCE
        group = tuple(pair if album else pair[:1])
        posts.append(PlannedPost(channel, rng.choice(TEXTS), group))
        index += len(group)
    return posts


def repost_posts(
    originals: list[Media], homes: dict[str, str], channels: tuple[str, ...], count: int, rng: random.Random
) -> list[PlannedPost]:
    """`count` reposts; a few files spread far (weights 1, 1/2, 1/3...), each into a channel not its own."""
    weights = [1 / (rank + 1) for rank in range(len(originals))]
    posts = []
    for media in rng.choices(originals, weights, k=count):
        channel = rng.choice([c for c in channels if c != homes[media.name]])
        forwarded = homes[media.name].replace("_", " ").title() if rng.random() < FORWARD_CHANCE else None
        posts.append(PlannedPost(channel, rng.choice(TEXTS), (media,), forwarded, repost=True))
    return posts


def publish(server: ChannelServer, batch: Batch) -> None:
    for channel in batch.channels:
        server.add_channel(channel)
    for post in batch.posts:
        server.add_post(
            post.channel,
            post.text,
            photos=[media.data for media in post.media if media.kind == "photo"],
            videos=[media.data for media in post.media if media.kind == "video"],
            forwarded_from=post.forwarded_from,
        )


# --- one run ---


class UncachedMediaStore(MediaStore):
    """A media store after which the analysis's lookup by sha256 (`analyse_media`) always misses.

    Right after the download, the stored analysis of the content and its detections are deleted (committed at
    once, in a session of their own), so the file is analysed again. Alerts (keyed by person and sha256) stay, and
    only their `detection_id` is set to NULL by the foreign key; a repost still adds an occurrence to them.
    """

    def fetch(self, source: Source, item: MediaItem) -> Download:
        download = super().fetch(source, item)
        session = object_session(item)
        if not isinstance(session, Session):
            raise RuntimeError("the media item is not attached to the run's session")
        with Session(session.get_bind()) as forget:
            forget.exec(sa.delete(Detection).where(Detection.sha256 == download.sha256))  # type: ignore[arg-type]
            forget.exec(sa.delete(MediaAnalysis).where(MediaAnalysis.sha256 == download.sha256))  # type: ignore[arg-type]
            forget.commit()
        return download


class AnalysisProbe:
    """The runtime's face workers, watched: seconds spent in analyses (summed) and the most running at once."""

    def __init__(self, workers: FaceWorkers) -> None:
        self._workers = workers
        self._lock = threading.Lock()
        self._running = 0
        self.peak = 0
        self.seconds = 0.0

    def analyse(self, path: Path, matcher: Matcher) -> FileAnalysis:
        with self._lock:
            self._running += 1
            self.peak = max(self.peak, self._running)
        start = time.perf_counter()
        try:
            return self._workers.analyse(path, matcher)
        finally:
            with self._lock:
                self._running -= 1
                self.seconds += time.perf_counter() - start


@dataclass(frozen=True)
class Options:
    repeats: int
    face_workers: int
    threads: int


@dataclass(frozen=True)
class RunResult:
    mode: str
    seconds: float
    posts: int
    media: int
    analysed: int
    cached: int
    failed: int
    analysis_seconds: float
    peak_analyses: int
    alerts: tuple[tuple[str, str, int], ...]
    errors: tuple[str, ...]

    @property
    def occurrences(self) -> int:
        return sum(count for _, _, count in self.alerts)

    def line(self) -> str:
        return (
            f"{self.mode:>8}: {self.seconds:6.2f} s, {self.posts} posts, {self.media} media "
            f"({self.analysed} analysed, {self.cached} from cache, {self.failed} failed), "
            f"face analysis {self.analysis_seconds:.2f} s summed, at most {self.peak_analyses} at once, "
            f"{len(self.alerts)} alerts / {self.occurrences} occurrences"
            + (f", ERRORS: {'; '.join(self.errors)}" if self.errors else "")
        )


def run_once(server: ChannelServer, batch: Batch, mode: str, options: Options) -> RunResult:
    with tempfile.TemporaryDirectory(prefix="impwatch-campaign-") as folder:
        runtime = fresh_runtime(Path(folder), server.base_url, options.face_workers)
        try:
            return timed_run(runtime, batch, mode, options.threads)
        finally:
            runtime.close()


def fresh_runtime(folder: Path, tme_base_url: str, face_workers: int) -> Runtime:
    url = f"sqlite:///{folder / 'impwatch.db'}"
    db.upgrade(url)
    settings = Settings(
        data_dir=folder / "data", database_url=url, tme_base_url=tme_base_url, face_workers=face_workers
    )
    return Runtime.from_settings(settings)


def timed_run(runtime: Runtime, batch: Batch, mode: str, threads: int) -> RunResult:
    for name, photo in PEOPLE.items():
        enrol_person(runtime, name, photo)
    watch_ids = [add_watch(runtime, channel) for channel in batch.channels]
    probe = AnalysisProbe(runtime.workers)
    runner = build_runner(runtime, mode, probe)
    warm_up(runtime)
    start = time.perf_counter()
    reports = run_watches(runner, watch_ids, threads)
    seconds = time.perf_counter() - start
    return collect(runtime, mode, seconds, reports, probe)


def add_watch(runtime: Runtime, channel: str) -> uuid.UUID:
    """A watch of the channel whose cursor is at message 0, so that its one run takes every post."""
    with Session(runtime.db_engine) as session:
        data = WatchCreate.model_validate({"source": {"kind": "tme_preview", "channel": channel}})
        watch = service.create_watch(session, data, runtime.watch_intervals)
        watch.cursor = "0"
        session.add(watch)
        session.commit()
        return watch.id


def build_runner(runtime: Runtime, mode: str, probe: AnalysisProbe) -> WatchRunner:
    """The service's runner, its face workers watched by `probe`; in the uncached mode, its store never reuses."""
    analysis = LocalExecutor(runtime.db_engine, runtime.media_store, probe, runtime.matchers)
    runner = dataclasses.replace(build_watch_runner(runtime), analysis=analysis)
    if mode == "cached":
        return runner
    store = runner.media_store
    fields = {field.name: getattr(store, field.name) for field in dataclasses.fields(store)}
    return dataclasses.replace(runner, media_store=UncachedMediaStore(**fields))


def warm_up(runtime: Runtime) -> None:
    """Build the matcher and start every face worker process (each loads dlib's models) before the clock starts."""
    with Session(runtime.db_engine) as session:
        matcher = runtime.matchers.get(session)
    workers = max(1, runtime.settings.face_workers)
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: runtime.workers.analyse(WARM_UP_PHOTO, matcher), range(workers)))


def run_watches(runner: WatchRunner, watch_ids: list[uuid.UUID], threads: int) -> list[RunReport]:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(runner.run, watch_ids))


def collect(runtime: Runtime, mode: str, seconds: float, reports: list[RunReport], probe: AnalysisProbe) -> RunResult:
    with Session(runtime.db_engine) as session:
        done = select(sa.func.count()).select_from(MediaItem).where(MediaItem.status == MediaStatus.DONE)
        alerts = session.exec(
            select(Person.display_name, Alert.subject_key, Alert.occurrences_count).join(
                Person, Person.id == Alert.person_id
            )
        )
        return RunResult(
            mode=mode,
            seconds=seconds,
            posts=sum(report.posts_stored for report in reports),
            media=session.exec(done).one(),
            analysed=sum(report.media_analysed for report in reports),
            cached=sum(report.media_cached for report in reports),
            failed=sum(report.media_failed for report in reports),
            analysis_seconds=probe.seconds,
            peak_analyses=probe.peak,
            alerts=tuple(sorted((name, sha256, count) for name, sha256, count in alerts.all())),
            errors=tuple(report.error for report in reports if report.error),
        )


# --- the benchmark ---


def bench(batch: Batch, options: Options) -> dict[str, list[RunResult]]:
    """Every mode `repeats` times, alternating which runs first, on one server publishing the batch."""
    results: dict[str, list[RunResult]] = {mode: [] for mode in MODES}
    with ChannelServer() as server:
        publish(server, batch)
        for repeat in range(options.repeats):
            for mode in MODES if repeat % 2 == 0 else MODES[::-1]:
                result = run_once(server, batch, mode, options)
                print(f"run {repeat + 1}/{options.repeats} {result.line()}", flush=True)
                results[mode].append(result)
    return results


@dataclass(frozen=True)
class ModeSummary:
    seconds: float
    posts: int
    media: int
    analysed: float
    cached: float
    analysis_seconds: float
    peak_analyses: int
    alerts: int
    occurrences: int

    @classmethod
    def of(cls, results: list[RunResult]) -> ModeSummary:
        first = results[0]
        return cls(
            seconds=statistics.median(r.seconds for r in results),
            posts=first.posts,
            media=first.media,
            analysed=statistics.median(r.analysed for r in results),
            cached=statistics.median(r.cached for r in results),
            analysis_seconds=statistics.median(r.analysis_seconds for r in results),
            peak_analyses=max(r.peak_analyses for r in results),
            alerts=len(first.alerts),
            occurrences=first.occurrences,
        )

    @property
    def posts_per_minute(self) -> float:
        return self.posts / self.seconds * 60

    @property
    def media_per_minute(self) -> float:
        return self.media / self.seconds * 60


def problems(batch: Batch, results: dict[str, list[RunResult]]) -> list[str]:
    """Run errors, incomplete runs, cache hits in the uncached mode, and alerts that differ between runs."""
    everything = [result for runs in results.values() for result in runs]
    posts, media = len(batch.posts), len(batch.media)
    found = [f"{r.mode}: {error}" for r in everything for error in r.errors]
    found += [f"{r.mode}: {r.posts} of {posts} posts stored" for r in everything if r.posts != posts]
    found += [f"{r.mode}: {r.media} of {media} media done" for r in everything if r.media != media]
    found += [f"uncached: {r.cached} cache hits" for r in results["uncached"] if r.cached]
    if len({result.alerts for result in everything}) > 1:
        found.append("the alerts differ between runs: " + ", ".join(f"{r.mode} {len(r.alerts)}" for r in everything))
    return found


def summary_table(batch: Batch, options: Options, cached: ModeSummary, uncached: ModeSummary) -> list[str]:
    def row(label: str, fmt: str, key: str) -> str:
        return f"| {label} | {fmt.format(getattr(cached, key))} | {fmt.format(getattr(uncached, key))} |"

    return [
        f"Campaign batch: {batch.describe()}.",
        f"SQLite, {options.face_workers} face worker processes, the watches run in {options.threads} threads at "
        f"once; medians of {options.repeats} runs, each on a fresh database.",
        "",
        "| Campaign batch | With the sha256 cache | Cache defeated |",
        "|---|---|---|",
        row("Wall time", "{:.2f} s", "seconds"),
        row("Posts", "{}", "posts"),
        row("Media items", "{}", "media"),
        f"| Unique media | {batch.unique_media} | {batch.unique_media} |",
        row("Posts per minute", "{:.1f}", "posts_per_minute"),
        row("Media per minute", "{:.1f}", "media_per_minute"),
        row("Media analysed", "{:g}", "analysed"),
        row("Media from the cache", "{:g}", "cached"),
        row("Face analysis time, summed", "{:.2f} s", "analysis_seconds"),
        row("Most analyses at once", "{}", "peak_analyses"),
        row("Alerts", "{}", "alerts"),
        row("Alert occurrences", "{}", "occurrences"),
        "",
        f"Speed ratio cached / uncached (media per minute): **{uncached.seconds / cached.seconds:.2f}**",
    ]


def report(batch: Batch, options: Options, results: dict[str, list[RunResult]]) -> int:
    cached, uncached = ModeSummary.of(results["cached"]), ModeSummary.of(results["uncached"])
    print("\n## Summary\n")
    print("\n".join(summary_table(batch, options, cached, uncached)))
    found = problems(batch, results)
    for problem in found:
        print(f"FAIL: {problem}")
    if not found:
        print("\nAlerts identical in every run (person, sha256 and occurrence count of each alert).")
    return 1 if found else 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    defaults = Settings.model_fields
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller batch: 6 photos and the 9 s clip")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each mode, fresh database each (default 3)")
    parser.add_argument(
        "--face-workers",
        type=int,
        default=defaults["face_workers"].default,
        help="face worker processes (default: the setting's default, %(default)s)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=defaults["scheduler_threads"].default,
        help="watches run at once, like the scheduler's thread pool (default %(default)s; 1 runs them in turn)",
    )
    parser.add_argument("--repost-share", type=float, default=0.5, help="reposts / media items (default 0.5)")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    if not 0 <= args.repost_share < 1 or args.repeats < 1:
        raise SystemExit("--repost-share must be in [0, 1) and --repeats at least 1")
    options = Options(repeats=args.repeats, face_workers=args.face_workers, threads=args.threads)
    with tempfile.TemporaryDirectory(prefix="impwatch-campaign-media-") as folder:
        originals = load_originals(args.quick, Path(folder))
    batch = plan_batch(originals, CHANNELS, args.repost_share, random.Random(SEED))
    print(f"Campaign batch: {batch.describe()}", flush=True)
    return report(batch, options, bench(batch, options))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
