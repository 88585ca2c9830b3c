"""The study coder with and without its context rules, scored against the sample answer key.

    python benchmarks/bench_study_context.py [--keep DIR] [--json]

Copies the sample study (the repository root) to a temporary folder, ingests and codes it
with the real coder, and scores the stored codings per answer segment against
tests/data/sample_labels.yaml (matched by file and document order, checked by text): a
segment has a dimension when one of its rule codings of that dimension counts (existing or
planned, not negated or hypothetical), as in the coded datasets. "Without" leaves out the
codings the context rules added (rule ids `context.*`); the rules only add codings, so this
is exactly the store the coder gives without them. Prints precision, recall and F1 per
dimension and micro-F1 for both, the inherited codings by rule with the share whose
dimension the key confirms, and the CPU seconds of `code` and of its context step.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from pipeline.codebook.model import DIMENSION_ORDER  # noqa: E402

KEY = ROOT / "tests" / "data" / "sample_labels.yaml"


def code_sample(folder: Path) -> tuple[Path, dict]:
    """Ingest and code a fresh copy of the sample study; the store and CPU seconds."""
    from sample_copy import copy_sample

    from pipeline.code_study import code_study
    from pipeline.coding import interview_context
    from pipeline.ingest.ingest import ingest_study
    from pipeline.store import open_study_store
    from pipeline.study import load_study

    root = copy_sample(folder / "study")
    study = load_study(root)
    store = open_study_store(study)
    context_cpu = [0.0]
    measured = interview_context._add_context

    def timed(*args, **kwargs):
        started = time.process_time()
        try:
            return measured(*args, **kwargs)
        finally:
            context_cpu[0] += time.process_time() - started

    interview_context._add_context = timed
    try:
        ingest_study(study, store)
        started = time.process_time()
        report = code_study(study, store, workers=0)
        code_cpu = time.process_time() - started
    finally:
        interview_context._add_context = measured
        store.close()
    if report.failed:
        raise SystemExit("code failed: " + "; ".join(p.render() for p in report.problems))
    return root / "cityqda.sqlite", {"code_cpu_seconds": round(code_cpu, 2),
                                     "context_cpu_seconds": round(context_cpu[0], 2),
                                     "codebook_version": report.codebook_version}


def stored(db: Path) -> tuple[dict[str, list[tuple[int, str]]], list[tuple]]:
    """Current segments by file in document order, and every produced rule coding that
    counts: (segment id, dimension, rule id)."""
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        by_file: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for segment_id, file, text in conn.execute(
                "SELECT s.id, i.file, s.text FROM segments s JOIN interviews i "
                "ON i.id = s.interview_id WHERE s.status = 'current' "
                "ORDER BY i.file, s.ord, s.id"):
            by_file[file].append((segment_id, text))
        rows = conn.execute(
            "SELECT segment_id, dimension, rule_id FROM codings WHERE produced = 1 "
            "AND counts = 1 AND coder = '' AND dimension IS NOT NULL "
            "AND merged_into IS NULL").fetchall()
    finally:
        conn.close()
    return by_file, rows


def match_key(by_file: dict[str, list[tuple[int, str]]]) -> list[tuple[int, set[str]]]:
    """(segment id, gold dimensions) per answer-key entry."""
    key = yaml.safe_load(KEY.read_text(encoding="utf-8"))["segments"]
    matched = []
    for entry in key:
        candidates = by_file.get(entry["file"], [])
        index = entry["order"] - 1
        if index < len(candidates) and candidates[index][1].strip() == entry["text"].strip():
            segment_id = candidates[index][0]
        else:  # fall back to the text
            found = [s for s, text in candidates if text.strip() == entry["text"].strip()]
            if len(found) != 1:
                raise SystemExit(f"answer key entry {entry['file']}#{entry['order']} "
                                 "matches no single segment")
            segment_id = found[0]
        matched.append((segment_id, set(entry.get("dimensions") or [])))
    return matched


def prf(tp: int, fp: int, fn: int) -> dict:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3),
            "tp": tp, "fp": fp, "fn": fn}


def score(matched: list[tuple[int, set[str]]], predicted: dict[int, set[str]]) -> dict:
    per = {d: [0, 0, 0] for d in DIMENSION_ORDER}
    for segment_id, gold in matched:
        guess = predicted.get(segment_id, set())
        for d in DIMENSION_ORDER:
            if d in gold and d in guess:
                per[d][0] += 1
            elif d in guess:
                per[d][1] += 1
            elif d in gold:
                per[d][2] += 1
    total = [sum(v[i] for v in per.values()) for i in range(3)]
    return {"segments": len(matched), "micro": prf(*total),
            "dimensions": {d: prf(*v) for d, v in per.items()}}


def run(folder: Path) -> dict:
    db, timing = code_sample(folder)
    by_file, rows = stored(db)
    matched = match_key(by_file)
    gold = dict(matched)
    with_context: dict[int, set[str]] = defaultdict(set)
    without: dict[int, set[str]] = defaultdict(set)
    inherited: Counter = Counter()
    confirmed: Counter = Counter()
    seen = set()
    for segment_id, dimension, rule in rows:
        with_context[segment_id].add(dimension)
        if (rule or "").startswith("context."):
            if (segment_id, dimension, rule) in seen or segment_id not in gold:
                continue
            seen.add((segment_id, dimension, rule))
            inherited[rule] += 1
            confirmed[rule] += dimension in gold[segment_id]
        else:
            without[segment_id].add(dimension)
    return {"timing": timing,
            "without_context": score(matched, without),
            "with_context": score(matched, with_context),
            "inherited": {rule: {"segment_dimensions": inherited[rule],
                                 "confirmed_by_key": confirmed[rule]}
                          for rule in sorted(inherited)}}


def print_report(result: dict) -> None:
    t = result["timing"]
    print(f"codebook {t['codebook_version']}; code CPU {t['code_cpu_seconds']} s, of which "
          f"context rules {t['context_cpu_seconds']} s")
    for name in ("without_context", "with_context"):
        s = result[name]
        m = s["micro"]
        print(f"{name.replace('_', ' ')}: {s['segments']} segments, P {m['precision']:.3f} "
              f"R {m['recall']:.3f} micro-F1 {m['f1']:.3f} (tp {m['tp']}, fp {m['fp']}, "
              f"fn {m['fn']})")
        for d, v in s["dimensions"].items():
            print(f"  {d:<20} P {v['precision']:.3f} R {v['recall']:.3f} F1 {v['f1']:.3f}")
    for rule, v in result["inherited"].items():
        print(f"{rule}: {v['segment_dimensions']} segment dimensions inherited, "
              f"{v['confirmed_by_key']} confirmed by the key")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="code the copy here and keep it")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.keep:
        result = run(args.keep)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(Path(tmp))
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        print_report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
