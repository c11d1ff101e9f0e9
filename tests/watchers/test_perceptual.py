"""Perceptual clusters: a re-upload of a fake is recognised although its bytes differ. A re-encode (JPEG quality 60,
resized to 0.75; a video at another bit rate) shares the analysis of the photo or video it copies, no face work; an
edited copy (cropped 5%) is analysed but raises no second alert; another photo of the same person, or another clip
of the same scene, is a subject of its own, as before clusters.

The distances below are measured on the sample photos and on clips of the sample video (also in the README,
"Perceptual clusters")."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from sqlmodel import Session, select

from app.alerts.models import Alert, AlertOccurrence
from app.alerts.service import cluster_of, record_detections
from app.runtime import Runtime
from core.clock import utcnow
from tests.factories import enrol_person
from tests.media_copies import EDITS, REENCODES, VIDEO_COPIES, VIDEO_REENCODES, write_copy, write_video_copy
from tests.support import FIXTURES, fixture_bytes
from tests.watchers.test_media_store import OneFileSource
from watchers import pipeline
from watchers.analysis import LocalExecutor, photo_lookup
from watchers.models import MediaAnalysis, MediaItem, Post, Watch
from watchers.perceptual import (
    CLUSTER_DISTANCE,
    REUSE_DISTANCE,
    VIDEO_REUSE_FRAME_DISTANCE,
    PhotoHashIndex,
    distance,
    media_hash,
    photo_hash,
    video_gap,
    video_hash,
)
from watchers.scanning import FileAnalysis
from watchlist.matcher import Matcher

SAMPLES = sorted(path for path in FIXTURES.iterdir() if path.suffix in {".jpg", ".png"})
SAME_PICTURE = {frozenset({"32bit.png", "obama2.jpg"}), frozenset({"obama-480p.jpg", "obama.jpg"})}
"""Fixtures that are one picture saved twice (with an alpha channel; scaled to 480p and pillarboxed)."""


def copy_distances(tmp_path: Path, copies: tuple[str, ...]) -> dict[tuple[str, str], int]:
    distances = {}
    for sample in SAMPLES:
        original = photo_hash(sample)
        for how in copies:
            copied = photo_hash(write_copy(sample, how, tmp_path / f"{sample.stem}-{how}.jpg"))
            assert original is not None and copied is not None
            distances[sample.name, how] = distance(original, copied)
    return distances


def test_a_re_encode_is_near_identical_and_an_edit_stays_within_the_cluster(tmp_path: Path) -> None:
    reencodes = copy_distances(tmp_path, REENCODES)
    edits = copy_distances(tmp_path, EDITS)
    assert max(reencodes.values()) == 3 <= REUSE_DISTANCE
    assert max(edits.values()) == 15 <= CLUSTER_DISTANCE
    # a banner over 3% of the picture moves few bits: most watermarked copies are re-encodes by the hash (reused)
    assert max(distance for (_, how), distance in edits.items() if how == "watermarked") == 7
    assert min(distance for (_, how), distance in edits.items() if how == "cropped_5") == 4


def test_different_pictures_even_of_the_same_person_are_far_apart() -> None:
    hashes = {sample.name: photo_hash(sample) for sample in SAMPLES}
    apart = {
        frozenset({first, second}): distance(hashes[first] or "", hashes[second] or "")
        for first, second in itertools.combinations(hashes, 2)
        if frozenset({first, second}) not in SAME_PICTURE
    }
    assert min(apart.values()) == 21 > CLUSTER_DISTANCE
    same_person = [pair for pair in apart if len({name[:3] for name in pair}) == 1]
    assert len(same_person) >= 8  # obama*, kit*, biden*, alex*, rose*
    assert min(apart[pair] for pair in same_person) == 23  # kit1.jpg and kit_with_rose.jpg


def test_a_video_gets_a_sequence_and_a_file_that_is_no_picture_no_hash(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a picture")
    assert photo_hash(FIXTURES / "short_hamilton_clip.mp4") is None
    assert photo_hash(tmp_path / "notes.txt") is None and media_hash(tmp_path / "notes.txt") is None
    assert video_hash(FIXTURES / "obama.jpg") is None
    clip = media_hash(FIXTURES / "short_hamilton_clip.mp4")
    assert clip is not None and clip.kind == "video" and len(clip.value) == 19 * 16  # 9.2 s, two frames a second


CLIP = FIXTURES / "short_hamilton_clip.mp4"
SCENES = {"first": (4.0, 4.0), "second": (0.0, 4.0)}
"""Two 4-second parts of the sample clip (the same stage and person), each the 'original' of its copies; Lin-Manuel
Miranda is matched clearly in the first (at 5 s), barely in the second."""
ORIGINAL_BITRATE = 400_000
"""The originals are posted at about the sample's bit rate; their copies at `VIDEO_BITRATE` (250 kbit/s)."""


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Each scene as first posted (`original`) and copied four ways, and three 3-second clips cut from other parts
    of the sample (different videos)."""
    folder = tmp_path_factory.mktemp("clips")
    made = {}
    for scene, (start, seconds) in SCENES.items():
        cut = partial(write_video_copy, CLIP, start=start, seconds=seconds)
        made[scene, "original"] = cut("reencoded", folder / f"{scene}.mp4", bitrate=ORIGINAL_BITRATE)
        for how in VIDEO_COPIES:
            made[scene, how] = cut(how, folder / f"{scene}-{how}.mp4")
    for start in (0.0, 3.0, 6.0):
        made["cut", str(start)] = write_video_copy(
            CLIP, "reencoded", folder / f"cut{start}.mp4", start=start, seconds=3
        )
    return made


def test_a_video_re_encode_is_near_identical_and_an_edit_stays_within_the_cluster(
    clips: dict[tuple[str, str], Path], tmp_path: Path
) -> None:
    whole = video_gap(video_hash(CLIP) or "", video_hash(write_video_copy(CLIP, "reencoded", tmp_path / "w.mp4")) or "")
    gaps = {
        (scene, how): video_gap(video_hash(clips[scene, "original"]) or "", video_hash(clips[scene, how]) or "")
        for scene in SCENES
        for how in VIDEO_COPIES
    }
    # the same copy encoded twice in one process is not byte-identical, so the measured figures move by half a bit
    # between runs: the bounds below hold the range seen over repeated runs (README "Perceptual clusters").
    assert whole is not None and whole.reusable and whole.distance <= 1.0
    reencodes = [gap for (_, how), gap in gaps.items() if how in VIDEO_REENCODES]
    assert all(gap is not None and gap.reusable for gap in reencodes)
    assert max(gap.distance for gap in reencodes if gap) <= 2.0 < REUSE_DISTANCE
    assert max(gap.worst for gap in reencodes if gap) <= VIDEO_REUSE_FRAME_DISTANCE
    crops = [gaps[scene, "cropped_5"] for scene in SCENES]
    assert all(gap and 8.0 <= gap.distance <= 13.0 and gap.clusters and not gap.reusable for gap in crops)
    # a corner banner moves few bits: a watermarked copy may count as a re-encode (reused) or be analysed
    watermarks = [gaps[scene, "watermarked"] for scene in SCENES]
    assert all(gap and gap.distance <= 5.0 and gap.clusters for gap in watermarks)


def test_different_clips_of_the_same_scene_are_far_apart(clips: dict[tuple[str, str], Path]) -> None:
    cuts = [video_hash(clips["cut", str(start)]) or "" for start in (0.0, 3.0, 6.0)]
    pairs = [*itertools.combinations(cuts, 2), (video_hash(clips["first", "original"]) or "", cuts[0])]
    gaps = [video_gap(first, second) for first, second in pairs]
    assert all(gap is not None for gap in gaps)
    assert min(gap.distance for gap in gaps if gap) >= 24.0 > CLUSTER_DISTANCE
    # a 3-second clip and the 9-second video it was cut from are never compared (lengths differ)
    assert video_gap(video_hash(CLIP) or "", cuts[0]) is None


class CountingFaces:
    """The runtime's face analysis, counting the files it analysed."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.analysed: list[str] = []

    def analyse(self, path: Path, matcher: Matcher) -> FileAnalysis:
        self.analysed.append(path.name)
        return self.runtime.workers.analyse(path, matcher)


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime()


