"""A small reviewed study for the aggregate tests, every count worked out by hand.

Interviews, segments and codings are written straight into a real SQLite store (no spaCy,
no DOCX), decisions through `set_decision`, entity state by setting the entity tables'
columns as the entity review leaves them. The expected values of every table cell are
spelled out in the tests next to the reasoning that gives them.

Register (cities sheet: Lisbon, São Paulo, Nairobi):
  round 1  Lisbon     interviewed LIS-PM-01.docx, interviewed LIS-BU-01.docx, declined,
                      no_reply, replied_not_interviewed
  round 1  São Paulo  interviewed SAO-CS-01.docx, no_reply, no_reply
  round 2  São Paulo  interviewed SAO-IO-01.docx, declined
  round 2  Nairobi    no_reply
Interviews (active): LIS-PM-01 (policy_maker), LIS-BU-01 (business), SAO-CS-01 (city written
"Sao Paulo", civil_society), SAO-IO-01 (international_organization); LIS-OLD-01 is retired.
Each active interview has segments ¶1 and ¶2; LIS-PM-01 also has a retired ¶3.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, update

from pipeline.coding.decisions import set_decision
from pipeline.ingest.register import write_register
from pipeline.init_study import init_study
from pipeline.store import open_study_store
from pipeline.store.schema import (
    actors,
    codings,
    initiative_actors,
    initiative_mentions,
    initiatives,
    interviews,
    partnership_mentions,
    partnership_parties,
    partnerships,
    segments,
)
from pipeline.study import load_study

NOW = "2026-01-01T00:00:00Z"
CITIES = [{"city": "Lisbon", "country": "Portugal", "code": "LIS", "aliases": "Lisboa"},
          {"city": "São Paulo", "country": "Brazil", "code": "SAO", "aliases": "Sao Paulo"},
          {"city": "Nairobi", "country": "Kenya", "code": "NAI"}]
REGISTER_ROWS = [
    {"round": "1", "city": "Lisbon", "category": "policy_maker", "outcome": "interviewed",
     "transcript_file": "LIS-PM-01.docx", "pseudonym": "LIS-PM-01"},
    {"round": "1", "city": "Lisbon", "category": "business", "outcome": "interviewed",
     "transcript_file": "LIS-BU-01.docx", "pseudonym": "LIS-BU-01"},
    {"round": "1", "city": "Lisbon", "category": "civil_society", "outcome": "declined"},
    {"round": "1", "city": "Lisbon", "category": "practitioner", "outcome": "no_reply"},
    {"round": "1", "city": "Lisbon", "category": "practitioner",
     "outcome": "replied_not_interviewed"},
    {"round": "1", "city": "São Paulo", "category": "civil_society", "outcome": "interviewed",
     "transcript_file": "SAO-CS-01.docx", "pseudonym": "SAO-CS-01"},
    {"round": "1", "city": "São Paulo", "category": "business", "outcome": "no_reply"},
    {"round": "1", "city": "São Paulo", "category": "policy_maker", "outcome": "no_reply"},
    {"round": "2", "city": "São Paulo", "category": "international_organization",
     "outcome": "interviewed", "transcript_file": "SAO-IO-01.docx", "pseudonym": "SAO-IO-01"},
    {"round": "2", "city": "São Paulo", "category": "business", "outcome": "declined"},
    {"round": "2", "city": "Nairobi", "category": "policy_maker", "outcome": "no_reply"},
]
INTERVIEWS = [  # file, city as written, category, status
    ("LIS-PM-01.docx", "Lisbon", "policy_maker", "active"),
    ("LIS-BU-01.docx", "Lisbon", "business", "active"),
    ("SAO-CS-01.docx", "Sao Paulo", "civil_society", "active"),
    ("SAO-IO-01.docx", "São Paulo", "international_organization", "active"),
    ("LIS-OLD-01.docx", "Lisbon", "policy_maker", "retired"),
]


@dataclass
class AggregateStudy:
    study: object
    interviews: dict[str, int] = field(default_factory=dict)  # file stem -> id
    segments: dict[str, int] = field(default_factory=dict)  # "LIS-PM-01 ¶1" -> id
    codings: dict[str, int] = field(default_factory=dict)  # "c1" -> id
    actors: dict[str, int] = field(default_factory=dict)
    initiatives: dict[str, int] = field(default_factory=dict)
    partnerships: dict[str, int] = field(default_factory=dict)

    def store(self):
        return open_study_store(self.study)

    def write(self, function):
        store = self.store()
        try:
            with store.write() as conn:
                return function(conn)
        finally:
            store.close()


def _metadata(city: str, category: str) -> str:
    return json.dumps({"city": {"value": city, "raw": city, "source": "table"},
                       "stakeholder_category": {"value": category, "raw": category,
                                                "source": "table"},
                       "interview_date": {"value": "2013-07-01", "raw": "1 July 2013",
                                          "source": "table"}})


def segment_text(stem: str, order: int) -> str:
    return (f"{stem} paragraph {order}: the Welcome Desk helps with housing and the "
            f"council offers language classes.")


def _add_interviews(conn, built: AggregateStudy) -> None:
    for file, city, category, status in INTERVIEWS:
        stem = file.removesuffix(".docx")
        orders = (1, 2, 3) if stem == "LIS-PM-01" else (1, 2)
        texts = [segment_text(stem, order) for order in orders]
        plain = "\n".join(texts)
        interview_id = conn.execute(insert(interviews).values(
            file=file, path=f"transcripts/{file}", sha256=hashlib.sha256(
                plain.encode()).hexdigest(), version=1, status=status, plain_text=plain,
            metadata=_metadata(city, category), ingested_at=NOW)).inserted_primary_key[0]
        built.interviews[stem] = interview_id
        start = 0
        for order, text in zip(orders, texts, strict=True):
            segment_id = conn.execute(insert(segments).values(
                interview_id=interview_id, ord=order, section="Policies and programmes",
                question="What are the main programmes?", text=text, start=start,
                end=start + len(text), sha256=hashlib.sha256(text.encode()).hexdigest(),
                status="retired" if order == 3 else "current")).inserted_primary_key[0]
            built.segments[f"{stem} ¶{order}"] = segment_id
            start += len(text) + 1


# name -> segment, code, dimension, kind, evidence, flags
CODINGS = {
    "c1": ("LIS-PM-01 ¶1", "social.housing", "social", "dimension", "housing", {}),
    "c2": ("LIS-PM-01 ¶1", "challenge.housing", None, "challenge", "housing", {}),
    "c3": ("LIS-PM-01 ¶1", "economic.employment", "economic", "dimension", "Welcome Desk",
           {}),
    "c4": ("LIS-PM-01 ¶2", "challenge.language", None, "challenge", "language", {}),
    "c5": ("LIS-PM-01 ¶2", "challenge.discrimination", None, "challenge", "council",
           {"negated": 1}),
    "c6": ("LIS-PM-01 ¶3", "challenge.housing", None, "challenge", "housing", {}),
    "c7": ("LIS-BU-01 ¶1", "challenge.housing", None, "challenge", "housing", {}),
    "c8": ("LIS-BU-01 ¶1", "challenge.housing", None, "challenge", "Welcome", {}),
    "c9": ("LIS-BU-01 ¶2", "cultural_religious.language", "cultural_religious", "dimension",
           "language classes", {}),
    "c10": ("SAO-CS-01 ¶1", "challenge.funding", None, "challenge", "council", {}),
    "c11": ("SAO-CS-01 ¶1", "social.education", "social", "dimension", "helps", {}),
    "c12": ("SAO-IO-01 ¶1", "challenge.funding", None, "challenge", "council", {}),
    "c13": ("SAO-IO-01 ¶1", "legal.legal_aid", "legal", "dimension", "Desk",
            {"produced": 0}),
    "c14": ("LIS-OLD-01 ¶1", "challenge.housing", None, "challenge", "housing", {}),
}
# name -> [(coder, role, decision)]
DECISIONS = {
    "c1": [("ana", "coder", "accept"), ("ben", "coder", "accept")],
    "c2": [("ana", "coder", "accept")],
    "c3": [("ana", "coder", "accept"), ("ben", "coder", "reject")],
    "c5": [("ana", "coder", "accept")],
    "c6": [("ana", "coder", "accept")],
    "c7": [("ana", "coder", "reject"), ("pi", "adjudicator", "accept")],
    "c8": [("ben", "coder", "accept")],
    "c9": [("ana", "coder", "reject")],
    "c10": [("ana", "coder", "accept")],
    "c11": [("ben", "coder", "accept")],
    "c12": [("ana", "coder", "accept")],
    "c14": [("ana", "coder", "accept")],
}


def _add_codings(conn, built: AggregateStudy) -> None:
    from sqlalchemy import select

    for name, (segment, code, dimension, kind, evidence, flags) in CODINGS.items():
        segment_id = built.segments[segment]
        seg = conn.execute(select(segments).where(segments.c.id == segment_id)).one()
        at = seg.text.index(evidence)
        negated = flags.get("negated", 0)
        coding_id = conn.execute(insert(codings).values(
            interview_id=seg.interview_id, segment_id=segment_id, code=code,
            dimension=dimension, kind=kind, origin="rule:R1", rule_id="R1", coder="",
            codebook_version="1.0.0", evidence_text=evidence, occurrence=0,
            start=seg.start + at, end=seg.start + at + len(evidence), version=1,
            sentence=seg.text, sentence_start=seg.start, sentence_end=seg.end,
            negated=negated, counts=int(kind == "dimension" and not negated),
            produced=flags.get("produced", 1), created_at=NOW)).inserted_primary_key[0]
        built.codings[name] = coding_id
    for name, decided in DECISIONS.items():
        for coder, role, decision in decided:
            set_decision(conn, built.codings[name], coder, decision, source="test",
                         role=role, comment="looks right" if name == "c1" and coder == "ana"
                         else None)


ACTORS = {  # name -> city, sector, review_status
    "A1": ("Lisbon City Council", "Lisbon", "public", "confirmed"),
    "A2": ("Tejo Hotels", "Lisbon", "private", "confirmed"),
    "A3": ("Casa do Migrante", "São Paulo", "third", "suggested"),
    "A4": ("Missão Paz", "São Paulo", "third", "rejected"),
    "A5": ("Casa Migrante", "São Paulo", "third", None),  # merged into A3
}
# name -> display name, city, status, dimensions, review_status, verdict, actors (role)
INITIATIVES = {
    "I1": ("Welcome Desk", "Lisbon", "existing", ["social", "legal"], "confirmed",
           "good practice", [("A1", "runs"), ("A2", "funds")]),
    "I2": ("Hotel Jobs", "Lisbon", "existing", ["economic"], "confirmed", "none",
           [("A2", "runs")]),
    "I3": ("Future Plan", "Lisbon", "planned", ["social"], "confirmed", None, [("A1", "runs")]),
    "I4": ("Rejected One", "Lisbon", "existing", ["social"], "rejected", None,
           [("A1", "runs")]),
    "I5": ("Portuguese Classes", "São Paulo", "existing", ["cultural_religious", "social"],
           "confirmed", "promising_practice",
           [("A3", "runs"), ("A4", "partner"), ("A5", "funds")]),
    "I6": ("Suggested Thing", "São Paulo", "existing", ["economic"], "suggested", None,
           [("A3", "runs")]),
    "I7": ("Legal Clinic", "Sao Paulo", "existing", ["legal"], "confirmed", None, []),
}
INITIATIVE_MENTIONS = {"I1": ["LIS-PM-01 ¶1"], "I2": ["LIS-BU-01 ¶1"],
                       "I3": ["LIS-PM-01 ¶2"], "I4": ["LIS-PM-01 ¶2"],
                       "I5": ["SAO-CS-01 ¶1"], "I6": ["SAO-CS-01 ¶2"],
                       "I7": ["SAO-IO-01 ¶1", "SAO-CS-01 ¶2"]}
RATINGS = {"practicality": "met", "innovation": "partly", "successfulness": "met",
           "transferability": "met", "sustainability": "unknown", "strategic fit": "not met"}
# name -> city, parties, type, status, review_status, mentioned in
PARTNERSHIPS = {
    "P1": ("Lisbon", ["A1", "A2"], "public_private", "existing", "confirmed", "LIS-PM-01 ¶2"),
    "P2": ("Lisbon", ["A2", "A4"], "third_actor_private", "existing", "confirmed",
           "LIS-BU-01 ¶2"),
    "P3": ("São Paulo", ["A3", "A1"], "third_actor_public", "planned", "confirmed",
           "SAO-CS-01 ¶2"),
    "P4": ("São Paulo", ["A3", "A4"], "other", "existing", "suggested", "SAO-CS-01 ¶2"),
    "P5": ("São Paulo", ["A5", "A1"], "third_actor_public", "existing", "confirmed",
           "SAO-IO-01 ¶2"),
    "P6": ("Lisbon", ["A1", "A4"], "other", "ended", "confirmed", "LIS-PM-01 ¶2"),
}


def _add_entities(conn, built: AggregateStudy) -> None:
    from sqlalchemy import select

    for key, (name, city, sector, status) in ACTORS.items():
        built.actors[key] = conn.execute(insert(actors).values(
            city=city, name=name, norm_name=name.lower(), sector=sector, origin="rule",
            review_status=status or "suggested")).inserted_primary_key[0]
    conn.execute(update(actors).where(actors.c.id == built.actors["A5"])
                 .values(review_status=f"merged_into:{built.actors['A3']}"))
    for key, (name, city, status, dims, review, verdict, linked) in INITIATIVES.items():
        initiative_id = conn.execute(insert(initiatives).values(
            city=city, name=name, norm_name=name.lower(), status=status,
            dimensions=json.dumps(dims), origin="rule", review_status=review,
            verdict=verdict, ratings=json.dumps(RATINGS) if key == "I1" else None,
            justification="Serves every new arrival" if key == "I1" else None,
        )).inserted_primary_key[0]
        built.initiatives[key] = initiative_id
        for actor, role in linked:
            conn.execute(insert(initiative_actors).values(
                initiative_id=initiative_id, actor_id=built.actors[actor], role=role))
        for segment in INITIATIVE_MENTIONS[key]:
            seg = conn.execute(select(segments).where(
                segments.c.id == built.segments[segment])).one()
            conn.execute(insert(initiative_mentions).values(
                initiative_id=initiative_id, segment_id=seg.id, start=seg.start,
                end=seg.start + 5, version=1, text=seg.text[:5]))
    for key, (city, parties, kind, status, review, segment) in PARTNERSHIPS.items():
        names = sorted(ACTORS[p][0].lower() for p in parties)
        partnership_id = conn.execute(insert(partnerships).values(
            city=city, parties_key=" | ".join(names), type=kind, status=status,
            origin="rule", review_status=review)).inserted_primary_key[0]
        built.partnerships[key] = partnership_id
        for party in parties:
            conn.execute(insert(partnership_parties).values(
                partnership_id=partnership_id, actor_id=built.actors[party]))
        seg = conn.execute(select(segments).where(
            segments.c.id == built.segments[segment])).one()
        conn.execute(insert(partnership_mentions).values(
            partnership_id=partnership_id, segment_id=seg.id, start=seg.start,
            end=seg.start + 5, version=1, text=seg.text[:5]))
    # A5's link was merged: the entity review moves links, but an old one must still count
    # as the actor it was merged into (A3), never twice.


def build_aggregate_study(root: Path) -> AggregateStudy:
    study_dir = init_study(root / "study")
    study = load_study(study_dir)
    write_register(study.path("register"), REGISTER_ROWS, CITIES, study.vocabularies)
    built = AggregateStudy(study=study)
    built.write(lambda conn: (_add_interviews(conn, built), _add_codings(conn, built),
                              _add_entities(conn, built)))
    return built


def code_label(study, code_id: str) -> str:
    """The label the study's codebook gives a code (read here independently of cityqda)."""
    import yaml

    data = yaml.safe_load(study.path("codebook").read_text(encoding="utf-8"))
    return next(entry["label"] for entry in data["codes"] if entry["id"] == code_id)
