"""The spaCy pipeline: blank English, our sentencizer and lemmatizer, the codebook's
SpanRuler, then the context, reassignment and initiative components.

Everything is offline: the lemma table is read from the installed spacy-lookups-data
package, never downloaded. The sentencizer and lemmatizer are vectorised over token hashes
(see `hashmap.py`), so they cost a small fraction of tokenisation.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from importlib import resources

import numpy
from spacy.attrs import LEMMA, LOWER, ORTH, SENT_START
from spacy.language import Language

from pipeline.nlp.hashmap import LazyHashMap

CODES_KEY = "cityqda_codes"

# Token classes for sentence boundaries.
_PLAIN, _END, _BREAK, _CLOSER = 0, 1, 2, 3
_END_CHARS = frozenset(".!?\u3002\uff01\uff1f\u2026\u203c\u2047\u2048\u2049")
_CLOSERS = frozenset({'"', "'", ")", "]", "}", "\u201d", "\u2019", "\u00bb"})


@lru_cache(maxsize=1)
def blank_tokenizer() -> Language:
    """A bare English pipeline, for tokenising phrases in checks."""
    import spacy

    return spacy.blank("en")


@lru_cache(maxsize=1)
def english_lemma_table() -> dict[str, str]:
    """spacy-lookups-data's English lemma lookup table, read from the installed package."""
    path = resources.files("spacy_lookups_data") / "data" / "en_lemma_lookup.json.gz"
    with path.open("rb") as handle:
        return json.loads(gzip.decompress(handle.read()).decode("utf-8"))


def lemma_of(lower: str, overrides: dict, variants: dict) -> str:
    """Lemma of an already lower-cased word: overrides, then the table, then variants."""
    lemma = overrides.get(lower)
    if lemma is None:
        lemma = english_lemma_table().get(lower, lower)
    return variants.get(lemma, lemma)


class LookupLemmatizer:
    """Lower-cases, then looks the word up (codebook overrides first, then the English table)."""

    def __init__(self, vocab, overrides: dict, variants: dict):
        self.vocab = vocab
        self.overrides = {k.lower(): v.lower() for k, v in overrides.items()}
        self.variants = {k.lower(): v.lower() for k, v in variants.items()}
        self._map = LazyHashMap(self._compute)

    def _compute(self, lower_hash: int) -> int:
        lower = self.vocab.strings[lower_hash]
        return self.vocab.strings.add(lemma_of(lower, self.overrides, self.variants))

    def lemma(self, word: str) -> str:
        return lemma_of(word.lower(), self.overrides, self.variants)

    def __call__(self, doc):
        if len(doc):
            lemmas = self._map.lookup(doc.to_array(LOWER))
            doc.from_array([LEMMA], lemmas.reshape(-1, 1))
        return doc


class FastSentencizer:
    """Sentence starts after sentence-final punctuation (and closing quotes) or a line break."""

    def __init__(self, vocab):
        self.vocab = vocab
        self._map = LazyHashMap(self._compute)

    def _compute(self, orth_hash: int) -> int:
        text = self.vocab.strings[orth_hash]
        if text and all(ch in _END_CHARS for ch in text):
            return _END
        if "\n" in text and not text.strip():
            return _BREAK
        if text in _CLOSERS:
            return _CLOSER
        return _PLAIN

    def __call__(self, doc):
        length = len(doc)
        if not length:
            return doc
        classes = self._map.lookup(doc.to_array(ORTH)).astype(numpy.int8)
        ends = (classes == _END) | (classes == _BREAK)
        continues = ends | (classes == _CLOSER)
        previous_end = numpy.zeros(length, dtype=bool)
        previous_end[1:] = ends[:-1]
        # a closing quote right after an end still belongs to the sentence it closes
        previous_end[2:] |= (classes[1:-1] == _CLOSER) & ends[:-2]
        starts = previous_end & ~continues
        values = numpy.full(length, -1, dtype=numpy.int64)
        values[starts] = 1
        values[0] = 1
        doc.from_array([SENT_START], values.astype(numpy.uint64).reshape(-1, 1))
        return doc


@Language.factory("cityqda_lemmatizer", default_config={"overrides": {}, "variants": {}})
def make_lemmatizer(nlp, name, overrides, variants):
    return LookupLemmatizer(nlp.vocab, overrides, variants)


@Language.factory("cityqda_sentencizer")
def make_sentencizer(nlp, name):
    return FastSentencizer(nlp.vocab)


def new_language(codebook) -> Language:
    """Blank English with our sentencizer and lemmatizer (no codes yet)."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("cityqda_sentencizer")
    nlp.add_pipe("cityqda_lemmatizer", config={"overrides": dict(codebook.lemma_overrides),
                                               "variants": dict(codebook.lemma_variants)})
    return nlp