def post_media(runtime: Runtime, faces: CountingFaces, channel: str, data: bytes, kind: str = "photo") -> MediaItem:
    """Post one photo (or video) on a channel of its own and run it through the pipeline with the real alerts
    hook."""
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        watch = Watch(kind="folder", target=f"/tmp/{channel}", config={})
        post = Post(
            watch_id=watch.id, channel=channel, message_id=1, permalink=f"file:///{channel}", posted_at=utcnow()
        )
        item = MediaItem(post_id=post.id, kind=kind, locator=f"{channel}.{'jpg' if kind == 'photo' else 'mp4'}")
        for row in (watch, post, item):
            session.add(row)
            session.flush()
        session.commit()  # as a watch run does: no write is held while the media is analysed
        executor = LocalExecutor(runtime.db_engine, runtime.media_store, faces, runtime.matchers)
        hook = partial(record_detections, public_base_url="http://impwatch.test")
        outcome = pipeline.process_media(
            session,
            item,
            post,
            OneFileSource(data),
            runtime.media_store,
            executor,
            hook,
            max_attempts=3,  # type: ignore[arg-type]
        )
        session.commit()
    assert outcome.label in {"analysed", "cached"}, outcome
    return item


def copy_bytes(name: str, how: str, folder: Path) -> bytes:
    return write_copy(FIXTURES / name, how, folder / f"{how}.jpg").read_bytes()


