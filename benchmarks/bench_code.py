"""Code benchmark: `code` on a generated study, again with nothing changed, after a pattern
change (narrowed re-code), and `code --all` (every segment re-coded).

    python benchmarks/bench_code.py --n 1000 --seed 1

The study is generated once with `python benchmarks/generate_study.py --n N --seed S --out
benchmarks/_work/code-nN-seedS` (its codebook is kept as generated and restored on every
run) and ingested into a fresh store. Then, in this process:

1. `code` (every segment new);
2. `code` again with nothing changed: must code 0 segments and write nothing;
3. decisions are set on a seeded sample of 1,000 codings (accept);
4. the codebook gets a new patch version with one phrase added to one pattern: only the
   segments where that code's old or new patterns match are coded again;
5. `code --all`: every segment coded again (what any other rule change costs);
6. after each re-code the 1,000 decisions must still be on the same codings, accepted;
7. for the breakdown, the tagger alone (spaCy pipeline, codes and entities) over every
   segment, and the tokenizer with the lemmatizer alone.

Prints a Markdown table for docs/BENCHMARKS.md and the raw figures as JSON on stderr.

`--one-changed` measures only what a user pays after editing one transcript: after a first
`code`, one transcript gets a paragraph, is ingested, and `cityqda code` runs in a fresh
process (imports, loading and the tagger's build counted; CPU seconds of it and its
workers), then once more with nothing to do.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"


def study_folder(n: int, seed: int) -> Path:
    folder = WORK / f"code-n{n}-seed{seed}"
    if not (folder / "cityqda.toml").is_file():
        subprocess.run([sys.executable, str(HERE / "generate_study.py"), "--n", str(n),
                        "--seed", str(seed), "--out", str(folder)], check=True)
    return folder


def _pristine_codebook(study) -> None:
    """The codebook as generated (step 4 edits it)."""
    path = study.path("codebook")
    kept = path.with_name(path.name + ".generated")
    if kept.exists():
        path.write_bytes(kept.read_bytes())
    else:
        kept.write_bytes(path.read_bytes())


def _fresh_store(study):
    from pipeline.store import open_study_store

    for suffix in ("", "-wal", "-shm"):
        path = study.store_path.with_name(study.store_path.name + suffix)
        if path.exists():
            path.unlink()
    return open_study_store(study)


def _timed(function):
    started = time.perf_counter()
    result = function()
    return result, round(time.perf_counter() - started, 2)


def _bump_codebook(study) -> str:
    """A new patch version with one more phrase on the first phrase pattern."""
    import yaml

    path = study.path("codebook")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    major, minor, patch = data["version"].split("-")[0].split(".")
    data["version"] = f"{major}.{minor}.{int(patch) + 1}"
    for code in data["codes"]:
        for pattern in code.get("patterns") or []:
            if "phrases" in pattern:
                pattern["phrases"].append("benchmark shelter scheme")
                path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                                encoding="utf-8")
                return f"{code['id']} ({pattern['id']})"
    raise SystemExit("no phrase pattern to change")


def _decide_sample(store, seed: int, size: int = 1000) -> dict[int, tuple]:
    from sqlalchemy import select

    from pipeline.coding.decisions import set_decision
    from pipeline.store.schema import codings

    with store.read() as conn:
        rows = conn.execute(select(codings.c.id, codings.c.segment_id, codings.c.code,
                                   codings.c.evidence_text, codings.c.occurrence)
                            .order_by(codings.c.id)).all()
    sample = random.Random(seed).sample(rows, min(size, len(rows)))
    with store.write() as conn:
        for row in sample:
            set_decision(conn, row.id, "ana", "accept", source="benchmark")
    return {row.id: tuple(row[1:]) for row in sample}


def _decisions_intact(store, identities: dict[int, tuple]) -> bool:
    from sqlalchemy import select

    from pipeline.coding.decisions import coding_statuses
    from pipeline.store.schema import codings

    with store.read() as conn:
        rows = {r.id: tuple(r[1:]) for r in conn.execute(
            select(codings.c.id, codings.c.segment_id, codings.c.code,
                   codings.c.evidence_text, codings.c.occurrence)
            .where(codings.c.id.in_(sorted(identities))))}
        statuses = coding_statuses(conn, coding_ids=identities)
    return rows == identities and set(statuses.values()) == {"accepted"}


def _tagger_only(store, study) -> tuple[float, float, int]:
    """Seconds for the tagger alone (codes and entities), and for tokenizer + lemmatizer."""
    from sqlalchemy import select

    from pipeline.code_study import load_study_codebook, load_study_registry
    from pipeline.nlp.normalise import normalise
    from pipeline.nlp.tagger import Tagger
    from pipeline.store.schema import segments

    with store.read() as conn:
        texts = [t for (t,) in conn.execute(
            select(segments.c.text).where(segments.c.status == "current"))]
    tagger = Tagger(load_study_codebook(study), actors=load_study_registry(study))
    _, full = _timed(lambda: sum(1 for _ in tagger.tag_records(enumerate(texts))))
    nlp = tagger.nlp
    keep = [name for name in nlp.pipe_names if "lemma" in name]
    normalised = [normalise(t).text for t in texts]
    with nlp.select_pipes(enable=keep):
        _, lemmas = _timed(lambda: sum(1 for _ in nlp.pipe(normalised, batch_size=256)))
    return full, lemmas, len(texts)


def _cpu_seconds() -> tuple[float, float]:
    """CPU seconds of this process and of its finished children (the tagging workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def measure(folder: Path, seed: int, workers: int | None = None) -> dict:
    from pipeline.code_study import code_study
    from pipeline.ingest.ingest import ingest_study
    from pipeline.study import load_study

    study = load_study(folder)
    _pristine_codebook(study)
    store = _fresh_store(study)
    _, ingest_seconds = _timed(lambda: ingest_study(study, store, keep_all=False,
                                                    workers=workers))
    cpu_before = _cpu_seconds()
    first, first_seconds = _timed(lambda: code_study(study, store, workers=workers))
    cpu_after = _cpu_seconds()
    again, again_seconds = _timed(lambda: code_study(study, store, workers=workers))
    decided = _decide_sample(store, seed)
    changed = _bump_codebook(study)
    narrow, narrow_seconds = _timed(lambda: code_study(study, store, workers=workers))
    narrow_intact = _decisions_intact(store, decided)
    full, full_seconds = _timed(lambda: code_study(study, store, recode_all=True,
                                                   workers=workers))
    full_intact = _decisions_intact(store, decided)
    tagger_seconds, lemma_seconds, segments = _tagger_only(store, study)
    store.close()
    _pristine_codebook(study)

    def written(report):
        t = report.tally
        return (f"{t.codings_new} new, {t.codings_updated} updated, {t.codings_stopped} "
                "no longer produced")

    return {
        "transcripts": len(list(study.path("transcripts").glob("*.docx"))),
        "segments": first.segments,
        "ingest_seconds": ingest_seconds,
        "workers": "auto" if workers is None else workers,
        "first_seconds": first_seconds,
        "first_cpu_seconds": round(cpu_after[0] - cpu_before[0], 1),
        "first_worker_cpu_seconds": round(cpu_after[1] - cpu_before[1], 1),
        "first_segments_coded": first.tally.segments_coded,
        "first_written": written(first),
        "again_seconds": again_seconds,
        "again_segments_coded": again.tally.segments_coded,
        "again_written": written(again),
        "changed_pattern": changed,
        "narrow_seconds": narrow_seconds,
        "narrow_segments_coded": narrow.tally.segments_coded,
        "narrow_segments_refreshed": narrow.tally.segments_refreshed,
        "narrow_written": written(narrow),
        "full_seconds": full_seconds,
        "full_segments_coded": full.tally.segments_coded,
        "full_written": written(full),
        "decisions_sampled": len(decided),
        "decisions_intact": narrow_intact and full_intact,
        "tagger_only_seconds": tagger_seconds,
        "tokenizer_lemmatizer_seconds": lemma_seconds,
        "tagger_segments": segments,
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _cityqda_code(folder: Path) -> dict:
    """`cityqda code` in a fresh interpreter (imports, loading and the tagger's build
    counted, as a user pays them): CPU seconds of it and its workers (os.wait4), and its
    own peak memory (VmHWM, read by bench_pipeline's child runner at its end)."""
    result_file = folder / ".bench-code-result.json"
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(HERE / "bench_pipeline.py"), "--child",
                             str(result_file), "--", "--project", str(folder), "code"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    figures = json.loads(result_file.read_text()) if result_file.exists() else {}
    result_file.unlink(missing_ok=True)
    if os.waitstatus_to_exitcode(status) or figures.get("exit"):
        raise SystemExit(f"cityqda code failed:\n{stderr}")
    return {"cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "wall_seconds": round(wall, 2),
            "peak_mib": round(figures.get("max_rss_mib", 0.0), 1),
            "summary": stderr.strip().splitlines()[-1],
            "load": [round(x, 2) for x in os.getloadavg()]}


def one_changed(folder: Path) -> dict:
    """First `code` (in this process), then one transcript changed (a paragraph added),
    ingested, and `cityqda code` run as users run it; then `code` with nothing to do."""
    from docx import Document

    from pipeline.code_study import code_study
    from pipeline.ingest.ingest import ingest_study
    from pipeline.study import load_study

    study = load_study(folder)
    _pristine_codebook(study)
    store = _fresh_store(study)
    ingest_study(study, store, keep_all=False)
    code_study(study, store)
    store.close()
    first = _cityqda_code(folder)  # nothing to do: warms the study's cache folder
    transcript = sorted(study.path("transcripts").glob("*.docx"))[0]
    original = transcript.read_bytes()
    try:
        document = Document(str(transcript))
        document.add_paragraph("The city has since opened a second welcome desk for "
                               "newcomers, run together with a local refugee association.")
        document.save(str(transcript))
        from pipeline.store import open_study_store

        store = open_study_store(study)
        ingest_study(study, store, keep_all=False)
        store.close()
        changed = _cityqda_code(folder)
        again = _cityqda_code(folder)
    finally:
        transcript.write_bytes(original)  # the generated study stays as generated
    return {"transcript": transcript.name, "no_op_first": first, "one_changed": changed,
            "no_op": again}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None,
                        help="processes tagging (and analysing new files) beside the "
                             "writer; default: one per core, as `cityqda code` does; 0: none")
    parser.add_argument("--one-changed", action="store_true",
                        help="Only: code, change one transcript, then time `cityqda code` "
                             "in a fresh process (and once more with nothing to do)")
    args = parser.parse_args(argv)
    if args.one_changed:
        figures = one_changed(study_folder(args.n, args.seed))
        print(json.dumps(figures, indent=1))
        return 0
    row = measure(study_folder(args.n, args.seed), args.seed, args.workers)
    print(json.dumps(row), file=sys.stderr)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}.\n")
    print("| step | seconds | segments coded | codings written |")
    print("|---|---:|---:|---:|")
    print(f"| ingest {row['transcripts']} transcripts ({row['segments']} segments) | "
          f"{row['ingest_seconds']} | | |")
    print(f"| `code`, first time (workers: {row['workers']}; CPU s {row['first_cpu_seconds']} "
          f"main + {row['first_worker_cpu_seconds']} workers) | {row['first_seconds']} | "
          f"{row['first_segments_coded']} | {row['first_written']} |")
    print(f"| `code` again, nothing changed | {row['again_seconds']} | "
          f"{row['again_segments_coded']} | {row['again_written']} |")
    print(f"| `code` after one pattern changed ({row['changed_pattern']}) | "
          f"{row['narrow_seconds']} | {row['narrow_segments_coded']} "
          f"({row['narrow_segments_refreshed']} refreshed) | {row['narrow_written']} |")
    print(f"| `code --all` | {row['full_seconds']} | {row['full_segments_coded']} | "
          f"{row['full_written']} |")
    print(f"| tagger alone (codes and entities), every segment | "
          f"{row['tagger_only_seconds']} | {row['tagger_segments']} | |")
    print(f"| tokenizer + lemmatizer alone, every segment | "
          f"{row['tokenizer_lemmatizer_seconds']} | {row['tagger_segments']} | |")
    print(f"\nDecisions on {row['decisions_sampled']} sampled codings intact after both "
          f"re-codes: {row['decisions_intact']}. Max RSS {row['max_rss_mib']} MiB.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
