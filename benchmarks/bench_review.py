"""Review workbooks at scale: export and import of 100,000 codings, time and peak memory.

    python benchmarks/bench_review.py [--codings 100000] [--decided 1.0] [--keep DIR]

1. builds a study (`init`) whose store holds synthetic interviews, segments and rule codings
   written directly with SQL (coding 100,000 suggestions with the real coder would take
   far longer and is measured elsewhere): 2 codings per segment, 50 segments per interview,
   codes from the default codebook, segment texts of about 300 characters;
2. `review export` of every coding for one coder, in a child process;
3. a returned workbook: the export with the decision column filled for a share of the rows
   (`--decided`, default every row: 80 % accept, 10 % reject, 10 % discuss with a comment),
   written by streaming the exported sheets (not timed: it stands in for a coder);
4. `review import` of it, in a child process.

With `--keep DIR` the store as exported is kept as DIR/exported.sqlite: copy it over
DIR/study/cityqda.sqlite and run `--phase import --root DIR/study --file DIR/returned.xlsx`
to time the import again on the same input.

Each timed step runs as its own process; its wall seconds and peak resident memory
(ru_maxrss of the child) are printed as a Markdown row, the raw figures as JSON on stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CODERS = """
[[coders]]
id = "ana"
role = "coder"
"""
WORDS = ("the city council runs a programme for newcomers with language courses housing "
         "support job training and legal advice offered by local partners every week").split()


def build(root: Path, n_codings: int, seed: int = 1) -> None:
    from sqlalchemy import insert

    from pipeline.code_study import load_study_codebook
    from pipeline.init_study import init_study
    from pipeline.store import open_study_store, utc_now
    from pipeline.store.schema import codebook_versions, codings, interviews, segments
    from pipeline.study import load_study

    init_study(root)
    config = root / "cityqda.toml"
    config.write_text(config.read_text(encoding="utf-8") + CODERS, encoding="utf-8")
    study = load_study(root)
    codebook = load_study_codebook(study)
    codes = [c for c in codebook.codes if c.kind == "subcode" and not c.retired]
    rng = random.Random(seed)
    per_segment, per_interview = 2, 50
    n_segments = n_codings // per_segment
    n_interviews = max(1, n_segments // per_interview)
    now = utc_now()
    store = open_study_store(study)
    try:
        with store.write() as conn:
            # what `code` records: the codebook text it used (review reads it from there)
            raw = study.path("codebook").read_bytes()
            conn.execute(insert(codebook_versions).values(
                codebook_id=codebook.id, version=codebook.version,
                sha256=hashlib.sha256(raw).hexdigest(), matching_sha256="",
                text=raw.decode("utf-8"), first_used_at=now))
            seg_id = coding_id = 0
            for i in range(1, n_interviews + 1):
                city = ("Lisbon", "Rotterdam", "Naples", "Sao Paulo")[i % 4]
                texts = [" ".join(rng.choice(WORDS) for _ in range(50))
                         for _ in range(per_interview)]
                plain = "\n".join(texts)
                name = f"{city[:3].upper()}-PM-{i:04d}.docx"
                metadata = {"city": {"value": city}, "stakeholder_category":
                            {"value": "policy_maker"}, "organisation": {"value": f"Org {i}"},
                            "interview_guide": {"value": "policy_makers"}}
                conn.execute(insert(interviews).values(
                    id=i, file=name, path=f"transcripts/{name}",
                    sha256=hashlib.sha256(plain.encode()).hexdigest(), plain_text=plain,
                    metadata=json.dumps(metadata), ingested_at=now))
                seg_rows, coding_rows, at = [], [], 0
                for order, text in enumerate(texts, start=1):
                    seg_id += 1
                    seg_rows.append({"id": seg_id, "interview_id": i, "ord": order,
                                     "section": "Policies", "question": "What exists?",
                                     "text": text, "start": at, "end": at + len(text),
                                     "sha256": hashlib.sha256(text.encode()).hexdigest()})
                    for k in range(per_segment):
                        coding_id += 1
                        code = codes[(seg_id * per_segment + k) % len(codes)]
                        start = text.find(" ", 40 * k + 5) + 1
                        end = text.find(" ", start + 10)
                        coding_rows.append({
                            "id": coding_id, "interview_id": i, "segment_id": seg_id,
                            "code": code.id, "dimension": codebook.dimension_of(code.id),
                            "kind": "dimension", "origin": f"rule:{code.id}.p",
                            "rule_id": f"{code.id}.p", "coder": "",
                            "codebook_version": codebook.version,
                            "evidence_text": text[start:end], "occurrence": k,
                            "start": at + start, "end": at + end, "version": 1,
                            "produced": 1, "created_at": now})
                    at += len(text) + 1
                conn.execute(insert(segments), seg_rows)
                conn.execute(insert(codings), coding_rows)
    finally:
        store.close()


def phase_export(root: Path, out: Path) -> None:
    from pipeline.review.export import export_review
    from pipeline.store import open_study_store
    from pipeline.study import load_study

    study = load_study(root)
    store = open_study_store(study)
    try:
        result = export_review(study, store, "ana", out=out)
    finally:
        store.close()
    print(json.dumps({"rows": result.rows, "segments": result.segments}), file=sys.stderr)


def phase_import(root: Path, path: Path) -> None:
    from pipeline.review.workbook import start_prefetch

    start_prefetch([path])  # as `cityqda review import` does, before its heavy imports
    from pipeline.review.importer import import_reviews
    from pipeline.store import open_study_store
    from pipeline.study import load_study

    study = load_study(root)
    store = open_study_store(study)
    try:
        report = import_reviews(study, store, [path])
    finally:
        store.close()
    print("\n".join(report.lines()), file=sys.stderr)


def fill(exported: Path, returned: Path, decided: float, seed: int = 2) -> int:
    """The returned workbook: every sheet copied as text, decisions filled in."""
    import python_calamine

    from pipeline.review.workbook import fast_rows, new_workbook, save_workbook, write_row

    rng = random.Random(seed)
    book = python_calamine.CalamineWorkbook.from_path(str(exported))
    wb = new_workbook()
    filled = 0
    for name in book.sheet_names:
        ws = wb.create_sheet(name)
        fast_rows(ws)
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        header = rows[0] if rows else []
        for index, row in enumerate(rows):
            row = list(row)
            if name == "Codings" and index > 0 and rng.random() < decided:
                draw = rng.random()
                row[header.index("decision")] = ("accept" if draw < 0.8 else
                                                 "reject" if draw < 0.9 else "discuss")
                if row[header.index("decision")] == "discuss":
                    row[header.index("comment")] = "is this an initiative?"
                filled += 1
            write_row(ws, [v if not isinstance(v, float) or not v.is_integer() else int(v)
                           for v in row])
    save_workbook(wb, returned)
    return filled


def timed(argv: list[str]) -> dict:
    """Run one step as a child process: wall and CPU seconds, the child's own peak RSS
    (its last stderr line; RUSAGE_CHILDREN would give the largest child so far)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    *lines, last = done.stderr.strip().splitlines()
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
            "peak_mb": json.loads(last)["peak_mb"], "load": os.getloadavg()[0],
            "stderr": "\n".join(lines)}


