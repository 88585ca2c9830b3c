"""Finding evidence again in edited text: instances, position maps, one-to-one anchoring."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.coding.anchor import anchor_group, instances, occurrence_of, position_map


@pytest.mark.parametrize("text, evidence, expected", [
    ("legal aid and legal aid", "legal aid", [0, 14]),
    ("aaa", "aa", [0, 1]),  # overlapping places count
    ("no match here", "legal aid", []),
    ("anything", "", []),
])
def test_anchor_instances(text, evidence, expected):
    assert instances(text, evidence) == expected


def test_anchor_occurrence_of_counts_text_instances():
    text = "legal aid here, legal aid there"
    assert [occurrence_of(text, "legal aid", s) for s in (0, 16, 3)] == [0, 1, -1]


@pytest.mark.parametrize("old, new, word", [
    ("The citty runs a night shelter.", "The city runs a night shelter.", "night shelter"),
    ("We run a shelter.", "Since 2020 we run a shelter.", "shelter"),
    ("A shelter, a desk and a fund.", "A shelter and a fund.", "fund"),
    ("same text", "same text", "text"),
])
def test_anchor_position_map_follows_unchanged_words(old, new, word):
    mapped = position_map(old, new)(old.index(word))
    assert new[mapped:mapped + len(word)] == word


WORDS = st.text(alphabet="abc de", max_size=30)


@settings(max_examples=300, deadline=None)
@given(before=WORDS, between=WORDS, after=WORDS, inserted=WORDS, at_start=st.booleans())
def test_anchor_position_map_finds_untouched_evidence_after_an_insertion(
        before, between, after, inserted, at_start):
    """Evidence (a mark no other text contains) keeps its place through any insertion."""
    old = before + "\u27e6\u27e7" + between + after
    new = (inserted + old) if at_start else (before + "\u27e6\u27e7" + between + inserted
                                              + after)
    mapping = position_map(old, new)
    assert new[mapping(old.index("\u27e6")):].startswith("\u27e6\u27e7")
    places = [mapping(p) for p in range(len(old) + 1)]
    assert places == sorted(places) and 0 <= places[0] and places[-1] <= len(new)


def test_anchor_group_gives_each_instance_to_one_coding():
    text = "aid one, aid two, aid three"
    places = instances(text, "aid")
    # a sure hint wins its place; the others take the nearest free instance; extra ones
    # find nothing
    result = anchor_group(text, "aid", [(1, places[1], True), (2, places[1] + 1, False),
                                        (3, None, False), (4, 0, False)])
    assert result[1] == places[1]
    assert result[2] == places[2]
    assert result[3] == places[0]
    assert result[4] is None


def test_anchor_group_evidence_gone():
    assert anchor_group("no such words", "legal aid", [(7, 3, True)]) == {7: None}