def alerts_and_occurrences(runtime: Runtime) -> list[tuple[str, int, int]]:
    with Session(runtime.db_engine) as session:
        alerts = session.exec(select(Alert).order_by(Alert.created_at)).all()
        return [
            (
                alert.subject_key,
                alert.occurrences_count,
                len(session.exec(select(AlertOccurrence).where(AlertOccurrence.alert_id == alert.id)).all()),
            )
            for alert in alerts
        ]


def test_re_encodes_share_the_analysis_and_add_occurrences_to_the_one_alert(runtime: Runtime, tmp_path: Path) -> None:
    enrol_person(runtime, "Barack Obama", "obama2.jpg")
    faces = CountingFaces(runtime)
    first = post_media(runtime, faces, "kz_news_fake", fixture_bytes("obama.jpg"))
    assert first.sha256 is not None and len(faces.analysed) == 1

    for channel, how in (("daily_leaks", "jpeg_q60"), ("politics_now", "resized_075")):
        copy = post_media(runtime, faces, channel, copy_bytes("obama.jpg", how, tmp_path))
        assert copy.sha256 != first.sha256

    assert len(faces.analysed) == 1  # no face work for either re-encode
    assert alerts_and_occurrences(runtime) == [(first.sha256, 3, 3)]
    with Session(runtime.db_engine) as session:
        rows = session.exec(select(MediaAnalysis).order_by(MediaAnalysis.analysed_at)).all()
    assert [(row.cluster, row.reused_from) for row in rows] == [(first.sha256, None)] + [
        (first.sha256, first.sha256)
    ] * 2