def _report_peak() -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_mb": round(peak / 1024, 1)}), file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--codings", type=int, default=100_000)
    parser.add_argument("--decided", type=float, default=1.0)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--phase", choices=["export", "import"])
    parser.add_argument("--root", type=Path)
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("CITYQDA_NO_LOCATION_WARNING", "1")
    if args.phase == "export":
        phase_export(args.root, args.file)
        _report_peak()
        return 0
    if args.phase == "import":
        phase_import(args.root, args.file)
        _report_peak()
        return 0
    work = Path(tempfile.mkdtemp(prefix="bench-review-")) if args.keep is None else args.keep
    root = work / "study"
    started = time.perf_counter()
    build(root, args.codings)
    built = time.perf_counter() - started
    exported, returned = work / "export.xlsx", work / "returned.xlsx"
    export = timed(["--phase", "export", "--root", str(root), "--file", str(exported)])
    filled = fill(exported, returned, args.decided)
    if args.keep is not None:  # the store as exported, to time the import again
        import shutil

        shutil.copyfile(root / "cityqda.sqlite", work / "exported.sqlite")
    imported = timed(["--phase", "import", "--root", str(root), "--file", str(returned)])
    figures = {"codings": args.codings, "decided_rows": filled, "build_seconds": round(built, 1),
               "export": export, "import": imported,
               "workbook_mb": round(exported.stat().st_size / 1e6, 1),
               "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                          f"Python {platform.python_version()}"}
    print(json.dumps(figures, indent=1), file=sys.stderr)
    print("| step | codings | rows decided | wall s | CPU s | peak RSS MB | load |")
    print("|---|---|---|---|---|---|---|")
    for name, step, decided in (("export", export, "–"), ("import", imported, f"{filled:,}")):
        print(f"| review {name} | {args.codings:,} | {decided} | {step['seconds']} | "
              f"{step['cpu_seconds']} | {step['peak_mb']} | {step['load']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
