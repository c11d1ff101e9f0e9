"""Benchmark: finding the nearest analysed photo for a new one, among `--photos` (100,000) stored hashes.

Now: this process's photo hash index (`watchers.analysis.PhotoLookup`), brought up to date by reading only what was
stored since its last look, then one XOR and popcount over every hash in numpy. The baseline, in the same run: the
lookup as it was, reading every stored hash from the database for each new photo and comparing them one by one
(`_nearest_in`, which the store-time check still uses for the few rows stored meanwhile).

A fresh SQLite database built by the migrations is filled with random 64-bit hashes (each its own cluster), stored
over the week before (as an installation's photos accumulate; the index re-reads only the last minutes'); each
lookup is for a hash 3 bits from a stored one, so both must find it. The index's first look (reading every hash once
per process) is timed apart. Medians of `--lookups` lookups each.

    .venv/bin/python bench/cluster_lookup.py [--photos 100000] [--lookups 30]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from app import db
from core.clock import utcnow
from watchers.analysis import PhotoLookup, _nearest_in
from watchers.models import MediaAnalysis
from watchers.perceptual import MediaHash


def fill(engine: sa.engine.Engine, count: int, rng: random.Random) -> list[str]:
    hashes = [f"{rng.getrandbits(64):016x}" for _ in range(count)]
    week_ago = utcnow() - timedelta(days=7)
    rows = [
        {
            "sha256": f"{index:064x}",
            "kind": "photo",
            "size": 1,
            "width": 1,
            "height": 1,
            "frames_scanned": 1,
            "faces_found": 0,
            "phash": phash,
            "cluster": f"{index:064x}",
            "analysed_at": week_ago + timedelta(seconds=index),
        }
        for index, phash in enumerate(hashes)
    ]
    with Session(engine) as session:
        session.execute(sa.insert(MediaAnalysis), rows)
        session.commit()
    return hashes


def timed_ms(action: object) -> float:
    started = time.perf_counter()
    assert callable(action) and action() is not None, "the stored near copy was not found"
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'lookup.db'}"
        db.upgrade(url)
        engine = db.make_engine(url)
        hashes = fill(engine, args.photos, rng)
        probes = [f"{int(rng.choice(hashes), 16) ^ 0b10101:016x}" for _ in range(args.lookups)]
        lookup = PhotoLookup()
        with Session(engine) as session:
            first = timed_ms(lambda: lookup.nearest(session, probes[0]))
            now = [timed_ms(lambda probe=probe: lookup.nearest(session, probe)) for probe in probes]
            before = [timed_ms(lambda probe=probe: _nearest_in(session, MediaHash("photo", probe))) for probe in probes]
        engine.dispose()
    now_ms, before_ms = statistics.median(now), statistics.median(before)
    print(f"{args.photos:,} stored photo hashes, {args.lookups} lookups each (medians)")
    print(f"- index (up to date by what was stored since its last look): {now_ms:.2f} ms (1.0 x)")
    print(f"- every hash read and compared again (the former lookup): {before_ms:.2f} ms ({before_ms / now_ms:.1f} x)")
    print(f"- the index's first look in a process (reads every hash once): {first:.0f} ms")


if __name__ == "__main__":
    main()
