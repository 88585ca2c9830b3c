"""Actors, initiatives and partnerships from the tagger's results into the store."""

from __future__ import annotations

import json

from coding_helpers import PhraseTagger, codebook_yaml, query, write_codebook, write_transcript
from sqlalchemy import select

from pipeline.coding.entities import norm_name
from pipeline.store.schema import (
    actor_mentions,
    actors,
    initiative_actors,
    initiative_mentions,
    initiatives,
    interview_versions,
    partnership_parties,
    partnerships,
    segments,
)

NAMES = {"Lisbon City Council": ("policy_maker", "public", "lisbon_council"),
         "Caritas": ("civil_society", "third", None),
         "Banco Amigo": ("business", "private", None)}


class EntityTagger(PhraseTagger):
    """Phrase codes plus: known names are actors; 'X and Y run Z' is an initiative Z
    run by both and a partnership between them."""

    names = dict(NAMES)

    def tag_records(self, records):
        records = list(records)
        for result, (_id, text) in zip(super().tag_records(records), records, strict=True):
            found = []
            for name, (category, sector, registry_id) in self.names.items():
                at = text.find(name)
                if at >= 0:
                    found.append({"name": name, "category": category, "sector": sector,
                                  "start": at, "end": at + len(name), "guess": False,
                                  "registry_id": registry_id})
            found.sort(key=lambda a: a["start"])
            result["actors"] = found + [{"name": "the municipality", "generic": True,
                                         "category": "policy_maker", "start": None,
                                         "end": None}]
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


def test_entities_stored_once_per_city_with_mentions(study, run_code, run_ingest):
    write_codebook(study, codebook_yaml("1.0.0", {"social.housing": ["night shelter"]}))
    folder = study.path("transcripts")
    answer = "Lisbon City Council and Banco Amigo run the Night Shelter Fund."
    write_transcript(folder / "LIS-PM-01.docx", {"Policies": [("What exists?", answer)]})
    write_transcript(folder / "LIS-PM-02.docx", {"Policies": [
        ("What exists?", "Caritas works with Lisbon City Council."),
        ("Partners?", answer)]})
    run_ingest()
    run_code(tagger_factory=EntityTagger)

    rows = query(study, select(actors).order_by(actors.c.id))
    assert [(r.name, r.city, r.category, r.sector, r.origin, r.review_status)
            for r in rows] == [
        ("Lisbon City Council", "Lisbon", "policy_maker", "public", "registry", "confirmed"),
        ("Banco Amigo", "Lisbon", "business", "private", "rule", "suggested"),
        ("Caritas", "Lisbon", "civil_society", "third", "rule", "suggested"),
    ]
    assert rows[0].norm_name == norm_name("LISBON city council")
    mentions = query(study, select(actor_mentions))
    assert len(mentions) == 6  # generic "the municipality" is not an actor
    plain = dict(((r.interview_id, r.version), r.plain_text) for r in query(
        study, select(interview_versions)))
    interview_of = dict(query(study, select(segments.c.id, segments.c.interview_id)))
    for mention in mentions:
        assert plain[(interview_of[mention.segment_id], mention.version)][
            mention.start:mention.end] == mention.text
    (initiative,) = query(study, select(initiatives))
    assert (initiative.name, initiative.status, json.loads(initiative.dimensions)) == (
        "the Night Shelter Fund", "existing", ["social"])
    assert len(query(study, select(initiative_mentions))) == 2
    assert {r.role for r in query(study, select(initiative_actors))} == {"runs"}
    (partnership,) = query(study, select(partnerships))
    assert partnership.parties_key == " | ".join(sorted(
        [norm_name("Banco Amigo"), norm_name("Lisbon City Council")]))
    assert len(query(study, select(partnership_parties))) == 2


def test_entities_follow_moves_and_keep_what_is_no_longer_found(
        study, run_code, run_ingest):
    write_codebook(study, codebook_yaml("1.0.0", {"social.housing": ["night shelter"]}))
    path = study.path("transcripts") / "LIS-PM-01.docx"
    write_transcript(path, {"Policies": [("Who?", "Caritas helps families.")]})
    run_ingest()
    run_code(tagger_factory=EntityTagger)
    (before,) = query(study, select(actor_mentions))

    write_transcript(path, {"Policies": [("New?", "A new paragraph comes first."),
                                         ("Who?", "Caritas helps families.")]})
    run_ingest()
    report = run_code(tagger_factory=EntityTagger)
    assert report.tally.segments_moved == 1
    (moved,) = query(study, select(actor_mentions))
    assert (moved.id, moved.version) == (before.id, 2) and moved.start > before.start

    class Forgetful(EntityTagger):
        names = {}

    report = run_code(tagger_factory=Forgetful, recode_all=True)
    (kept,) = query(study, select(actor_mentions))
    assert kept.produced == 0
    assert [r.name for r in query(study, select(actors))] == ["Caritas"]
