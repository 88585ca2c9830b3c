"""Agreement statistics and REFI-QDA export/import: time at several sizes.

    python benchmarks/bench_exchange.py --units 1000 20000 100000 --sources 20 200 1000
    python benchmarks/bench_exchange.py --units --sources --study-n 1000

`--study-n N` times `cityqda export qdpx` on a generated, ingested and coded study of N
transcripts (benchmarks/_work/code-nN-seedS from bench_code.py is copied when it exists,
else generated, ingested and coded here): a seeded sample of codings is decided by two
coders and an adjudicator and a few manual codings are added, then the export runs twice
(the bytes must be equal) and the file is checked against the schema.

Agreement: a presence table of N units (segment × code) rated by three coders, each unit
seen by two or three of them (seeded), 1,000 bootstrap resamples. Exchange: a synthetic
project of S sources of about 12,000 characters (accents, emoji, CR LF) with 40 coded
selections each, written to .qdpx, read back, and checked against the official schema.
Everything is generated in memory from fixed seeds; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import shutil
import subprocess
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


WORK = Path(__file__).resolve().parent / "_work"
CLI = [sys.executable, "-m", "pipeline.cli"]


def coded_study(n: int, seed: int) -> Path:
    """A coded study of n transcripts, copied to its own folder (decisions are added)."""
    folder = WORK / f"exchange-n{n}-seed{seed}"
    if (folder / "cityqda.toml").is_file():
        return folder
    source = WORK / f"code-n{n}-seed{seed}"
    if (source / "cityqda.sqlite").is_file():
        shutil.copytree(source, folder)
        return folder
    subprocess.run([sys.executable, str(Path(__file__).parent / "generate_study.py"),
                    "--n", str(n), "--seed", str(seed), "--out", str(folder)], check=True)
    for command in (["ingest"], ["code"]):
        subprocess.run(CLI + ["--project", str(folder), *command], check=True)
    return folder


def review_sample(study, store, seed: int) -> dict[str, int]:
    """Seeded decisions (ana 20 %, ben 10 %, adjudicator on 1 %) and 200 manual codings,
    once per study folder (a second run finds them and adds nothing)."""
    from sqlalchemy import func, select

    from pipeline.coding.decisions import add_manual_coding, set_decision
    from pipeline.store.schema import codings, decisions, segments

    with store.read() as conn:
        if conn.execute(select(func.count()).select_from(decisions)
                        .where(decisions.c.source == "bench_exchange")).scalar():
            return {}
        ids = list(conn.execute(select(codings.c.id).order_by(codings.c.id)).scalars())
        segs = conn.execute(select(segments.c.id, segments.c.start, segments.c.end)
                            .where(segments.c.status == "current")
                            .order_by(segments.c.id)).all()
    rng = random.Random(seed)
    counts = {"decisions": 0, "manual": 0}
    with store.write() as conn:
        for coding_id in ids:
            draw = rng.random()
            for coder, share in (("ana", 0.2), ("ben", 0.1)):
                if draw < share:
                    decision = "accept" if rng.random() < 0.8 else "reject"
                    set_decision(conn, coding_id, coder, decision,
                                 "checked" if rng.random() < 0.1 else None,
                                 source="bench_exchange")
                    counts["decisions"] += 1
            if draw < 0.01:
                set_decision(conn, coding_id, "pi", "accept", source="bench_exchange",
                             role="adjudicator")
                counts["decisions"] += 1
        for seg in rng.sample(segs, min(200, len(segs))):
            end = min(seg.end, seg.start + 40)
            if end > seg.start:
                add_manual_coding(conn, seg.id, "social.connecting_people", "ben", seg.start,
                                  end, source="bench_exchange")
                counts["manual"] += 1
    return counts


def bench_study_export(n: int, seed: int) -> None:
    from pipeline.code_study import load_study_codebook
    from pipeline.exchange.from_store import export_qdpx
    from pipeline.store import open_study_store
    from pipeline.study import load_study

    folder = coded_study(n, seed)
    study = load_study(folder)
    store = open_study_store(study)
    rows = []
    try:
        added = review_sample(study, store, seed)
        codebook, load_s, load_cpu = timed_cpu(lambda: load_study_codebook(study))
        rows.append(("load the codebook", load_s, load_cpu, "", ""))
        out = folder / "outputs" / "bench.qdpx"
        first, first_s, first_cpu = timed_cpu(
            lambda: export_qdpx(study, store, out=out, codebook=codebook))
        data = out.read_bytes()
        rows.append(("`export_qdpx`, all current codings", first_s, first_cpu,
                     f"{first.selections:,}", f"{len(data) / 1e6:.1f} MB"))
        _, second_s, second_cpu = timed_cpu(
            lambda: export_qdpx(study, store, out=out, codebook=codebook))
        same = out.read_bytes() == data
        rows.append((f"`export_qdpx` again (bytes equal: {same})", second_s, second_cpu,
                     "", ""))
        accepted, accepted_s, accepted_cpu = timed_cpu(lambda: export_qdpx(
            study, store, out=folder / "outputs" / "bench-accepted.qdpx", codebook=codebook,
            accepted_only=True))
        rows.append(("`export_qdpx` accepted only", accepted_s, accepted_cpu,
                     f"{accepted.selections:,}", ""))
    finally:
        store.close()
    report, check_s, check_cpu = timed_cpu(lambda: check_file(out))
    rows.append(("`check_file` (schema + read back)", check_s, check_cpu, "", ""))
    assert report.valid, [p.render() for p in report.problems[:5]]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    _, cli_s = timed(lambda: subprocess.run(
        CLI + ["--project", str(folder), "export", "qdpx", "--out",
               str(folder / "outputs" / "cli.qdpx")], check=True, capture_output=True))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cli_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    rows.append(("`cityqda export qdpx` (whole command, new process)", cli_s, cli_cpu, "",
                 ""))
    print(f"\nStudy of {n:,} transcripts ({first.sources:,} sources); review added "
          f"{added or 'nothing (already there)'}; codings exported {first.codings}, "
          f"left out {first.left_out}; load average {os.getloadavg()[0]:.1f}")
    print("\n| step | wall s | CPU s | selections | .qdpx size |")
    print("|---|---:|---:|---:|---:|")
    for step, wall, cpu, selections, size in rows:
        print(f"| {step} | {wall:.2f} | {cpu:.2f} | {selections} | {size} |")
    print(f"\nPeak RSS of this process: {peak:.0f} MiB")
    if not same:
        raise SystemExit("the two exports differ")


def timed_cpu(function):
    """(result, wall seconds, CPU seconds of this process)."""
    cpu = time.process_time()
    result, wall = timed(function)
    return result, wall, time.process_time() - cpu


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="*", default=[1000, 20000, 100000])
    parser.add_argument("--sources", type=int, nargs="*", default=[20, 200, 1000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--study-n", type=int, default=None,
                        help="also time `export qdpx` on a coded study of N transcripts")
    args = parser.parse_args()
    print(f"Machine: {platform.processor() or platform.machine()}, Python "
          f"{platform.python_version()}\n")
    if args.units:
        print("| units | pairable | alpha | 95% CI | time (1,000 resamples) |")
        print("|---:|---:|---:|---|---:|")
    for units in args.units:
        table = agreement_table(units, args.seed)
        result, seconds = timed(lambda table=table: agreement(table, resamples=1000))
        alpha = result.krippendorff_alpha
        print(f"| {units:,} | {result.n_units:,} | {alpha.value:.3f} | "
              f"[{alpha.ci_low:.3f}, {alpha.ci_high:.3f}] | {seconds:.2f} s |")
    if args.sources:
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

    if args.study_n:
        bench_study_export(args.study_n, args.seed)


if __name__ == "__main__":
    main()
