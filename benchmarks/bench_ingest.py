"""Ingest benchmark: transcripts per second and peak memory, at several study sizes.

    python benchmarks/bench_ingest.py --n 250 1000 --seed 1

For each N, a synthetic study is generated once (benchmarks/generate_study.py) under
benchmarks/_work/, then a child process pinned to one CPU core ingests it into a fresh
store three times: a timed first ingest (every file new), a timed second ingest (every
file unchanged), and a first ingest again under tracemalloc for the peak of Python
allocations, and the traced memory in use after a quarter of the files and after all
of them. The child's maximum resident set size is reported too. With `--workers W` (W >= 2)
the child is not pinned and new files are analysed ahead in W forked workers (the default,
0, measures the one-process ingest); CPU seconds of the child and of its workers are
reported beside the wall time, since the machine may be shared. Memory should not grow
with the number of files ingested: each transcript is read, analysed, written in its own
transaction and dropped (what does grow with N is the register, loaded once). Prints a
Markdown table (for docs/BENCHMARKS.md) and JSON lines on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"


def study_folder(n: int, seed: int, words: int) -> Path:
    folder = WORK / f"ingest-n{n}-seed{seed}-w{words}"
    if not (folder / "cityqda.toml").is_file():
        sys.path.insert(0, str(HERE))
        from generate_study import generate_study

        generate_study(folder, n, seed, words)
    return folder


def _fresh_store(study):
    from pipeline.store import open_study_store

    for suffix in ("", "-wal", "-shm"):
        path = study.store_path.with_name(study.store_path.name + suffix)
        if path.exists():
            path.unlink()
    return open_study_store(study)


def _cpu_seconds(who) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measure(folder: Path, workers: int = 0) -> dict:
    """One study, in this process: what the parent asks a (pinned) child to do."""
    from pipeline.ingest.ingest import ingest_study
    from pipeline.study import load_study

    if workers < 2 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    study = load_study(folder)
    files = len(list(study.path("transcripts").glob("*.docx")))

    store = _fresh_store(study)
    started = time.perf_counter()
    cpu_self, cpu_workers = _cpu_seconds(resource.RUSAGE_SELF), \
        _cpu_seconds(resource.RUSAGE_CHILDREN)
    first = ingest_study(study, store, keep_all=False,  # as `cityqda ingest` does
                         workers=workers)
    first_seconds = time.perf_counter() - started
    cpu_self = _cpu_seconds(resource.RUSAGE_SELF) - cpu_self
    cpu_workers = _cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_workers
    started = time.perf_counter()
    second = ingest_study(study, store, keep_all=False, workers=workers)
    second_seconds = time.perf_counter() - started
    store.close()

    store = _fresh_store(study)
    tracemalloc.start()
    settled: dict[str, float] = {}
    seen = [0]

    def on_file(_outcome):
        seen[0] += 1
        if seen[0] in (files // 4, files):
            key = "quarter" if seen[0] == files // 4 else "end"
            settled[key] = tracemalloc.get_traced_memory()[0] / 2**20

    ingest_study(study, store, keep_all=False, on_file=on_file, workers=workers)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    store.close()

    counts = first.counts()
    return {
        "n": files,
        "ingested": counts["ingested"],
        "failed": counts["failed"],
        "unchanged_second": second.counts()["unchanged"],
        "workers": workers,
        "first_seconds": round(first_seconds, 2),
        "first_cpu_seconds": round(cpu_self, 2),
        "first_worker_cpu_seconds": round(cpu_workers, 2),
        "files_per_second": round(files / first_seconds, 1),
        "unchanged_seconds": round(second_seconds, 2),
        "unchanged_per_second": round(files / second_seconds, 1),
        "peak_traced_mib": round(peak / 2**20, 1),
        "traced_after_quarter_mib": round(settled.get("quarter", 0.0), 2),
        "traced_after_all_mib": round(settled.get("end", 0.0), 2),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[250, 1000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--words", type=int, default=2000,
                        help="approximate words per transcript (generator default)")
    parser.add_argument("--workers", type=int, default=0,
                        help="forked workers analysing new files ahead (0: one process, "
                             "pinned to one core)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(Path(args.child), args.workers)))
        return 0
    rows = []
    for n in args.n:
        folder = study_folder(n, args.seed, args.words)
        output = subprocess.run([sys.executable, __file__, "--child", str(folder),
                                 "--workers", str(args.workers)],
                                check=True, capture_output=True, text=True).stdout
        row = json.loads(output.strip().splitlines()[-1])
        print(json.dumps(row), file=sys.stderr)
        rows.append(row)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; " + ("ingest pinned to one core.\n" if args.workers < 2
          else f"{args.workers} workers analysing new files.\n"))
    print("| transcripts | first ingest s | CPU s (main + workers) | transcripts/s | "
          "unchanged re-ingest s | unchanged/s | traced MiB after N/4, after N | "
          "peak traced MiB | max RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n']} | {r['first_seconds']} | {r['first_cpu_seconds']} + "
              f"{r['first_worker_cpu_seconds']} | {r['files_per_second']} | "
              f"{r['unchanged_seconds']} | {r['unchanged_per_second']} | "
              f"{r['traced_after_quarter_mib']}, {r['traced_after_all_mib']} | "
              f"{r['peak_traced_mib']} | {r['max_rss_mib']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
