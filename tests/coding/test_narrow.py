"""A codebook change in patterns only re-codes just the segments those patterns can touch,
and the result is the same as re-coding everything."""

from __future__ import annotations

import copy

import pytest
import yaml
from coding_helpers import (
    PhraseTagger,
    all_codings,
    codebook_yaml,
    decisions_of,
    query,
    write_codebook,
    write_transcript,
)
from sqlalchemy import select

from pipeline.coding.decisions import set_decision
from pipeline.coding.narrow import changed_pattern_codes, matching_segments
from pipeline.store.schema import segment_coding

CODES = {"social.housing": ["night shelter"], "legal.legal_aid": ["legal aid"],
         "economic.employment": ["job fair"]}
ANSWERS = ["The city runs a night shelter.", "Volunteers give legal aid.",
           "A job fair takes place in spring.", "Families find a hostel in the centre.",
           "Nothing about services here."]


def _data(codes=CODES, version="1.0.0"):
    return yaml.safe_load(codebook_yaml(version, codes))


@pytest.mark.parametrize("edit, expected", [
    (lambda d: d["codes"][5]["patterns"][0]["phrases"].append("hostel"), {"social.housing"}),
    (lambda d: d["codes"].append({"id": "legal.rights", "kind": "subcode", "parent": "legal",
                                  "label": "x", "definition": "y",
                                  "patterns": [{"id": "legal.rights.p0", "role": "service",
                                                "phrases": ["rights desk"]}]}),
     {"legal.rights"}),
    (lambda d: d["codes"][5]["patterns"][0].update(role="topic"), {"social.housing"}),
    (lambda d: d["codes"][5].update(parent="legal"), None),  # hierarchy
    (lambda d: d["context"]["cues"][0]["phrases"].append("never"), None),
    (lambda d: d.update(rules=[{"id": "R1", "type": "suppress", "label": "x",
                                "reason": "y", "phrases": ["legal obligation"]}]), None),
    (lambda d: d["codes"].pop(5), None),  # a removed code
    (lambda d: d["codes"].insert(5, d["codes"].pop(6)), None),  # reordered
    (lambda d: d["codes"][5].update(label="Housing!"), None),  # wording: nothing to narrow
])
def test_narrow_changed_pattern_codes(edit, expected):
    old = _data()
    new = copy.deepcopy(old)
    edit(new)
    assert changed_pattern_codes(old, new) == expected


def test_narrow_matching_segments_uses_the_coders_matching():
    old = _data()
    new = copy.deepcopy(old)
    new["codes"][5]["patterns"][0]["phrases"].append("hostel")
    texts = list(enumerate(["Two night shelters opened.", "A HOSTEL for families.",
                            "Legal aid only.", "Nothing."]))
    # lemmas and case: "shelters" and "HOSTEL" match; other codes' matches do not count
    assert matching_segments(old, new, {"social.housing"}, texts) == {0, 1}


@pytest.mark.parametrize("real_coder", [False, True])
def test_narrow_pattern_change_recodes_only_where_it_can_match(
        study, run_code, run_ingest, in_store, real_coder):
    factory = None if real_coder else PhraseTagger  # None: the spaCy coder

    def code(**options):
        return run_code(tagger_factory=factory, **options)

    write_codebook(study, codebook_yaml("1.0.0", CODES))
    write_transcript(study.path("transcripts") / "LIS-PM-01.docx",
                     {"Policies": [(f"Question {i}?", a) for i, a in enumerate(ANSWERS)]})
    run_ingest()
    code()
    before = {r.id: r for r in all_codings(study)}
    legal = next(r.id for r in before.values() if r.code == "legal.legal_aid")
    in_store(lambda conn: set_decision(conn, legal, "ana", "accept", source="t"))

    changed = {**CODES, "social.housing": ["night shelter", "hostel"]}
    write_codebook(study, codebook_yaml("1.1.0", changed))
    report = code()
    # the shelter and hostel answers are coded again; the other three are not
    assert (report.tally.segments_coded, report.tally.segments_refreshed) == (2, 3)
    after = {r.id: r for r in all_codings(study)}
    assert "hostel" in {r.evidence_text for r in after.values() if r.id not in before}
    assert {r.codebook_version for r in after.values() if r.produced} == {"1.1.0"}
    assert {r.fingerprint for r in query(study, select(segment_coding))} == {
        report.fingerprint}
    assert decisions_of(study, legal) == {"ana": "accept"}

    # coding everything again changes nothing: the narrowed re-code was exact
    full = code(recode_all=True)
    assert full.tally.segments_coded == 5
    assert (full.tally.codings_new, full.tally.codings_updated,
            full.tally.codings_stopped) == (0, 0, 0)


def test_narrow_pattern_change_and_moved_segments_together_stay_exact(
        study, run_code, run_ingest):
    """Segments the new patterns cannot touch but that moved (a paragraph was added above
    them) are written as moved, not coded again; re-coding everything then changes
    nothing."""
    def code(**options):
        return run_code(tagger_factory=PhraseTagger, **options)

    path = study.path("transcripts") / "LIS-PM-01.docx"
    write_codebook(study, codebook_yaml("1.0.0", CODES))
    write_transcript(path, {"Policies": [(f"Question {i}?", a) for i, a in enumerate(ANSWERS)]})
    run_ingest()
    code()
    write_codebook(study, codebook_yaml("1.1.0", {**CODES,
                                                  "social.housing": ["night shelter", "hostel"]}))
    moved = [("Question first?", "An opening answer about a job fair.")]
    write_transcript(path, {"Policies": moved + [(f"Question {i}?", a)
                                                 for i, a in enumerate(ANSWERS)]})
    run_ingest()
    report = code()
    # the new answer and the two housing answers are coded; the other three moved and
    # take the new fingerprint without coding
    assert report.tally.segments_coded == 3
    assert report.tally.segments_moved == 3
    assert report.tally.segments_refreshed == 3  # moved and refreshed
    assert {r.fingerprint for r in query(study, select(segment_coding))} == {
        report.fingerprint}
    assert {r.codebook_version for r in all_codings(study) if r.produced} == {"1.1.0"}
    full = code(recode_all=True)
    assert (full.tally.codings_new, full.tally.codings_updated,
            full.tally.codings_stopped) == (0, 0, 0)
