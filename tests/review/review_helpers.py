"""Builders for review tests: a tiny coded study, workbook edits the way a coder makes them.

The study has two short transcripts and a codebook of literal phrases, coded with a phrase
tagger (the spaCy coder is not under test here), so each coding can be named by hand.
Workbooks are edited with openpyxl, as Excel would save them.
"""

from __future__ import annotations

from pathlib import Path

import docx
import yaml
from openpyxl import load_workbook
from sqlalchemy import select

from pipeline.code_study import code_study
from pipeline.ingest.ingest import ingest_study
from pipeline.store import open_study_store
from pipeline.study import load_study

DIMENSIONS = ("social", "cultural_religious", "economic", "political", "legal")
CODES = {"social.housing": ["night shelter"], "legal.legal_aid": ["legal aid"],
         "economic.employment": ["job fair"]}
ANSWERS = {
    "LIS-PM-01.docx": ("Lisbon", [
        "The city runs a night shelter and gives legal aid to families.",
        "A job fair is held every spring with the employment office.",
        "=SUM(A1) is how she wrote it, and @home too.",
    ]),
    "ROT-PM-01.docx": ("Rotterdam", [
        "The council offers legal aid in two districts.",
    ]),
}
CODERS = """
[[coders]]
id = "ana"
role = "coder"

[[coders]]
id = "ben"
role = "coder"

[[coders]]
id = "pi"
role = "adjudicator"
"""


def codebook_text(version: str = "1.0.0", codes: dict | None = None,
                  changes: list | None = None) -> str:
    codes = codes if codes is not None else CODES
    entries = [{"id": d, "kind": "dimension", "label": d.title(), "definition": f"{d} work."}
               for d in DIMENSIONS]
    for code_id, phrases in codes.items():
        entry = {"id": code_id, "kind": "subcode", "parent": code_id.split(".")[0],
                 "label": code_id, "definition": f"Codes {code_id}."}
        if phrases:
            entry["patterns"] = [{"id": f"{code_id}.p0", "role": "service",
                                  "phrases": list(phrases)}]
        entries.append(entry)
    document = {"id": "test_codebook", "title": "Test codebook", "version": version,
                "language": "en", "changes": changes or [], "codes": entries,
                "context": {"cues": [{"id": "neg.basic", "type": "negation",
                                      "phrases": ["no", "not"]}],
                            "terminators": ["but"], "markers": {"strong": ["run"],
                                                                "weak": ["programme"]},
                            "problem": ["lack"], "actors": ["city"]}}
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def write_transcript(path: Path, city: str, answers: list[str]) -> None:
    document = docx.Document()
    document.add_paragraph(f"City: {city}")
    document.add_paragraph("Category: policy maker")
    document.add_heading("Policies", level=1)
    for number, answer in enumerate(answers, start=1):
        document.add_paragraph().add_run(f"Question {number}?").bold = True
        document.add_paragraph(answer)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(path)


class PhraseTagger:
    """Finds each active code's phrases literally (case ignored)."""

    def __init__(self, codebook):
        self.codebook = codebook
        self.patterns = [(code.id, pattern.id, phrase) for code in codebook.codes
                         if not code.retired for pattern in code.patterns
                         for phrase in pattern.phrases]

    def tag_records(self, records):
        for record_id, text in records:
            found = []
            for code_id, rule, phrase in self.patterns:
                at = text.lower().find(phrase.lower())
                while at >= 0:
                    found.append({
                        "code": code_id, "dimension": self.codebook.dimension_of(code_id),
                        "start": at, "end": at + len(phrase), "text": text[at:at + len(phrase)],
                        "rule": rule, "negated": False, "hypothetical": False,
                        "planned": False, "kind": "dimension", "counts": True,
                        "problem": False, "codebook_version": self.codebook.version,
                        "sentence": text, "sentence_start": 0, "sentence_end": len(text),
                        "cues": [], "reassigned_from": None, "reassigned_by": None,
                        "reason": None})
                    at = text.lower().find(phrase.lower(), at + 1)
            found.sort(key=lambda c: (c["start"], c["end"], c["code"]))
            yield {"id": record_id, "codes": found, "actors": [], "initiatives": [],
                   "partnerships": []}


