"""A codebook turned into matcher input: which phrases with alternatives are matched as
templates (a head the PhraseMatcher finds, then unit by unit), and how they are cut."""

from __future__ import annotations

import pytest

from pipeline.nlp.compiled import phrase_count, phrase_units, template_split


@pytest.mark.parametrize(("phrase", "units"), [
    ("{help|support} {the|} refugee", [["help", "support"], ["the", ""], ["refugee"]]),
    ("job {fair|young people}", [["job"], ["fair", "young people"]]),
    ("{ a  b |c}", [["a b", "c"]]),
    ("{co|}-op", None),  # a group glued to a word: tokens may cross the boundary
    ("re{new|build}", None),
    ("{a|b}{c|d}", None),
])
def test_compiled_phrase_units_only_where_groups_stand_between_spaces(phrase, units):
    assert phrase_units(phrase) == units


@pytest.mark.parametrize(("phrase", "limit", "head", "rest"), [
    # the head runs to its second strong unit (no empty option, not only weak words)
    ("{help|assist} {the|} {refugee|migrant} {to|} {find|rent} {a|} {flat|home}", 400,
     ["help the refugee", "help the migrant", "help refugee", "help migrant",
      "assist the refugee", "assist the migrant", "assist refugee", "assist migrant"],
     [["to", ""], ["find", "rent"], ["a", ""], ["flat", "home"]]),
    # ... unless that makes too many phrases: then it stops after the first strong unit
    ("{help|assist|aid} {refugees|migrants|families|children} to {find|rent}", 10,
     ["help", "assist", "aid"],
     [["refugees", "migrants", "families", "children"], ["to"], ["find", "rent"]]),
    # nothing would be left after the head, or no strong unit at all: expanded in full
    ("{help|assist} {the|} {refugees|migrants}", 400, None, None),
    ("{to|for} {them|it} {and|or|}", 400, None, None),
])
def test_compiled_template_split_keeps_the_head_rare_and_small(phrase, limit, head, rest):
    split = template_split(phrase_units(phrase), head_limit=limit)
    assert split == (None if head is None else (head, rest))


def test_compiled_phrase_count_counts_before_duplicates_are_removed():
    assert phrase_count("{a|b|} {c|c}") == 6
