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


TEMPLATE = ("{help|support|assist} {the|their|} {refugee|migrant|young people|asylum seeker} "
            "{to|} {find|rent|secure} {a|an|} {flat|home|room|rented flat} {in town|}")
TEMPLATE_TEXTS = [
    "Volunteers help the refugee to find a flat in town.",
    "They support young people rent a rented flat and help migrant secure an home.",
    "Staff assist their asylum seeker find room, then help refugee to find a flat.",
    "Help the migrant to to find a flat.",  # a unit taken twice: no match
    "The office helps the refugees to find flats in town every week.",  # lemmas
    "Help the migrant find",  # the text ends inside the template
]


@pytest.fixture
def template_codebook(tmp_path):
    from tests.codebook.conftest import MINIMAL_CODEBOOK

    text = MINIMAL_CODEBOOK.replace('"housing support"]', f'"housing support", "{TEMPLATE}"]')
    assert TEMPLATE in text
    path = tmp_path / "codebook.yaml"
    path.write_text(text, encoding="utf-8")
    return load_codebook(path)


def code_spans(nlp, texts):
    from pipeline.nlp.language import CODES_KEY

    return [sorted((s.start, s.end, s.label_, s.id_) for s in doc.spans[CODES_KEY])
            for doc in nlp.pipe(texts)]


def test_pipeline_template_matches_what_its_expansion_matches(template_codebook, monkeypatch):
    from pipeline.nlp import compiled

    templated = build_pipeline(template_codebook)
    assert templated.get_pipe("cityqda_codes").templates == 1
    monkeypatch.setattr(compiled, "TEMPLATE_MIN_EXPANSIONS", 10 ** 9)
    expanded = build_pipeline(template_codebook)
    assert expanded.get_pipe("cityqda_codes").templates == 0
    found = code_spans(templated, TEMPLATE_TEXTS)
    assert found == code_spans(expanded, TEMPLATE_TEXTS)
    # every way through the template, and nothing where a word is doubled or missing
    assert [len(spans) for spans in found] == [2, 2, 2, 0, 2, 0]
    assert found[0] == [(1, 8, "social.housing", "social.housing.service"),
                        (1, 10, "social.housing", "social.housing.service")]


SHELTER_PATTERN = """      - id: social.housing.shelter
        role: service
        phrases: ["night shelter"]
"""


@pytest.mark.parametrize(("before", "order"), [
    (True, ["social.housing.shelter", "social.housing.service"]),
    (False, ["social.housing.service", "social.housing.shelter"]),
])
def test_pipeline_code_matches_reach_the_components_in_codebook_order(tmp_path, before, order):
    """Two patterns of one code on the same words: the components keep the first they are
    handed, so the codebook's order decides, not the order the matcher found them in."""
    from pipeline.nlp.context import CODE_MATCHES_KEY
    from tests.codebook.conftest import MINIMAL_CODEBOOK

    anchor = "      - id: social.housing.{}\n".format("service" if before else "topic")
    assert anchor in MINIMAL_CODEBOOK
    path = tmp_path / "codebook.yaml"
    path.write_text(MINIMAL_CODEBOOK.replace(anchor, SHELTER_PATTERN + anchor), encoding="utf-8")
    nlp = build_pipeline(load_codebook(path))
    doc = nlp("A night shelter opened.")
    strings = nlp.vocab.strings
    assert [(start, end, strings[label], strings[rule]) for start, end, label, rule
            in doc.user_data[CODE_MATCHES_KEY]] == [(1, 3, "social.housing", rule)
                                                    for rule in order]


def test_pipeline_templates_of_the_packaged_codebook_match_what_their_expansions_match(
        monkeypatch):
    """The packaged codebook's templates, against the same codebook fully expanded, on every
    development passage (a new kind of phrase a template cannot follow shows up here)."""
    from pathlib import Path

    import yaml

    from pipeline.nlp import compiled

    dev = Path(__file__).resolve().parents[1] / "data" / "devset" / "dev.yaml"
    passages = yaml.safe_load(dev.read_text(encoding="utf-8"))
    texts = [passage["text"] for passage in passages]
    codebook = load_codebook()
    templated = build_pipeline(codebook)
    assert templated.get_pipe("cityqda_codes").templates > 100
    monkeypatch.setattr(compiled, "TEMPLATE_MIN_EXPANSIONS", 10 ** 9)
    expanded = build_pipeline(codebook)
    found = code_spans(templated, texts)
    assert found == code_spans(expanded, texts)
    assert sum(map(len, found)) > len(texts)  # the passages are coded at all
