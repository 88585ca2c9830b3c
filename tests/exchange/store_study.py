"""A small real study for the store-to-QDPX tests: DOCX transcripts with accents, emoji,
combining marks and CR LF, ingested and coded with the real (spaCy) coder, then reviewed.

The Word runs are written through lxml so a CR LF inside an answer reaches the DOCX as
`&#13;` and the stored plain text keeps both characters, as text pasted from Windows does.
"""

from __future__ import annotations

from pathlib import Path

import docx
from sqlalchemy import select

from pipeline.code_study import code_study
from pipeline.ingest.ingest import ingest_study
from pipeline.init_study import init_study
from pipeline.store import open_study_store
from pipeline.store.schema import codings, segments
from pipeline.study import load_study

W_T = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t"

CODERS = """
[[coders]]
id = "ana"
name = "Ana Sousa"
role = "coder"

[[coders]]
id = "ben"
name = "Ben de Vries"
role = "coder"

[[coders]]
id = "pi"
name = "Pia Ilunga"
role = "adjudicator"
"""

TRANSCRIPTS = {
    "LIS-PM-01.docx": ("Lisbon", "policy maker", [
        ("What are the main programmes?",
         "The câmara runs a night shelter for refugees 🎉 and offers free language courses."
         "\r\nThe NGO gives legal aid to families from Guiné-Bissau."),
        ("Any problems?",
         "Finding affordable housing is the biggest problem; rents have doubled in São Bento."),
    ]),
    "SAO-CS-01.docx": ("São Paulo", "NGO", [
        ("What does your organisation do?",
         "Q\u0303ue Z\u0327\u0301 Migrante 👩🏽‍💼 offers a mentoring programme and job "
         "training for refugees.\r\nWe run language classes in Portuguese."),
    ]),
}


def write_transcript(path: Path, city: str, category: str, answers) -> None:
    document = docx.Document()
    document.add_paragraph(f"City: {city}")
    document.add_paragraph(f"Category: {category}")
    document.add_heading("Policies and programmes", level=1)
    for question, answer in answers:
        document.add_paragraph().add_run(question).bold = True
        run = document.add_paragraph().add_run("-")
        run._r.find(W_T).text = answer  # lxml writes CR as &#13;
    document.save(path)


def build_coded_study(folder: Path):
    """init, transcripts, ingest, code; returns the loaded study."""
    root = init_study(folder)
    config = root / "cityqda.toml"
    config.write_text(config.read_text(encoding="utf-8") + CODERS, encoding="utf-8")
    for name, (city, category, answers) in TRANSCRIPTS.items():
        write_transcript(root / "transcripts" / name, city, category, answers)
    study = load_study(root)
    store = open_study_store(study)
    try:
        report = ingest_study(study, store)
        assert not report.failed
        code_study(study, store)
    finally:
        store.close()
    return study


def coding_ids(study) -> dict[tuple[str, str], int]:
    """(code, evidence) -> coding id."""
    store = open_study_store(study)
    try:
        with store.read() as conn:
            return {(r.code, r.evidence_text): r.id for r in conn.execute(
                select(codings.c.id, codings.c.code, codings.c.evidence_text))}
    finally:
        store.close()


def segment_containing(conn, needle: str):
    for row in conn.execute(select(segments).where(segments.c.status == "current")):
        if needle in row.text:
            return row
    raise AssertionError(f"no segment contains {needle!r}")
