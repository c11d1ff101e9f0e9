"""Prometheus metrics of the watchers: what was fetched, what was analysed, how long it took, how watches fare.

Metrics live in prometheus-client's default registry; `app` serves them at /metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram

if TYPE_CHECKING:
    from watchers.scanning import FileAnalysis

POSTS_SCANNED = Counter("impwatch_posts_scanned", "New posts stored from sources", ["source"])
MEDIA_SCANNED = Counter(
    "impwatch_media_scanned",
    "Media items of posts processed, by outcome: analysed, cached (content seen before) or failed",
    ["source", "kind", "outcome"],
)
FACES_DETECTED = Counter("impwatch_faces_detected", "Faces found in analysed photos and video frames")
MATCHES = Counter("impwatch_matches", "Faces that matched an enrolled person")
SCAN_SECONDS = Histogram(
    "impwatch_scan_duration_seconds",
    "Time to analyse one media file",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900),
)
TEXT_FAILURES = Counter(
    "impwatch_text_failures", "Posts whose text could not be read for signals (logged; the watch run went on)"
)
TEXT_SECONDS = Histogram(
    "impwatch_text_duration_seconds",
    "Time to read one post's text for signals and record them",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
WATCH_RUNS = Counter("impwatch_watch_runs", "Watch runs, by source kind and outcome", ["source", "outcome"])
WATCH_LAST_SUCCESS = Gauge(
    "impwatch_watch_last_success_timestamp_seconds",
    "Unix time of each watch's last successful run",
    ["watch_id", "source", "target"],
)


def record_analysis(analysis: FileAnalysis, seconds: float) -> None:
    FACES_DETECTED.inc(len(analysis.faces))
    MATCHES.inc(sum(1 for face in analysis.faces if face.matches))
    SCAN_SECONDS.labels(kind=analysis.kind).observe(seconds)
