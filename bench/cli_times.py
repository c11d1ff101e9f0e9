"""Benchmark: how long `impwatch --help`, `impwatch webhook list` and `impwatch alerts list` take to answer.

Each run is a fresh process on a database of its own (migrated by one untimed run first), timed from start to
exit; the medians of `--repeats` runs are printed with the same medians of two baselines measured in the same run,
interleaved with the commands so that a change in the machine's load falls on all of them alike:
`python -c pass` (the interpreter alone) and `python -c "import fastapi, sqlmodel"` (the libraries every database
command needs; the ratio is against this one). CPU time (user + system) is printed too: it depends less on what else
the machine runs.

Three bytecode states:
- installed: the environment as it is (`make install` compiles the libraries' bytecode; the project's own modules
  are compiled by the first run, unless PYTHONDONTWRITEBYTECODE is set);
- warm: every module's bytecode exists (one untimed run wrote it into a `PYTHONPYCACHEPREFIX` of this run's own);
- cold: no bytecode at all, every module compiled from source at every run (an empty `PYTHONPYCACHEPREFIX` each
  run, PYTHONDONTWRITEBYTECODE=1), as on an install made without compiling where bytecode cannot be written.

    .venv/bin/python bench/cli_times.py [--repeats N] [--impwatch PATH] [--max-seconds S]

Exits 1 when a command's warm median is over `--max-seconds` (1.5).
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = (("impwatch --help", ["--help"]), ("impwatch webhook list", ["webhook", "list"]),
            ("impwatch alerts list", ["alerts", "list"]))  # fmt: skip
BASELINES = (("python -c pass", "pass"), ('python -c "import fastapi, sqlmodel"', "import fastapi, sqlmodel"))
RATIO_BASELINE = BASELINES[1][0]


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


def run_once(argv: list[str], env: dict[str, str]) -> Timing:
    """One process from start to exit: wall-clock time and the CPU time it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=env["IMPWATCH_DATA_DIR"], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr}")
    return Timing(wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))


def clean_environment(data_dir: Path) -> dict[str, str]:
    """The caller's environment without its IMPWATCH_* settings (a user's .env or database must not count), with a
    fresh data folder."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("IMPWATCH_")}
    return env | {"IMPWATCH_DATA_DIR": str(data_dir), "COLUMNS": "120"}


def measure(
    workloads: dict[str, list[str]], env: dict[str, str], scratch: Path, repeats: int, state: str
) -> dict[str, list[Timing]]:
    """`repeats` rounds, each running every workload once, in the bytecode `state` (see the module's docstring)."""
    writing = {
        name: value for name, value in env.items() if name not in {"PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"}
    }
    fresh_prefixes = (scratch / f"cold-{number}" for number in itertools.count())

    def environment() -> dict[str, str]:
        if state == "warm":
            return writing | {"PYTHONPYCACHEPREFIX": str(scratch / "warm")}
        if state == "cold":
            return writing | {"PYTHONPYCACHEPREFIX": str(next(fresh_prefixes)), "PYTHONDONTWRITEBYTECODE": "1"}
        return env

    if state == "warm":
        for argv in workloads.values():  # writes the bytecode the timed runs read
            run_once(argv, environment())
    timings: dict[str, list[Timing]] = {name: [] for name in workloads}
    for _ in range(repeats):
        for name, argv in workloads.items():
            timings[name].append(run_once(argv, environment()))
    return timings


def report(state: str, timings: dict[str, list[Timing]]) -> dict[str, float]:
    medians = {name: statistics.median(t.wall for t in runs) for name, runs in timings.items()}
    cpu = {name: statistics.median(t.cpu for t in runs) for name, runs in timings.items()}
    print(f"\n{state} bytecode (median of {len(next(iter(timings.values())))} runs)")
    print(f"  {'':40} {'wall s':>7} {'cpu s':>7} {'ratio':>6}")
    for name in timings:
        ratio = medians[name] / medians[RATIO_BASELINE]
        print(f"  {name:40} {medians[name]:7.2f} {cpu[name]:7.2f} {ratio:6.2f}")
    return medians


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--impwatch", type=Path, default=ROOT / ".venv" / "bin" / "impwatch")
    parser.add_argument("--max-seconds", type=float, default=1.5)
    args = parser.parse_args()
    python = str(args.impwatch.parent / "python")
    workloads = {name: [str(args.impwatch), *argv] for name, argv in COMMANDS}
    workloads |= {name: [python, "-c", code] for name, code in BASELINES}
    with tempfile.TemporaryDirectory(prefix="impwatch-cli-times-") as scratch:
        data_dir = Path(scratch) / "data"
        data_dir.mkdir()
        env = clean_environment(data_dir)
        no_writing = os.environ.get("PYTHONDONTWRITEBYTECODE") or "unset"
        print(f"{args.impwatch}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
        print(f"PYTHONDONTWRITEBYTECODE: {no_writing}")
        migrated = run_once([str(args.impwatch), "webhook", "list"], env)
        print(f"first command on a new database (migrates it): {migrated.wall:.2f} s")
        report("installed", measure(workloads, env, Path(scratch), args.repeats, "installed"))
        warm = report("warm", measure(workloads, env, Path(scratch), args.repeats, "warm"))
        report("cold", measure(workloads, env, Path(scratch), args.repeats, "cold"))
        print(f"\nratio: against {RATIO_BASELINE}; load average {os.getloadavg()[0]:.2f} at the end")
    over = [name for name, _ in COMMANDS if warm[name] > args.max_seconds]
    if over:
        print(f"over {args.max_seconds} s with warm bytecode: {', '.join(over)}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
