"""Two demo coders' completed review workbooks for the sample study, from its answer key.

Usage:  python scripts/build_demo_reviews.py [--out DIR] [--check] [--keep] [--quiet]

  --out DIR  where the workbooks go (default: the sample study's reviews/inbox/, where
             they are committed)
  --check    compare the workbooks with those already in DIR instead of writing them
             (exit 1 when they differ: rebuild them after changing the sample's inputs,
             the codebook or the coding rules)
  --keep     keep the temporary study, to look at its store, tables and agreement report

The sample study (the repository root) is copied to a temporary folder, ingested and coded
there; review workbooks are exported for the coders `ana` and `ben` (overlapping samples of
segments drawn with the same seed), and their decisions filled in from the answer key
tests/data/sample_labels.yaml:

- a dimension coding is accepted when the key gives its segment that dimension and the
  coding counts as an initiative (not negated, not hypothetical), otherwise rejected; a
  challenge coding is accepted when the key lists that challenge for the segment;
- an initiative is confirmed when the key names it (status and dimensions set from the
  key), else rejected; an actor is confirmed when the key names it; a partnership is
  confirmed when the key has the same parties (type and status from the key);
- `ben` disagrees on purpose with every ninth coding he reviews and on the first initiative
  he would confirm, so the agreement report has disagreements to show.

Export ids and times are fixed (`demo-ana`, `demo-ben`), so the same repository gives
byte-identical workbooks. The workbooks are then imported into the temporary study, and
`aggregate` and `agreement` are run there to show that the tables get content.

The workbooks are committed in reviews/inbox/: `cityqda run` on a fresh clone builds its
store from the same inputs and adopts them (pipeline/review/adopt.py: the export record is
rebuilt by rendering each row from that store and comparing the read-only cells), then
writes tables with content and outputs/agreement.xlsx. When the sample's codings change,
adoption refuses them (CQ535) until they are rebuilt with this script.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

STUDY_PARTS = ("cityqda.toml", "register.xlsx", "transcripts_sample", "interview_guides",
               "codebooks")
ANSWER_KEY = ROOT / "tests" / "data" / "sample_labels.yaml"
SEED = 2013
SAMPLES = {"ana": 320, "ben": 300}
FIXED_TIME = "2026-01-01T00:00:00Z"
DISAGREE_EVERY = 9


def copy_sample_study(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for part in STUDY_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, target / part)
        else:
            shutil.copyfile(source, target / part)
    return target


def load_key() -> dict[tuple[str, str], dict]:
    """Answer-key entries by (file, segment text): the key numbers answer segments, the
    store numbers every block, so the text is what pairs them."""
    import yaml

    data = yaml.safe_load(ANSWER_KEY.read_text(encoding="utf-8"))
    return {(entry["file"], entry["text"].strip()): entry for entry in data["segments"]}


def fold(name: str) -> str:
    from pipeline.nlp.registry import fold_key

    return fold_key(name or "")


class KeyIndex:
    """What the answer key says, looked up by segment, initiative, actor and partnership."""

    def __init__(self, key: dict[tuple[str, str], dict]):
        self.key = key
        self.initiatives: dict[str, dict] = {}
        self.actors: set[str] = set()
        self.partnerships: dict[frozenset, dict] = {}
        for entry in key.values():
            for initiative in entry.get("initiatives") or []:
                self.initiatives.setdefault(fold(initiative["name"]), initiative)
            for actor in entry.get("actors") or []:
                self.actors.add(fold(actor.get("name", "")))
                if actor.get("mention"):
                    self.actors.add(fold(actor["mention"]))
            for partnership in entry.get("partnerships") or []:
                parties = frozenset(fold(p) for p in partnership.get("parties") or [])
                self.partnerships.setdefault(parties, partnership)

    def coding_decision(self, coding) -> str:
        entry = self.key.get((coding.file, coding.text.strip()))
        if entry is None:
            return "reject"
        if coding.kind == "challenge":
            name = coding.code.split(".", 1)[-1]
            return "accept" if name in (entry.get("challenges") or []) else "reject"
        dims = entry.get("dimensions") or []
        if coding.dimension in dims and not coding.negated and not coding.hypothetical:
            return "accept"
        return "reject"


def _coding_facts(conn) -> dict[int, tuple]:
    from sqlalchemy import select

    from pipeline.store.schema import codings, interviews, segments

    rows = conn.execute(select(codings.c.id, codings.c.code, codings.c.kind,
                               codings.c.dimension, codings.c.negated,
                               codings.c.hypothetical, segments.c.text, interviews.c.file)
                        .join(segments, segments.c.id == codings.c.segment_id)
                        .join(interviews, interviews.c.id == codings.c.interview_id)).all()
    return {row.id: row for row in rows}


def _entity_names(conn) -> dict[str, dict[int, object]]:
    from sqlalchemy import select

    from pipeline.aggregate.tables import partnership_parties
    from pipeline.store.schema import actors, initiatives, partnerships

    found = {"initiatives": {r.id: r for r in conn.execute(select(initiatives))},
             "actors": {r.id: r for r in conn.execute(select(actors))},
             "partnerships": {r.id: r for r in conn.execute(select(partnerships))}}
    found["parties"] = partnership_parties(conn)
    return found


def _header(sheet) -> dict[str, int]:
    return {str(cell.value): cell.column for cell in sheet[1] if cell.value is not None}


def _rows(sheet):
    columns = _header(sheet)
    for number in range(2, sheet.max_row + 1):
        row_id = sheet.cell(row=number, column=columns["row_id"]).value
        if row_id:
            yield number, str(row_id), columns


def _number(row_id: str) -> int:
    return int("".join(ch for ch in row_id if ch.isdigit()))


def fill_workbook(path: Path, coder: str, index: KeyIndex, facts: dict, entities: dict) -> dict:
    """Write the coder's decisions into the exported workbook; returns counts."""
    from openpyxl import load_workbook

    from pipeline.xlsx_determinism import normalise_ooxml_zip

    workbook = load_workbook(path)
    counts = {"codings": 0, "disagreements": 0, "initiatives": 0, "actors": 0,
              "partnerships": 0}
    sheet = workbook["Codings"]
    seen = 0
    for number, row_id, columns in _rows(sheet):
        coding = facts.get(_number(row_id))
        if coding is None:
            continue
        decision = index.coding_decision(coding)
        seen += 1
        if coder == "ben" and seen % DISAGREE_EVERY == 0:
            decision = "reject" if decision == "accept" else "accept"
            counts["disagreements"] += 1
        sheet.cell(row=number, column=columns["decision"], value=decision)
        counts["codings"] += 1
    planted = False
    if "Initiatives" in workbook.sheetnames:
        sheet = workbook["Initiatives"]
        for number, row_id, columns in _rows(sheet):
            row = entities["initiatives"].get(_number(row_id))
            if row is None:
                continue
            known = index.initiatives.get(fold(row.name))
            decision = "confirm" if known else "reject"
            if known and coder == "ben" and not planted:
                decision, planted = "reject", True
                counts["disagreements"] += 1
            sheet.cell(row=number, column=columns["decision"], value=decision)
            if decision == "confirm":
                if "status" in columns and known.get("status"):
                    sheet.cell(row=number, column=columns["status"], value=known["status"])
                if "dimensions" in columns:
                    sheet.cell(row=number, column=columns["dimensions"],
                               value=", ".join(known.get("dimensions") or []))
            counts["initiatives"] += 1
    if "Actors" in workbook.sheetnames:
        sheet = workbook["Actors"]
        for number, row_id, columns in _rows(sheet):
            row = entities["actors"].get(_number(row_id))
            if row is None:
                continue
            decision = "confirm" if fold(row.name) in index.actors else "reject"
            sheet.cell(row=number, column=columns["decision"], value=decision)
            counts["actors"] += 1
    if "Partnerships" in workbook.sheetnames:
        sheet = workbook["Partnerships"]
        for number, row_id, columns in _rows(sheet):
            partnership_id = _number(row_id)
            names = entities["parties"].get(partnership_id, [])
            known = index.partnerships.get(frozenset(fold(n) for n in names))
            sheet.cell(row=number, column=columns["decision"],
                       value="confirm" if known else "reject")
            if known:
                for field in ("type", "status"):
                    if field in columns and known.get(field):
                        sheet.cell(row=number, column=columns[field], value=known[field])
            counts["partnerships"] += 1
    workbook.save(path)
    normalise_ooxml_zip(path)
    return counts


