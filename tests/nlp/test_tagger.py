"""The objects `cityqda tag` prints, from the Python API: keys, offsets, explanations."""

import json

import pytest

from pipeline.nlp import Tagger, tag_texts
from tests.nlp.conftest import coding

CONTRACT_KEYS = {"id", "dimensions", "codes", "actors", "initiatives", "partnerships"}
CODE_KEYS = {"code", "dimension", "start", "end", "text", "rule", "negated", "hypothetical",
             "planned"}


def test_tagger_output_keys_follow_the_contract(tagger):
    result = tagger.tag("The city runs free Arabic classes, but there is no shelter.", "s1")
    assert CONTRACT_KEYS <= set(result)
    assert list(result)[:6] == ["id", "dimensions", "codes", "actors", "initiatives",
                                "partnerships"]
    assert result["id"] == "s1"
    assert all(isinstance(result[key], list) for key in ("actors", "initiatives", "partnerships"))
    for code in result["codes"]:
        assert CODE_KEYS <= set(code)
    json.dumps(result, ensure_ascii=False)


def test_tagger_every_coding_explains_itself(tagger):
    text = "The NGO offers legal aid. The city should open a shelter."
    result = tagger.tag(text)
    version = tagger.codebook.version
    for code in result["codes"]:
        assert code["rule"] and code["codebook_version"] == version
        assert text[code["start"]:code["end"]] == code["text"]
        assert text[code["sentence_start"]:code["sentence_end"]] == code["sentence"]
        assert code["text"] in code["sentence"]
    shelter = coding(result, "shelter")
    assert shelter["hypothetical"] and shelter["cues"][0]["text"] == "should"
    assert shelter["sentence"] == "The city should open a shelter."


HARD_TEXTS = [
    "\U0001f44b\U0001f3fd Welcome! The city runs free Arabic classes \U0001f1f8\U0001f1fe for "
    "refugees.",
    "The caf\u0065\u0301 hosts the Bogota\u0301 NGO, which offers legal\u00a0aid to migrants.",
    "The municipality\u00a0runs a job\u2009fair.\r\nThere is no shelter\u2026 but legal aid "
    "exists.",
    "\u201cWe offer housing support,\u201d she said.\r\n\r\nThe NGO runs a soup kitchen.",
    "Z\u0308urich\u2019s welcome desk offers an orienta\u00adtion course.",
]


@pytest.mark.parametrize("text", HARD_TEXTS, ids=range(len(HARD_TEXTS)))
def test_tagger_offsets_are_code_points_into_the_text_as_given(tagger, text):
    result = tagger.tag(text)
    assert result["codes"], text
    for code in result["codes"]:
        assert text[code["start"]:code["end"]] == code["text"]
        assert text[code["sentence_start"]:code["sentence_end"]] == code["sentence"]
        for cue in code["cues"]:
            assert text[cue["start"]:cue["end"]] == cue["text"]
    for dropped in result["suppressed"]:
        assert text[dropped["start"]:dropped["end"]] == dropped["text"]


def test_tagger_matches_across_normalised_characters(tagger):
    result = tagger.tag("Z\u0308urich\u2019s welcome desk offers an orienta\u00adtion course.")
    found = coding(result, "orienta\u00adtion course")
    assert found["code"] == "social.reception"


def test_tagger_tag_texts_keeps_order_and_ids(tagger):
    texts = ["The NGO offers legal aid.", "", "There is no shelter.", "Arabic classes."]
    results = tagger.tag_texts(texts, ids=["a", 2, None, {"x": 1}])
    assert [r["id"] for r in results] == ["a", 2, None, {"x": 1}]
    assert [r["dimensions"] for r in results] == [["legal"], [], [], ["cultural_religious"]]


def test_tagger_module_api_equals_the_class(tagger):
    texts = ["The NGO offers legal aid.", "The city should fund a job fair."]
    assert tag_texts(texts) == tagger.tag_texts(texts)


def test_tagger_accepts_a_codebook_path(minimal_codebook_path):
    tagger = Tagger(minimal_codebook_path)
    result = tagger.tag("The city runs a night shelter and English classes.")
    assert result["dimensions"] == ["social", "cultural_religious"]
    assert {c["rule"] for c in result["codes"]} == {"social.housing.service",
                                                   "cultural_religious.language.course"}


def test_tagger_refuses_a_broken_codebook(tmp_path):
    from pipeline.errors import CityQDAError

    path = tmp_path / "bad.yaml"
    path.write_text("id: x\n", encoding="utf-8")
    with pytest.raises(CityQDAError) as caught:
        Tagger(path)
    assert caught.value.code == "CQ202"


def test_tagger_is_deterministic(tagger):
    text = "The city runs Arabic classes; there is no shelter but legal aid is free."
    assert json.dumps(tagger.tag(text)) == json.dumps(tagger.tag(text))
