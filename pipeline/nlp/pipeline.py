"""Assembling the coder: blank English, sentencizer, lemmatizer, the codebook's SpanRuler
(overlapping codes kept in ``doc.spans``), then context, reassignment and initiative.

Later components (actors, initiatives, partnerships) are added after `cityqda_initiative`
and read the same per-document analysis.
"""

from __future__ import annotations

from functools import lru_cache

from spacy.language import Language

from pipeline.codebook.model import Codebook
from pipeline.nlp.compiled import CompiledCodebook, compile_codebook, ruler_patterns
from pipeline.nlp.context import ContextComponent
from pipeline.nlp.initiative import InitiativeComponent
from pipeline.nlp.language import CODES_KEY, new_language
from pipeline.nlp.reassign import ReassignComponent

# Compiled codebooks handed to the component factories (spaCy configs hold only JSON).
_PENDING: dict[str, CompiledCodebook] = {}


@Language.factory("cityqda_context", default_config={"key": ""})
def make_context(nlp, name, key):
    return ContextComponent(_PENDING[key])


@Language.factory("cityqda_reassign", default_config={"key": ""})
def make_reassign(nlp, name, key):
    return ReassignComponent(_PENDING[key])


@Language.factory("cityqda_initiative", default_config={"key": ""})
def make_initiative(nlp, name, key):
    return InitiativeComponent(_PENDING[key])


def build_pipeline(codebook: Codebook) -> Language:
    """A new spaCy pipeline coding with `codebook` (use `pipeline_for` to reuse one)."""
    nlp = new_language(codebook)
    lemma_patterns, lower_patterns = ruler_patterns(codebook)
    ruler = nlp.add_pipe("span_ruler", name="cityqda_codes",
                         config={"spans_key": CODES_KEY, "phrase_matcher_attr": "LEMMA",
                                 "validate": True, "overwrite": True})
    ruler.add_patterns(lemma_patterns)
    if lower_patterns:
        lower = nlp.add_pipe("span_ruler", name="cityqda_codes_lower",
                             config={"spans_key": CODES_KEY, "phrase_matcher_attr": "LOWER",
                                     "validate": True, "overwrite": False})
        lower.add_patterns(lower_patterns)
    key = f"{codebook.id}@{codebook.version}#{codebook.sha256}/{id(nlp)}"
    _PENDING[key] = compile_codebook(codebook, nlp)
    try:
        for name in ("cityqda_context", "cityqda_reassign", "cityqda_initiative"):
            nlp.add_pipe(name, config={"key": key})
    finally:
        del _PENDING[key]
    return nlp


@lru_cache(maxsize=4)
def pipeline_for(codebook: Codebook) -> Language:
    """The pipeline for a codebook, built once per process."""
    return build_pipeline(codebook)
