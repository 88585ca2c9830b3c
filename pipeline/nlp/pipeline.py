"""Assembling the coder: blank English and the lookup lemmatizer, the codebook's SpanRuler
(overlapping codes kept in ``doc.spans``), the sentencizer, then context, reassignment and
initiative.

`CodeRuler` is spaCy's SpanRuler with two changes for speed: phrase patterns are added per
code pattern in one call (not one call per phrase), and the same PhraseMatcher pass also
finds the codebook's cue lists, which it leaves in ``doc.user_data`` for the components.
Phrases match on NORM, which our lemmatizer sets to each word's lemma. Later components
(actors, initiatives, partnerships) are added after `cityqda_initiative` and read the same
per-document analysis.
"""

from __future__ import annotations

import gc
from functools import lru_cache

from spacy.language import Language
from spacy.pipeline.span_ruler import SpanRuler
from spacy.tokens import Span

from pipeline.codebook.model import Codebook
from pipeline.nlp.compiled import CompiledCodebook, compile_codebook, ruler_patterns
from pipeline.nlp.context import CODE_MATCHES_KEY, ContextComponent
from pipeline.nlp.initiative import InitiativeComponent
from pipeline.nlp.language import AUX_KEY, CODES_KEY, new_language
from pipeline.nlp.reassign import ReassignComponent

# Compiled codebooks handed to the component factories (spaCy configs hold only JSON).
_PENDING: dict[str, CompiledCodebook] = {}


class CodeRuler(SpanRuler):
    """SpanRuler that matches codes and the codebook's cue lists in one pass."""

    def __init__(self, nlp, name="cityqda_codes", **kwargs):
        super().__init__(nlp, name, spans_key=CODES_KEY, phrase_matcher_attr="NORM",
                         validate=True, overwrite=True, **kwargs)
        self._fast_labels: dict[int, tuple[int, int]] = {}  # key -> (label, span id)
        self._lower_forms: dict[int, set[tuple[str, ...]]] = {}

    def add_patterns(self, patterns) -> None:
        """Like SpanRuler.add_patterns; phrases of one label and id are added in one call.
        A pattern may carry "exact_lower": True to match only its exact lower-cased words."""
        strings = self.nlp.vocab.strings
        grouped: dict[str, list] = {}
        for entry in patterns:
            label, pattern_id = entry["label"], entry.get("id", "")
            key = repr((label, pattern_id))
            key_hash = strings.add(key)
            self._match_label_id_map[key_hash] = {"label": label, "id": pattern_id}
            self._fast_labels[key_hash] = (strings.add(label), strings.add(pattern_id))
            public = {k: v for k, v in entry.items() if k != "exact_lower"}
            if isinstance(entry["pattern"], str):
                grouped.setdefault(key, []).append(entry["pattern"])
                if entry.get("exact_lower"):
                    self._lower_forms.setdefault(key_hash, set()).add(
                        tuple(t.lower_ for t in self.nlp.make_doc(entry["pattern"])))
            else:
                self.matcher.add(key, [entry["pattern"]])
            self._patterns.append(public)
        for key, texts in grouped.items():
            self.phrase_matcher.add(key, [self.nlp.make_doc(text) for text in texts])

    def add_phrase_group(self, group: str, texts: list[str], exact_lower: bool = False) -> None:
        """Phrases matched in the same pass but kept out of doc.spans (cue lists)."""
        key_hash = self.nlp.vocab.strings.add(group)
        docs = [self.nlp.make_doc(text) for text in texts]
        self.phrase_matcher.add(group, docs)
        if exact_lower:
            self._lower_forms.setdefault(key_hash, set()).update(
                tuple(t.lower_ for t in doc) for doc in docs)

    def match(self, doc):
        matches = self.phrase_matcher(doc)
        if len(self.matcher):
            matches += self.matcher(doc)
        labels = self._fast_labels
        lower_forms = self._lower_forms
        aux, codes, seen = [], [], set()
        for match in matches:
            key, start, end = match
            if lower_forms and key in lower_forms and tuple(
                    t.lower_ for t in doc[start:end]) not in lower_forms[key]:
                continue
            label = labels.get(key)
            if label is None:
                aux.append(match)
            elif start != end:
                code = (start, end, label[0], label[1])
                if code not in seen:
                    seen.add(code)
                    codes.append(code)
        doc.user_data[AUX_KEY] = aux
        doc.user_data[CODE_MATCHES_KEY] = codes
        spans = [Span(doc, start, end, label=label, span_id=span_id)
                 for start, end, label, span_id in codes]
        spans.sort()
        return spans


@Language.factory("cityqda_code_ruler")
def make_code_ruler(nlp, name):
    return CodeRuler(nlp, name)


@Language.factory("cityqda_context", default_config={"key": ""})
def make_context(nlp, name, key):
    return ContextComponent(_PENDING[key])


@Language.factory("cityqda_reassign", default_config={"key": ""})
def make_reassign(nlp, name, key):
    return ReassignComponent(_PENDING[key])


@Language.factory("cityqda_initiative", default_config={"key": ""})
def make_initiative(nlp, name, key):
    return InitiativeComponent(_PENDING[key])


def build_pipeline(codebook: Codebook, token_lemmas: bool = False) -> Language:
    """A new spaCy pipeline coding with `codebook` (use `pipeline_for` to reuse one)."""
    nlp = new_language(codebook, token_lemmas=token_lemmas)
    ruler = nlp.add_pipe("cityqda_code_ruler", name="cityqda_codes")
    ruler.add_patterns(ruler_patterns(codebook))
    nlp.add_pipe("cityqda_sentencizer")
    key = f"{codebook.id}@{codebook.version}#{codebook.sha256}/{id(nlp)}"
    _PENDING[key] = compile_codebook(codebook, nlp, ruler)
    try:
        for name in ("cityqda_context", "cityqda_reassign", "cityqda_initiative"):
            nlp.add_pipe(name, config={"key": key})
    finally:
        del _PENDING[key]
    return nlp


@lru_cache(maxsize=4)
def pipeline_for(codebook: Codebook) -> Language:
    """The pipeline for a codebook, built once per process.

    The pipeline lives as long as the process, so its many objects (vocabulary, tens of
    thousands of patterns) are moved out of the garbage collector's way (`gc.freeze`):
    otherwise every full collection walks them again while documents are tagged.
    """
    nlp = build_pipeline(codebook)
    gc.collect()
    gc.freeze()
    return nlp
