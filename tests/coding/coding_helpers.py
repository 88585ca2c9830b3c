"""Builders for coding tests: small codebooks, transcripts, a phrase tagger, store queries.

The phrase tagger finds each active code's phrases literally (ignoring case) and names the
pattern as the rule, so the codings a test expects can be worked out by hand; what is under
test is the store logic (identity, decisions, versions), not the spaCy coder.
"""

from __future__ import annotations

from pathlib import Path

import docx
import yaml
from sqlalchemy import select

from pipeline.store import open_study_store
from pipeline.store.schema import codings, decisions, interview_versions, interviews, segments

DIMENSIONS = ("social", "cultural_religious", "economic", "political", "legal")
CONTEXT = {
    "cues": [
        {"id": "neg.basic", "type": "negation", "phrases": ["no", "not"]},
        {"id": "hyp.basic", "type": "hypothetical", "direction": "both",
         "phrases": ["should"]},
    ],
    "terminators": ["but", ";"],
    "markers": {"strong": ["run", "offer"], "weak": ["programme"]},
    "problem": ["problem", "lack"],
    "actors": ["city", "council"],
}


def codebook_yaml(version: str, codes: dict, changes: list | None = None,
                  retired: tuple[str, ...] = (), pattern_ids: dict | None = None,
                  labels: dict | None = None) -> str:
    """A valid codebook: the five dimensions plus `codes` {subcode id: [phrases]}."""
    pattern_ids = pattern_ids or {}
    labels = labels or {}
    entries = [{"id": d, "kind": "dimension", "label": d.title(), "definition": f"{d} work."}
               for d in DIMENSIONS]
    for code_id, phrases in codes.items():
        entry = {"id": code_id, "kind": "subcode", "parent": code_id.split(".")[0],
                 "label": labels.get(code_id, code_id), "definition": f"Codes {code_id}."}
        if code_id in retired:
            entry["retired"] = True
        if phrases:
            entry["patterns"] = [{"id": pattern_ids.get(code_id, f"{code_id}.p0"),
                                  "role": "service", "phrases": list(phrases)}]
        entries.append(entry)
    document = {"id": "test_codebook", "title": "Test codebook", "version": version,
                "language": "en", "changes": changes or [], "codes": entries,
                "context": CONTEXT}
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def write_codebook(study, text: str) -> Path:
    path = study.path("codebook")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_transcript(path: Path, sections: dict[str, list[tuple[str, str]]],
                     city: str = "Lisbon") -> Path:
    """A summary transcript: metadata lines, then headings, bold questions, answers."""
    document = docx.Document()
    document.add_paragraph(f"City: {city}")
    document.add_paragraph("Category: policy maker")
    for heading, pairs in sections.items():
        document.add_heading(heading, level=1)
        for question, answer in pairs:
            document.add_paragraph().add_run(question).bold = True
            document.add_paragraph(answer)
    document.core_properties.comments = ""
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(path)
    return path


class PhraseTagger:
    """Finds the phrases of every active code literally; `no` right before means negated."""

    def __init__(self, codebook):
        self.codebook = codebook
        self.patterns = [(code.id, pattern.id, phrase) for code in codebook.codes
                         if not code.retired for pattern in code.patterns
                         for phrase in pattern.phrases]

    def tag_records(self, records):
        for record_id, text in records:
            found = []
            lowered = text.lower()
            for code_id, rule, phrase in self.patterns:
                at = lowered.find(phrase.lower())
                while at >= 0:
                    end = at + len(phrase)
                    before = lowered[:at].split()
                    found.append({
                        "code": code_id, "dimension": self.codebook.dimension_of(code_id),
                        "start": at, "end": end, "text": text[at:end], "rule": rule,
                        "negated": bool(before) and before[-1] == "no",
                        "hypothetical": False, "planned": False, "kind": "dimension",
                        "counts": True, "problem": False,
                        "codebook_version": self.codebook.version, "sentence": text,
                        "sentence_start": 0, "sentence_end": len(text), "cues": [],
                        "reassigned_from": None, "reassigned_by": None, "reason": None})
                    at = lowered.find(phrase.lower(), at + 1)
            found.sort(key=lambda c: (c["start"], c["end"], c["code"]))
            yield {"id": record_id, "codes": found, "actors": [], "initiatives": [],
                   "partnerships": []}


def query(study, statement):
    store = open_study_store(study)
    try:
        with store.read() as conn:
            return conn.execute(statement).all()
    finally:
        store.close()


def all_codings(study):
    return query(study, select(codings).order_by(codings.c.id))


def table_dump(study, *tables) -> list:
    """Every row of the given tables, for before/after comparisons."""
    return [query(study, select(table).order_by(*table.primary_key.columns))
            for table in tables]


def decisions_of(study, coding_id: int) -> dict[str, str]:
    return dict(query(study, select(decisions.c.coder, decisions.c.decision)
                      .where(decisions.c.coding_id == coding_id)))


def check_offsets(study) -> int:
    """plain[start:end] == evidence for every coding, in the version its offsets point
    into; returns how many codings were checked."""
    texts = {(r.interview_id, r.version): r.plain_text for r in query(
        study, select(interview_versions.c.interview_id, interview_versions.c.version,
                      interview_versions.c.plain_text))}
    current = {r.id: r.version for r in query(study, select(interviews.c.id,
                                                            interviews.c.version))}
    rows = all_codings(study)
    for row in rows:
        plain = texts[(row.interview_id, row.version)]
        assert plain[row.start:row.end] == row.evidence_text, row
        if row.sentence_start is not None:
            assert plain[row.sentence_start:row.sentence_end] == row.sentence, row
        assert row.version <= current[row.interview_id]
    seg_rows = query(study, select(segments))
    for seg in seg_rows:
        if seg.status == "current":
            assert texts[(seg.interview_id, seg.version)][seg.start:seg.end] == seg.text
    return len(rows)
