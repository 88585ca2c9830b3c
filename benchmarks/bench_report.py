"""Time `cityqda report` (and the run manifest) on a coded study, and check reruns are
byte-identical.

    python benchmarks/bench_report.py --sample
    python benchmarks/bench_report.py --study benchmarks/_work/code-n1000-seed1

`--sample` copies the repository's sample study and ingests and codes it first; `--study`
copies an already coded study folder (bench_code.py leaves one in benchmarks/_work/), so
the original is never written to. `--pdf N` also times LibreOffice on N city reports.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
WORK = REPO_ROOT / "benchmarks" / "_work"
SAMPLE_PARTS = ("cityqda.toml", "register.xlsx", "transcripts_sample", "interview_guides",
                "codebooks")
sys.path.insert(0, str(REPO_ROOT))


def copy_study(source: Path | None, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    if source is None:
        target.mkdir(parents=True)
        for part in SAMPLE_PARTS:
            path = REPO_ROOT / part
            (shutil.copytree if path.is_dir() else shutil.copyfile)(path, target / part)
        return target
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("outputs", "*.bak"))
    return target


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.glob("*.docx"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--sample", action="store_true")
    group.add_argument("--study", type=Path)
    parser.add_argument("--pdf", type=int, default=0, metavar="N")
    args = parser.parse_args()

    from pipeline.report.manifest import change_report, previous_run_id
    from pipeline.report.report import report_study
    from pipeline.run import RunContext, RunOptions
    from pipeline.store import open_study_store
    from pipeline.study import load_study

    name = "sample" if args.sample else args.study.name
    root = copy_study(None if args.sample else args.study, WORK / f"report-{name}")
    study = load_study(root)
    store = open_study_store(study)
    figures: dict = {"study": name}
    try:
        if args.sample:
            from pipeline.code_study import code_study
            from pipeline.ingest.ingest import ingest_study

            ingest_study(study, store)
            code_study(study, store)
        timings = []
        hashes = []
        for _ in range(2):
            start = time.perf_counter()
            result = report_study(study, store, pdf=False)
            timings.append(round(time.perf_counter() - start, 2))
            hashes.append(digests(root / "outputs" / "reports"))
        figures.update(cities=len(result.cities), report_seconds=timings,
                       byte_identical=hashes[0] == hashes[1])
        if args.pdf:
            start = time.perf_counter()
            result = report_study(study, store, cities=result.cities[:args.pdf], pdf=True)
            figures["pdf_reports"] = sum(k.endswith("_pdf") for k in result.outputs)
            figures["report_with_pdf_seconds"] = round(time.perf_counter() - start, 2)
        from pipeline.report.manifest import finish_manifest
        from pipeline.run import _start_run

        context = RunContext(study, store, RunOptions(), _start_run(store))
        start = time.perf_counter()
        finish_manifest(context)
        figures["manifest_and_changes_seconds"] = round(time.perf_counter() - start, 2)
        with store.read() as conn:
            lines = change_report(conn, previous_run_id(conn, context.run_id), context.run_id)
        figures["change_report_lines"] = len(lines)
    finally:
        store.close()
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
