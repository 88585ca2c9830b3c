"""Time `aggregate` on a coded (and partly reviewed) study, phase by phase.

    python benchmarks/bench_aggregate.py --study DIR [--include-suggested] [--out DIR]

DIR is a study whose store is already coded, e.g. a copy of one made by
benchmarks/generate_study.py and coded (bench_exchange.py --study-n 1000 leaves a coded,
partly reviewed one under benchmarks/_work/). The outputs go to --out (default: a temporary
folder), never into the study. Prints one line per phase: seconds (process CPU and wall)
and sizes.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    from pipeline.aggregate.checks import cross_checks
    from pipeline.aggregate.datasets import coded_long, coded_wide
    from pipeline.aggregate.tables import TABLE_NAMES, build_scope, codebook_info, study_tables
    from pipeline.aggregate.writing import write_csv, write_parquet, write_xlsx
    from pipeline.store import open_study_store
    from pipeline.study import load_study

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", type=Path, required=True)
    parser.add_argument("--include-suggested", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="cityqda-bench-aggregate-"))
    out.mkdir(parents=True, exist_ok=True)
    study = load_study(args.study)
    store = open_study_store(study)

    def timed(label, function):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        print(f"{label:<28} cpu {time.process_time() - cpu:7.2f} s  wall "
              f"{time.perf_counter() - wall:7.2f} s", flush=True)
        return result

    try:
        with store.read() as conn:
            codebook = timed("codebook labels", lambda: codebook_info(study))
            scope = timed("scope (register, interviews)", lambda: build_scope(conn, study))
            tables = timed("study tables", lambda: study_tables(
                conn, study, scope=scope, codebook=codebook,
                include_suggested=args.include_suggested))
            problems = timed("cross-checks", lambda: cross_checks(conn, study, tables,
                                                                   scope=scope))
            long = timed("coded_long", lambda: coded_long(
                conn, study, scope=scope, codebook=codebook,
                include_suggested=args.include_suggested))
            wide = timed("coded_wide", lambda: coded_wide(
                conn, study, scope=scope, codebook=codebook,
                include_suggested=args.include_suggested))
        for table in (long, wide):
            cells = len(table.rows) * len(table.columns)
            print(f"{table.name}: {len(table.rows)} rows x {len(table.columns)} columns "
                  f"= {cells} cells")
            timed(f"{table.name} csv", lambda t=table: write_csv(t, out / f"{t.name}.csv"))
            timed(f"{table.name} xlsx", lambda t=table: write_xlsx([t], out / f"{t.name}.xlsx"))
            try:
                timed(f"{table.name} parquet",
                      lambda t=table: write_parquet(t, out / f"{t.name}.parquet"))
            except ImportError:
                print(f"{table.name} parquet: pyarrow not installed")
        timed("tables xlsx", lambda: write_xlsx([tables[n] for n in TABLE_NAMES],
                                                out / "tables.xlsx"))
    finally:
        store.close()
    print(f"cross-check problems: {len(problems)}; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
