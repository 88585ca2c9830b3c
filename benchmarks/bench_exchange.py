"""Agreement statistics and REFI-QDA export/import: time at several sizes.

    python benchmarks/bench_exchange.py --units 1000 20000 100000 --sources 20 200 1000

Agreement: a presence table of N units (segment × code) rated by three coders, each unit
seen by two or three of them (seeded), 1,000 bootstrap resamples. Exchange: a synthetic
project of S sources of about 12,000 characters (accents, emoji, CR LF) with 40 coded
selections each, written to .qdpx, read back, and checked against the official schema.
Everything is generated in memory from fixed seeds; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.exchange.model import Code, Project, Selection, TextSource, User  # noqa: E402
from pipeline.exchange.qdpx_reader import read_qdpx  # noqa: E402
from pipeline.exchange.qdpx_writer import write_qdpx  # noqa: E402
from pipeline.exchange.validate import check_file  # noqa: E402
from pipeline.review.agreement_stats import RatingTable, agreement  # noqa: E402

WORDS = ["integration", "São", "Zürich", "café", "programme", "👩🏽‍💼", "mentoring",
         "housing", "language", "re\u0301sume\u0301", "city", "NGO", "employment"]


def agreement_table(units: int, seed: int) -> RatingTable:
    rng = np.random.default_rng(seed)
    truth = rng.random(units) < 0.2
    records = []
    for coder, error in (("ana", 0.08), ("ben", 0.12), ("eva", 0.1)):
        seen = rng.random(units) < 0.8
        flips = rng.random(units) < error
        for unit in np.flatnonzero(seen):
            records.append((int(unit), coder, int(truth[unit] ^ flips[unit])))
    return RatingTable.from_records(records)


def synthetic_project(sources: int, seed: int) -> Project:
    rng = random.Random(seed)
    codes = tuple(Code(f"c{i}", f"Code {i}") for i in range(30))
    users = (User("ana", "Ana"), User("ben", "Ben"))
    texts, selections = [], []
    for s in range(sources):
        parts, size = [], 0
        while size < 12_000:
            word = rng.choice(WORDS)
            parts.append(word + ("\r\n" if rng.random() < 0.05 else " "))
            size += len(parts[-1])
        text = "".join(parts)
        texts.append(TextSource(f"s{s}", f"Interview {s:04d}", text,
                                variables={"city": f"City {s % 17}", "n": s}))
        for k in range(40):
            start = rng.randrange(0, len(text) - 200)
            selections.append(Selection(f"s{s}:{k}", f"s{s}", start,
                                        start + rng.randrange(10, 200), f"c{k % 30}",
                                        coder=users[k % 2].key, created_by="ana"))
    return Project(name="bench", users=users, codes=codes, sources=tuple(texts),
                   selections=tuple(selections))


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="+", default=[1000, 20000, 100000])
    parser.add_argument("--sources", type=int, nargs="+", default=[20, 200, 1000])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"Machine: {platform.processor() or platform.machine()}, Python "
          f"{platform.python_version()}\n")
    print("| units | pairable | alpha | 95% CI | time (1,000 resamples) |")
    print("|---:|---:|---:|---|---:|")
    for units in args.units:
        table = agreement_table(units, args.seed)
        result, seconds = timed(lambda table=table: agreement(table, resamples=1000))
        alpha = result.krippendorff_alpha
        print(f"| {units:,} | {result.n_units:,} | {alpha.value:.3f} | "
              f"[{alpha.ci_low:.3f}, {alpha.ci_high:.3f}] | {seconds:.2f} s |")
    print("\n| sources | selections | .qdpx size | write | read | schema check |")
    print("|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        for sources in args.sources:
            project = synthetic_project(sources, args.seed)
            path = Path(folder) / f"bench-{sources}.qdpx"
            _, write_s = timed(lambda project=project, path=path: write_qdpx(project, path))
            back, read_s = timed(lambda path=path: read_qdpx(path))
            report, check_s = timed(lambda path=path: check_file(path))
            assert report.valid and len(back.project.selections) == len(project.selections)
            print(f"| {sources:,} | {len(project.selections):,} | "
                  f"{path.stat().st_size / 1e6:.1f} MB | {write_s:.2f} s | {read_s:.2f} s | "
                  f"{check_s:.2f} s |")


if __name__ == "__main__":
    main()
