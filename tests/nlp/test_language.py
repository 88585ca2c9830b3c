"""The lookup lemmatizer (lower-cased, offline) and the sentencizer."""

import pytest

from pipeline.codebook import load_codebook
from pipeline.nlp.language import english_lemma_table, new_language


@pytest.fixture(scope="module")
def nlp():
    return new_language(load_codebook())


def test_language_lemma_table_comes_from_the_installed_package():
    import spacy_lookups_data

    table = english_lemma_table()
    assert table["refugees"] == "refugee"
    assert spacy_lookups_data.__file__  # read from the package, no download involved


@pytest.mark.parametrize("word, lemma", [
    ("Refugees", "refugee"),
    ("COURSES", "course"),
    ("housing", "housing"),          # codebook override: the noun is kept
    ("trainings", "training"),
    ("programs", "programme"),       # spelling variant after the lookup
    ("Organized", "organise"),
    ("centers", "centre"),
    ("does", "do"),
    ("NGOs", "ngo"),
    ("Quilicura", "quilicura"),      # unknown words: lower-cased
    ("35", "several"),               # a number in digits matches as an unspecified quantity
    ("1,200", "several"),
    ("Forty", "several"),            # ... and so does one written in words
    ("dozens", "several"),
    ("one", "one"),                  # "one" is as often a pronoun: kept
    ("Syrians", "migrant"),          # codebook override: a nationality names who is served
    ("Ukrainian", "ukrainian"),      # ... unless it also names a language
])
def test_language_lemmatizer_lower_cases_then_looks_up(nlp, word, lemma):
    doc = nlp(f"The {word} here.")
    assert doc[1].norm_ == lemma


@pytest.mark.parametrize("text, dimension, matched", [
    ("The company has hired 35 refugees as bus drivers.", "economic", "hired 35 refugees"),
    ("The charity accommodates forty asylum seekers in small flats.", "social",
     "accommodates forty asylum seekers"),
])
def test_language_numbers_match_phrases_written_with_several(tagger, text, dimension, matched):
    result = tagger.tag(text)
    assert result["dimensions"] == [dimension]
    assert matched in [code["text"] for code in result["codes"]]


def test_language_token_lemmas_are_filled_on_request():
    codebook = load_codebook()
    plain = new_language(codebook)("Refugees attended courses.")
    assert plain[0].lemma_ == ""
    filled = new_language(codebook, token_lemmas=True)("Refugees attended courses.")
    assert [t.lemma_ for t in filled] == ["refugee", "attend", "course", "\n"]


@pytest.mark.parametrize("text, sentences", [
    ("One sentence. Another one! A third?", ["One sentence.", "Another one!", "A third?"]),
    ('She said "yes." Then she left.', ['She said "yes."', "Then she left."]),
    ("Dr. Smith works in the U.S. office. Next.", ["Dr. Smith works in the U.S. office.",
                                                   "Next."]),
    ("A heading\nThe first line.", ["A heading\n", "The first line."]),
    ("Wait?! Yes...", ["Wait?!", "Yes..."]),
])
def test_language_sentencizer(tagger, text, sentences):
    doc = tagger.nlp(text)
    assert [s.text_with_ws.rstrip(" ") for s in doc.sents] == sentences