def test_an_edited_copy_is_analysed_but_joins_the_alert(runtime: Runtime, tmp_path: Path) -> None:
    enrol_person(runtime, "Barack Obama", "obama2.jpg")
    faces = CountingFaces(runtime)
    first = post_media(runtime, faces, "kz_news_fake", fixture_bytes("obama.jpg"))
    cropped = post_media(runtime, faces, "daily_leaks", copy_bytes("obama.jpg", "cropped_5", tmp_path))

    assert len(faces.analysed) == 2
    assert alerts_and_occurrences(runtime) == [(first.sha256, 2, 2)]
    with Session(runtime.db_engine) as session:
        row = session.get(MediaAnalysis, cropped.sha256)
    assert row is not None and (row.cluster, row.reused_from, row.faces_found) == (first.sha256, None, 1)


def test_another_photo_of_the_same_person_is_an_alert_of_its_own(runtime: Runtime) -> None:
    enrol_person(runtime, "Barack Obama", "obama2.jpg")
    faces = CountingFaces(runtime)
    first = post_media(runtime, faces, "kz_news_fake", fixture_bytes("obama.jpg"))
    other = post_media(runtime, faces, "daily_leaks", fixture_bytes("obama4.jpg"))

    assert len(faces.analysed) == 2
    assert alerts_and_occurrences(runtime) == [(first.sha256, 1, 1), (other.sha256, 1, 1)]


def post_two_clips(runtime: Runtime, first: Path, then: Path) -> tuple[CountingFaces, MediaItem, MediaItem]:
    """Lin-Manuel Miranda enrolled, `first` posted on one channel and `then` on another; the face work counted."""
    enrol_person(runtime, "Lin-Manuel Miranda", "lmm1.png")
    faces = CountingFaces(runtime)
    posted = [
        post_media(runtime, faces, channel, path.read_bytes(), kind="video")
        for channel, path in (("kz_news_fake", first), ("daily_leaks", then))
    ]
    return faces, posted[0], posted[1]


def test_a_re_encoded_video_reuses_the_analysis_and_extends_the_alert(
    runtime: Runtime, clips: dict[tuple[str, str], Path]
) -> None:
    faces, first, copy = post_two_clips(runtime, clips["first", "original"], clips["first", "reencoded"])  # 250 kbit/s

    assert len(faces.analysed) == 1 and first.sha256 != copy.sha256  # no face work for the re-encode
    assert alerts_and_occurrences(runtime) == [(first.sha256, 2, 2)]
    with Session(runtime.db_engine) as session:
        original, reused = session.get(MediaAnalysis, first.sha256), session.get(MediaAnalysis, copy.sha256)
        cluster = cluster_of(session, session.exec(select(Alert)).one())
    assert original is not None and reused is not None
    assert (original.cluster, original.reused_from, original.vhash_samples) == (first.sha256, None, 8)
    assert (reused.kind, reused.cluster, reused.reused_from, reused.frames_scanned) == (
        "video",
        first.sha256,
        first.sha256,
        0,
    )
    assert reused.vhash is not None and reused.duration == original.duration
    assert cluster is not None and cluster.sha256s == [first.sha256, copy.sha256]
    assert cluster.channels == ["kz_news_fake", "daily_leaks"]


def test_an_edited_video_is_analysed_but_joins_the_cluster(
    runtime: Runtime, clips: dict[tuple[str, str], Path]
) -> None:
    faces, first, cropped = post_two_clips(runtime, clips["first", "original"], clips["first", "cropped_5"])

    assert len(faces.analysed) == 2
    assert alerts_and_occurrences(runtime) == [(first.sha256, 2, 2)]
    with Session(runtime.db_engine) as session:
        row = session.get(MediaAnalysis, cropped.sha256)
    assert row is not None and (row.cluster, row.reused_from) == (first.sha256, None) and row.frames_scanned > 0


def test_another_clip_of_the_same_scene_is_an_alert_of_its_own(
    runtime: Runtime, clips: dict[tuple[str, str], Path]
) -> None:
    faces, first, other = post_two_clips(runtime, clips["first", "original"], clips["second", "original"])

    assert len(faces.analysed) == 2
    assert alerts_and_occurrences(runtime)[0] == (first.sha256, 1, 1)  # no occurrence added to the first's alert
    assert all(key != first.sha256 for key, _, _ in alerts_and_occurrences(runtime)[1:])
    with Session(runtime.db_engine) as session:
        row = session.get(MediaAnalysis, other.sha256)
    assert row is not None and (row.cluster, row.reused_from) == (other.sha256, None)