def build(out: Path | None, *, check: bool = False, verbose: bool = True,
          keep: bool = False) -> int:
    import pipeline.review.export as export_module
    from pipeline.aggregate.aggregate import aggregate_study
    from pipeline.code_study import code_study
    from pipeline.ingest.ingest import ingest_study
    from pipeline.review.agreement import agreement_report
    from pipeline.review.importer import import_reviews
    from pipeline.store import open_study_store
    from pipeline.study import load_study

    def say(message: str) -> None:
        if verbose:
            print(message, file=sys.stderr)

    work = Path(tempfile.mkdtemp(prefix="cityqda-demo-reviews-"))
    try:
        study = load_study(copy_sample_study(work / "sample"))
        store = open_study_store(study)
        try:
            ingest_study(study, store)
            code_study(study, store)
            with store.read() as conn:
                facts = _coding_facts(conn)
                entities = _entity_names(conn)
            index = KeyIndex(load_key())
            made = work / "demo_reviews"
            made.mkdir()
            # fixed ids and times: the same repository gives the same workbooks
            original_id, original_now = export_module.new_export_id, export_module.utc_now
            paths = []
            try:
                export_module.utc_now = lambda: FIXED_TIME
                for coder, sample in SAMPLES.items():
                    export_module.new_export_id = lambda coder=coder: f"demo-{coder}"
                    result = export_module.export_review(
                        study, store, coder, out=made / f"sample-{coder}-demo.xlsx",
                        sample=sample, seed=SEED)
                    counts = fill_workbook(result.path, coder, index, facts, entities)
                    say(f"{result.path.name}: {counts}")
                    paths.append(result.path)
            finally:
                export_module.new_export_id, export_module.utc_now = original_id, original_now
            report = import_reviews(study, store, paths)
            for line in report.lines():
                say(f"import: {line}")
            aggregate = aggregate_study(study, store)
            say(aggregate.lines()[0])
            for problem in aggregate.problems:
                say(problem.render())
            agreement = agreement_report(study, store, resamples=200)
            say("agreement: " + (f"written to {agreement.out}" if agreement.out
                                 else "no overlapping coders"))
        finally:
            store.close()
        status = 0
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            for path in paths:
                target = out / path.name
                if check:
                    if not target.is_file() or target.read_bytes() != path.read_bytes():
                        say(f"differs: {target}")
                        status = 1
                else:
                    shutil.copyfile(path, target)
                    say(f"wrote {target}")
        return status
    finally:
        if keep:
            say(f"kept the temporary study: {work / 'sample'}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "reviews" / "inbox",
                        help="folder for the workbooks (default: reviews/inbox/)")
    parser.add_argument("--check", action="store_true",
                        help="compare with the workbooks in --out instead of writing")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary study (its store, outputs and workbooks)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    return build(args.out, check=args.check, verbose=not args.quiet, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
