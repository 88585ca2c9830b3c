"""The code ruler's one matcher pass: each match routed to the codes, a phrase group or a
cue, and the sentencizer reading the sentence ends from the same pass."""

from __future__ import annotations

import pytest

from pipeline.codebook.load import load_codebook
from pipeline.nlp.language import GROUPS_KEY
from pipeline.nlp.pipeline import build_pipeline


@pytest.fixture
def coder(minimal_codebook_path):
    nlp = build_pipeline(load_codebook(minimal_codebook_path))
    ruler = nlp.get_pipe("cityqda_codes")
    ruler.add_phrase_group("test:plain", ["open"])
    ruler.add_phrase_group("test:exact", ["opened"], exact_lower=True)
    return nlp


@pytest.mark.parametrize(("text", "plain", "exact"), [
    ("It opens daily.", [(1, 2)], None),  # lemma "open": the plain group only
    ("It opened daily.", [(1, 2)], [(1, 2)]),  # the exact word form: both
    ("Nothing here.", None, None),
])
def test_pipeline_phrase_groups_match_on_lemma_or_exact_lower_form(coder, text, plain, exact):
    groups, _ = coder(text).user_data[GROUPS_KEY]
    assert groups.get("test:plain") == plain
    assert groups.get("test:exact") == exact


def test_pipeline_cue_matches_are_listed_as_cues_not_groups(coder):
    groups, cues = coder("The city will not open a shelter.").user_data[GROUPS_KEY]
    assert cues == [(2, 3, "plan.basic"), (3, 4, "neg.basic")]
    assert not any(name.startswith("cue:") for name in groups)


def test_pipeline_sentences_start_after_the_ends_the_ruler_found(coder):
    doc = coder('She said "no." Then it opened. Done')
    groups, _ = doc.user_data[GROUPS_KEY]
    assert groups["sentence_end"] == [(4, 5), (9, 10)]
    assert [sent.text for sent in doc.sents] == ['She said "no."', "Then it opened.", "Done"]