def build_study(root: Path, answers: dict | None = None):
    """A study folder at `root`, ingested and coded; returns the loaded Study."""
    from pipeline.init_study import init_study

    init_study(root)
    config = root / "cityqda.toml"
    config.write_text(config.read_text(encoding="utf-8") + CODERS, encoding="utf-8")
    study = load_study(root)
    study.path("codebook").write_text(codebook_text(), encoding="utf-8")
    for name, (city, texts) in (answers or ANSWERS).items():
        write_transcript(study.path("transcripts") / name, city, texts)
    recode(study)
    return study


def recode(study):
    store = open_study_store(study)
    try:
        report = ingest_study(study, store)
        assert not report.failed
        result = code_study(study, store, tagger_factory=PhraseTagger, workers=0)
        assert not result.failed, [p.render() for p in result.problems]
    finally:
        store.close()


def query(study, statement):
    store = open_study_store(study)
    try:
        with store.read() as conn:
            return conn.execute(statement).all()
    finally:
        store.close()


def store_dump(study) -> list:
    """Every row of the human-work tables, to compare before and after."""
    from pipeline.store.schema import codings, decisions, events, memos, review_imports

    return [query(study, select(t).order_by(*t.primary_key.columns))
            for t in (codings, decisions, memos, review_imports, events)]


class Sheet:
    """An openpyxl sheet addressed by header names: edit(row_id, column=value)."""

    def __init__(self, ws):
        self.ws = ws
        self.columns = {cell.value: cell.column for cell in ws[1] if cell.value}

    def row_of(self, row_id: str) -> int:
        for row in range(2, self.ws.max_row + 1):
            if self.ws.cell(row, self.columns["row_id"]).value == row_id:
                return row
        raise KeyError(row_id)

    def set(self, _row_id: str, **values) -> int:
        row = self.row_of(_row_id)
        for column, value in values.items():
            self.ws.cell(row, self.columns[column]).value = value
        return row

    def get(self, row_id: str, column: str):
        return self.ws.cell(self.row_of(row_id), self.columns[column]).value

    def ids(self) -> list[str]:
        return [self.ws.cell(r, 1).value for r in range(2, self.ws.max_row + 1)
                if self.ws.cell(r, 1).value]

    def copy_row(self, row_id: str, **values) -> int:
        """Append a copy of the row (as a coder copies and pastes it) with some changes."""
        source = self.row_of(row_id)
        target = self.ws.max_row + 1
        for column in range(1, self.ws.max_column + 1):
            _put(self.ws.cell(target, column), self.ws.cell(source, column))
        for column, value in values.items():
            self.ws.cell(target, self.columns[column]).value = value
        return target

    def delete(self, row_id: str) -> None:
        self.ws.delete_rows(self.row_of(row_id))

    def reverse(self) -> None:
        """Sort the data rows in reverse order (values only, as a sort moves them)."""
        rows = [[(c.value, c.data_type) for c in row] for row in self.ws.iter_rows(min_row=2)]
        rows.reverse()
        for r, values in enumerate(rows, start=2):
            for c, (value, data_type) in enumerate(values, start=1):
                cell = self.ws.cell(r, c)
                cell.value = value
                cell.data_type = data_type  # text that looks like a formula stays text


def _put(target, source) -> None:
    """Copy a cell's value as a paste does: text stays text even when it starts with =."""
    target.value = source.value
    target.data_type = source.data_type


def edit_workbook(path: Path, out: Path | None = None):
    """Context: yields {sheet title: Sheet} and saves to `out` (default: in place)."""
    from contextlib import contextmanager

    @contextmanager
    def editing():
        wb = load_workbook(path)
        yield {ws.title: Sheet(ws) for ws in wb.worksheets}
        wb.save(out or path)
    return editing()
