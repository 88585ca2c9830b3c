"""Code benchmark: `code` on a generated study, then again with nothing changed, then after
a codebook change that touches every segment.

    python benchmarks/bench_code.py --n 1000 --seed 1

The study is generated once with `python benchmarks/generate_study.py --n N --seed S --out
benchmarks/_work/code-nN-seedS` and ingested into a fresh store. Then, in this process:

1. `code` (every segment new);
2. `code` again with nothing changed: must code 0 segments and write nothing;
3. decisions are set on a seeded sample of 1,000 codings (accept), and the codebook gets a
   new patch version with one phrase added to one pattern, so the fingerprint changes and
   every segment is coded again: the decisions must all still be there, on the same codings;
4. for comparison, the spaCy pipeline alone over every segment (what any narrowing of the
   re-code to "segments where changed rules could match" would still have to run up to its
   lemmatizer) and the tokenizer with the lemmatizer only.

Prints a Markdown table for docs/BENCHMARKS.md and the raw figures as JSON on stderr.
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


def _pipeline_only(store, codebook) -> tuple[float, float, int]:
    """Seconds for the whole spaCy pipeline, and for tokenizer + lemmatizer alone."""
    from sqlalchemy import select

    from pipeline.nlp.normalise import normalise
    from pipeline.nlp.tagger import Tagger
    from pipeline.store.schema import segments

    with store.read() as conn:
        texts = [normalise(t).text for (t,) in conn.execute(
            select(segments.c.text).where(segments.c.status == "current"))]
    nlp = Tagger(codebook).nlp
    _, full = _timed(lambda: sum(1 for _ in nlp.pipe(texts, batch_size=256)))
    keep = [name for name in nlp.pipe_names if "lemma" in name]
    with nlp.select_pipes(enable=keep):
        _, lemmas = _timed(lambda: sum(1 for _ in nlp.pipe(texts, batch_size=256)))
    return full, lemmas, len(texts)


def measure(folder: Path, seed: int) -> dict:
    from pipeline.code_study import code_study, load_study_codebook
    from pipeline.ingest.ingest import ingest_study
    from pipeline.study import load_study

    study = load_study(folder)
    store = _fresh_store(study)
    _, ingest_seconds = _timed(lambda: ingest_study(study, store, keep_all=False))
    first, first_seconds = _timed(lambda: code_study(study, store))
    again, again_seconds = _timed(lambda: code_study(study, store))
    decided = _decide_sample(store, seed)
    changed = _bump_codebook(study)
    recode, recode_seconds = _timed(lambda: code_study(study, store))
    intact = _decisions_intact(store, decided)
    full, lemmas, segments = _pipeline_only(store, load_study_codebook(study))
    store.close()
    return {
        "transcripts": len(list(study.path("transcripts").glob("*.docx"))),
        "segments": first.segments,
        "ingest_seconds": ingest_seconds,
        "first_seconds": first_seconds,
        "first_segments_coded": first.tally.segments_coded,
        "first_codings": first.tally.codings_new,
        "again_seconds": again_seconds,
        "again_segments_coded": again.tally.segments_coded,
        "again_codings_written": again.tally.codings_new + again.tally.codings_updated,
        "changed_pattern": changed,
        "recode_seconds": recode_seconds,
        "recode_segments_coded": recode.tally.segments_coded,
        "recode_new": recode.tally.codings_new,
        "recode_updated": recode.tally.codings_updated,
        "recode_stopped": recode.tally.codings_stopped,
        "decisions_sampled": len(decided),
        "decisions_intact": intact,
        "pipeline_only_seconds": full,
        "tokenizer_lemmatizer_seconds": lemmas,
        "pipeline_segments": segments,
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    row = measure(study_folder(args.n, args.seed), args.seed)
    print(json.dumps(row), file=sys.stderr)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}.\n")
    print("| step | seconds | segments coded | codings written |")
    print("|---|---:|---:|---:|")
    print(f"| ingest {row['transcripts']} transcripts ({row['segments']} segments) | "
          f"{row['ingest_seconds']} | | |")
    print(f"| code, first time | {row['first_seconds']} | {row['first_segments_coded']} | "
          f"{row['first_codings']} new |")
    print(f"| code again, nothing changed | {row['again_seconds']} | "
          f"{row['again_segments_coded']} | {row['again_codings_written']} |")
    print(f"| code after a pattern change ({row['changed_pattern']}) | "
          f"{row['recode_seconds']} | {row['recode_segments_coded']} | "
          f"{row['recode_new']} new, {row['recode_updated']} updated, "
          f"{row['recode_stopped']} no longer produced |")
    print(f"| spaCy pipeline alone, every segment | {row['pipeline_only_seconds']} | "
          f"{row['pipeline_segments']} | |")
    print(f"| tokenizer + lemmatizer alone, every segment | "
          f"{row['tokenizer_lemmatizer_seconds']} | {row['pipeline_segments']} | |")
    print(f"\nDecisions on {row['decisions_sampled']} sampled codings intact after the "
          f"re-code: {row['decisions_intact']}. Max RSS {row['max_rss_mib']} MiB.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