def write_animation(names: list[str], target: Path, scale: float = 1.0) -> Path:
    """A GIF showing each fixture photo for a second, the frames scaled by `scale`."""
    from PIL import Image

    frames = []
    for name in names:
        with Image.open(FIXTURES / name) as image:
            frames.append(image.convert("RGB").resize((round(320 * scale), round(240 * scale))))
    frames[0].save(target, save_all=True, append_images=frames[1:], duration=1000, loop=0)
    return target


def test_an_animation_is_hashed_like_a_video(tmp_path: Path) -> None:
    names = ["obama.jpg", "biden.jpg", "kit1.jpg"]
    original = media_hash(write_animation(names, tmp_path / "a.gif"))
    resized = media_hash(write_animation(names, tmp_path / "b.gif", scale=0.75))
    other = media_hash(write_animation(["rose1.jpg", "alex2.jpg", "obama4.jpg"], tmp_path / "c.gif"))
    assert original is not None and resized is not None and other is not None
    assert original.kind == "video" and len(original.value) == 3 * 16  # a GIF frame shown a second is one sample
    gap, apart = original.gap(resized.value), original.gap(other.value)
    assert gap is not None and gap.reusable and original.near(resized)
    assert apart is not None and not apart.clusters and not original.near(other)


def test_a_copy_with_other_footage_spliced_in_is_analysed_not_reused(clips: dict[tuple[str, str], Path]) -> None:
    original = video_hash(clips["first", "original"]) or ""
    other = video_hash(clips["second", "original"]) or ""
    spliced = original[: 2 * 16] + other[2 * 16 : 4 * 16] + original[4 * 16 :]  # its second second replaced
    gap = video_gap(original, spliced)
    assert gap is not None and gap.distance == 0.0 and gap.worst > VIDEO_REUSE_FRAME_DISTANCE
    assert not gap.reusable and gap.clusters


def test_the_photo_index_finds_the_nearest_within_the_cluster_distance_and_holds_each_photo_once() -> None:
    index = PhotoHashIndex()
    base = 0x0F0F0F0F0F0F0F0F
    index.add([("a" * 64, f"{base:016x}", "a" * 64), ("b" * 64, f"{base ^ 0xFF:016x}", "b" * 64)])
    index.add([("a" * 64, f"{base:016x}", "a" * 64)])
    assert len(index) == 2, "a photo already held is not added twice"

    three_bits_off = f"{base ^ 0b111:016x}"
    found = index.nearest(three_bits_off)
    assert found is not None and (found.sha256, found.distance, found.reusable) == ("a" * 64, 3, True)
    far = f"{base ^ 0xFFFFFFFF00000000:016x}"
    assert index.nearest(far) is None, "32 bits off is another picture"
    assert PhotoHashIndex().nearest(three_bits_off) is None


def test_the_photo_lookup_sees_what_another_process_stored_after_its_last_look(runtime: Runtime) -> None:
    lookup = photo_lookup(runtime.db_engine)
    phash = "0f0f0f0f0f0f0f0f"
    with Session(runtime.db_engine) as session:
        assert lookup.nearest(session, phash) is None
        row = MediaAnalysis(sha256="c" * 64, kind="photo", size=1, width=1, height=1, frames_scanned=1)
        row.phash, row.cluster = phash, "c" * 64
        session.add(row)  # as another machine's worker would commit it
        session.commit()
        found = lookup.nearest(session, phash)
    assert found is not None and found.cluster == "c" * 64
    assert photo_lookup(runtime.db_engine) is lookup, "one index per database in a process"
