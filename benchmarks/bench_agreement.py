"""`cityqda agreement` report: time to compute every figure at several study sizes.

    python benchmarks/bench_agreement.py --segments 500 2000 10000 --codes 60 --coders 2

Ratings are generated in memory from a fixed seed, in the shape `review_ratings` reads from
a store: every coder reviewed every segment of a shared sample; each code has a base rate
of 3% per segment, each coder misses a true code with probability 0.15 and adds a false
one with probability 0.01, and a third of the suggestions on a segment went undecided
(`discuss` leaves them missing for that coder in 2% of cases). The report is the full one:
segment × code and interview × code presence, pooled, per dimension (6 groups) and per
code, all units and units marked present, 1,000 bootstrap resamples each. Prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import platform
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.review.agreement import ReviewRatings, compute_agreement  # noqa: E402

GROUPS = ("social", "cultural_religious", "economic", "political", "legal", "challenge")


def synthetic(segments: int, codes: int, coders: int, seed: int = 1) -> ReviewRatings:
    rng = random.Random(seed)
    code_ids = [f"{GROUPS[i % len(GROUPS)]}.c{i:03d}" for i in range(codes)]
    ratings = ReviewRatings()
    ratings.group_of = {c: c.split(".")[0] for c in code_ids}
    names = [f"coder{i}" for i in range(coders)]
    for segment in range(segments):
        ratings.interview_of[segment] = segment // 25
        truth = {c for c in code_ids if rng.random() < 0.03}
        ratings.suggested[segment] = set(truth)
        for name in names:
            ratings.seen.setdefault(name, set()).add(segment)
            for code in code_ids:
                present = (code in truth and rng.random() > 0.15) or \
                    (code not in truth and rng.random() < 0.01)
                if present:
                    ratings.marked.setdefault(name, set()).add((segment, code))
                elif code in truth and rng.random() < 0.02:
                    ratings.undecided.setdefault(name, set()).add((segment, code))
    return ratings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, nargs="+", default=[500, 2000, 10000])
    parser.add_argument("--codes", type=int, default=60)
    parser.add_argument("--coders", type=int, default=2)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, Python "
          f"{platform.python_version()}")
    print("| segments | codes | coders | pooled units | figures | headline alpha | 95% CI | "
          "time |")
    print("|---:|---:|---:|---:|---:|---:|---|---:|")
    for segments in args.segments:
        ratings = synthetic(segments, args.codes, args.coders)
        started = time.perf_counter()
        report = compute_agreement(ratings, resamples=args.resamples)
        elapsed = time.perf_counter() - started
        alpha = report.headline.result.krippendorff_alpha
        print(f"| {segments:,} | {args.codes} | {args.coders} | "
              f"{report.headline.result.n_units:,} | {len(report.rows):,} | "
              f"{alpha.value:.3f} | [{alpha.ci_low:.3f}, {alpha.ci_high:.3f}] | "
              f"{elapsed:.1f} s |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {peak:.0f} MB")


if __name__ == "__main__":
    main()
