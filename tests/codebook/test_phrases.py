"""Phrase alternatives: {a|b} written once, matched as every combination."""

import pytest

from pipeline.codebook.phrases import PhraseError, expand_phrase


@pytest.mark.parametrize("phrase, expected", [
    ("language course", ["language course"]),
    ("{free|weekly} {english|french} class",
     ["free english class", "free english class".replace("english", "french"),
      "weekly english class", "weekly french class"]),
    ("{night|} shelter", ["night shelter", "shelter"]),
    ("  spaced   {a|b}  ", ["spaced a", "spaced b"]),
    ("{a|a} b", ["a b"]),
])
def test_phrases_expand(phrase, expected):
    assert expand_phrase(phrase) == expected


@pytest.mark.parametrize("phrase, message", [
    ("{a|b", "unbalanced"),
    ("a}", "unbalanced"),
    ("{a|{b}}", "nested"),
    ("{|}", "empty"),
])
def test_phrases_refuse_broken_alternatives(phrase, message):
    with pytest.raises(PhraseError, match=message):
        expand_phrase(phrase)


def test_phrases_refuse_too_many_combinations():
    phrase = " ".join(["{a|b|c|d|e|f|g|h|i|j}"] * 5)
    with pytest.raises(PhraseError, match="more than the limit"):
        expand_phrase(phrase)
