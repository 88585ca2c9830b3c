"""The normalised copy for matching, and its map back to original offsets."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.normalise import normalise, normalise_text


@pytest.mark.parametrize("original, expected", [
    ("local\u00a0integration", "local integration"),
    ("narrow\u202fno-break and thin\u2009space", "narrow no-break and thin space"),
    ("soft\u00adhyphen and zero\u200bwidth", "softhyphen and zerowidth"),
    ("\u201cquoted\u201d and \u2018single\u2019", "\"quoted\" and 'single'"),
    ("en \u2013 em \u2014 minus \u2212 dash", "en - em - minus - dash"),
    ("line\nbreak\tand  runs   of spaces", "line break and runs of spaces"),
    ("\ufb01rst \ufb02oor e\ufb00ort o\ufb03ce ba\ufb04e", "first floor effort office baffle"),
    ("\ufb06reet", "street"),
    ("a\ufb05er, le\ufb05, o\ufb05en, shi\ufb05", "after, left, often, shift"),
    ("mo\ufb05 fir\ufb05 be\ufb05", "most first best"),  # the long-s reading stays "st"
    ("Cafe\u0301 nai\u0308ve", "Caf\u00e9 na\u00efve"),
    ("\uff21\uff22\uff23 full width", "ABC full width"),
    ("wait\u2026", "wait..."),
    ("emoji \U0001F44D\U0001F3FD kept", "emoji \U0001F44D\U0001F3FD kept"),
])
def test_normalise_examples(original, expected):
    assert normalise_text(original) == expected


def test_normalise_ft_ligature_is_not_read_as_st_as_nfkc_would():
    assert unicodedata.normalize("NFKC", "a\ufb05er") == "aster"
    assert normalise_text("a\ufb05er") == "after"


def test_normalise_maps_matches_back_to_original_offsets():
    original = "The\u00a0city\u2019s \ufb01rst \u201cwelcome\u00a0desk\u201d opened."
    result = normalise(original)
    start = result.text.index("welcome desk")
    span = result.to_original(start, start + len("welcome desk"))
    assert original[span[0]:span[1]] == "welcome\u00a0desk"
    start = result.text.index("first")
    span = result.to_original(start, start + len("first"))
    assert original[span[0]:span[1]] == "\ufb01rst"
    assert result.to_normalised(*span) == (start, start + len("first"))


def test_normalise_refuses_spans_outside_the_text():
    with pytest.raises(ValueError):
        normalise("abc").to_original(2, 5)


ALPHABET = st.sampled_from(list(
    "abcdefgh ABC.,;:!?'\"-\n\t"
    "\u00a0\u202f\u2009\u00ad\u200b\u2018\u2019\u201c\u201d\u2013\u2014\u2212\u2026"
    "\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06\u0301\u0308\u00e9\uff21"
    "\U0001F44D\U0001F3FD\u200d"))
TEXTS = st.lists(ALPHABET, max_size=40).map("".join)
# U+FB05 reads as "ft" or "st" depending on its whole word, so a piece cut out of a word
# may normalise differently from the same piece in context.
CONTEXT_FREE_TEXTS = TEXTS.map(lambda text: text.replace("\ufb05", "\ufb06"))


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_normalise_every_character_maps_to_an_original_span(text):
    result = normalise(text)
    assert len(result.starts) == len(result.ends) == len(result.text)
    previous_end = 0
    for index in range(len(result.text)):
        start, end = result.starts[index], result.ends[index]
        assert 0 <= start < end <= len(text)
        assert start >= previous_end or result.starts[index] == result.starts[index - 1]
        previous_end = end


@settings(max_examples=300, deadline=None)
@given(CONTEXT_FREE_TEXTS, st.data())
def test_normalise_spans_map_back_inside_the_original(text, data):
    result = normalise(text)
    start = data.draw(st.integers(0, len(result.text)))
    end = data.draw(st.integers(start, len(result.text)))
    original_start, original_end = result.to_original(start, end)
    assert 0 <= original_start <= original_end <= len(text)
    if end > start:
        # the original span, normalised, contains the normalised span
        assert result.text[start:end].strip() in normalise_text(
            text[original_start:original_end]).strip() or not result.text[start:end].strip()


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_normalise_is_idempotent(text):
    once = normalise_text(text)
    assert normalise_text(once) == once
