"""Builders shared by the agreement, entity-decision and rule-quality tests: a coded study
with declared coders, decisions, and review export records written straight into the store."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "coding"))

from coding_helpers import (  # noqa: E402
    PhraseTagger,
    codebook_yaml,
    write_codebook,
    write_transcript,
)

from pipeline.code_study import code_study  # noqa: E402
from pipeline.ingest.ingest import ingest_study  # noqa: E402
from pipeline.store import open_study_store, utc_now  # noqa: E402
from pipeline.store.schema import (  # noqa: E402
    codings,
    review_export_rows,
    review_exports,
    review_imports,
    segments,
)
from pipeline.study import load_study  # noqa: E402

CODERS = {"ana": "coder", "ben": "coder", "cara": "coder", "judge": "adjudicator"}
CODES = {"social.housing": ["night shelter"], "economic.jobs": ["job fair"],
         "legal.advice": ["legal clinic"]}

__all__ = ["PhraseTagger", "codebook_yaml", "write_codebook", "write_transcript",
           "add_coders", "build_study", "segment_ids", "coding_id", "with_store",
           "record_reviewed", "EntityTagger", "recode", "entity_id", "ingest_and_code"]


def add_coders(study_dir: Path, coders: dict[str, str] = CODERS) -> None:
    config = study_dir / "cityqda.toml"
    text = config.read_text(encoding="utf-8")
    for coder, role in coders.items():
        text += f'\n[[coders]]\nid = "{coder}"\nrole = "{role}"\n'
    config.write_text(text, encoding="utf-8")


def build_study(study_dir: Path, transcripts: dict[str, list[str]], *,
                tagger_factory=PhraseTagger, codes: dict | None = None):
    """Ingest and code transcripts {file name: [answers]} (one answer = one segment)."""
    add_coders(study_dir)
    study = load_study(study_dir)
    write_codebook(study, codebook_yaml("1.0.0", codes or CODES))
    for name, answers in transcripts.items():
        write_transcript(study.path("transcripts") / name, {"Policies": [
            (f"Question {i}?", answer) for i, answer in enumerate(answers, start=1)]})
    store = open_study_store(study)
    try:
        report = ingest_study(study, store)
        assert not report.failed
        code_study(study, store, tagger_factory=tagger_factory)
    finally:
        store.close()
    return study


def with_store(study, function, *, write: bool = True):
    store = open_study_store(study)
    try:
        with (store.write() if write else store.read()) as conn:
            return function(conn)
    finally:
        store.close()


def segment_ids(study) -> dict[str, int]:
    """Answer text -> segment id."""
    rows = with_store(study, lambda conn: conn.execute(
        select(segments.c.id, segments.c.text).where(segments.c.status == "current")).all(),
        write=False)
    return {text: segment_id for segment_id, text in rows}


def coding_id(study, segment_id: int, code: str) -> int:
    return with_store(study, lambda conn: conn.execute(select(codings.c.id).where(
        codings.c.segment_id == segment_id, codings.c.code == code,
        codings.c.coder == "")).scalar_one(), write=False)


def record_reviewed(conn, export_id: str, coder: str, segment_ids_seen: list[int], *,
                    imported: bool = True, role: str = "coder") -> None:
    """An export record listing segments (as the review workbook's Segments sheet would)."""
    conn.execute(insert(review_exports).values(id=export_id, coder=coder, role=role,
                                               created_at=utc_now()))
    for segment_id in segment_ids_seen:
        conn.execute(insert(review_export_rows).values(
            export_id=export_id, sheet="Segments", row_key=f"S{segment_id}",
            entity="segments", entity_id=segment_id, content_sha256="0" * 64))
    if imported:
        conn.execute(insert(review_imports).values(
            export_id=export_id, file=f"{export_id}.xlsx", sha256="1" * 64, coder=coder,
            imported_at=utc_now()))


ENTITY_NAMES = {"Lisbon City Council": ("policy_maker", "public", "lisbon_council"),
                "Caritas": ("civil_society", "third", None),
                "Banco Amigo": ("business", "private", None)}


class EntityTagger(PhraseTagger):
    """Phrase codes plus: known names are actors; 'X and Y run Z.' is an initiative Z run
    by both and a partnership between them."""

    def tag_records(self, records):
        records = list(records)
        for result, (_id, text) in zip(super().tag_records(records), records, strict=True):
            found = []
            for name, (category, sector, registry_id) in ENTITY_NAMES.items():
                at = text.find(name)
                if at >= 0:
                    found.append({"name": name, "category": category, "sector": sector,
                                  "start": at, "end": at + len(name), "guess": False,
                                  "registry_id": registry_id})
            found.sort(key=lambda a: a["start"])
            result["actors"] = found
            if " run " in text and len(found) >= 2:
                initiative = text.split(" run ", 1)[1].rstrip(".")
                at = text.index(initiative)
                result["initiatives"] = [{
                    "name": initiative, "status": "existing", "dimensions": ["social"],
                    "start": at, "end": at + len(initiative),
                    "actors": [{"name": a["name"], "role": "runs"} for a in found]}]
                result["partnerships"] = [{"parties": [a["name"] for a in found],
                                           "type": "public_private", "status": "existing"}]
            yield result


def recode(study, tagger_factory=EntityTagger):
    store = open_study_store(study)
    try:
        return code_study(study, store, tagger_factory=tagger_factory, recode_all=True)
    finally:
        store.close()


def entity_id(study, table, name: str) -> int:
    from pipeline.coding.entities import norm_name

    return with_store(study, lambda conn: conn.execute(select(table.c.id).where(
        table.c.norm_name == norm_name(name))).scalar_one(), write=False)


def ingest_and_code(study, tagger_factory=EntityTagger) -> None:
    """Ingest and code a study folder whose store is new (a rebuilt study)."""
    store = open_study_store(study)
    try:
        assert not ingest_study(study, store).failed
        code_study(study, store, tagger_factory=tagger_factory)
    finally:
        store.close()
