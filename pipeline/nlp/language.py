"""The spaCy pipeline's base: blank English, our lookup lemmatizer and sentencizer.

Speed matters (the coder should run at a good fraction of the tokenizer's speed), and any
per-token Python or per-document numpy call costs as much as tokenising. So:

- the lemmatizer works on the vocabulary: each word's lemma (lower-cased, codebook
  overrides, then spacy-lookups-data's English table, then spelling variants) is computed
  once, when spaCy first sees the word, and stored as the lexeme's NORM. Matchers match on
  NORM. Copying lemmas into `token.lemma_` costs a numpy round trip per document, so it is
  optional (`token_lemmas=True`);
- the sentencizer reads the sentence-final tokens that the code ruler's single matcher pass
  already found (see `pipeline.py`), and falls back to a vectorised scan on its own.

Everything is offline: the lemma table is read from the installed package, never downloaded.
"""

from __future__ import annotations

import gzip
import json
import re
from functools import lru_cache
from importlib import resources

import numpy
from spacy.attrs import LEMMA, NORM, ORTH, SENT_START
from spacy.language import Language

CODES_KEY = "cityqda_codes"
# doc.user_data: the code ruler's cue-list matches by group name (sentence ends and
# closers among them), and the cues
GROUPS_KEY = "cityqda_groups"
SENTENCE_END = "\n"  # NORM given to sentence-final punctuation and line breaks

_END_CHARS = frozenset(".!?\u3002\uff01\uff1f\u2026\u203c\u2047\u2048\u2049")
CLOSERS = ('"', "'", ")", "]", "}", "\u201d", "\u2019", "\u00bb")
_MINUS_ONE = numpy.uint64(2 ** 64 - 1)
# A number written in digits ("35", "1,200", "2.5") or in words ("forty", "dozens") is matched
# as this word, which phrases use for an unspecified quantity. "one" is left out: it is as often
# a pronoun ("the one in Lyon") as a number.
NUMBER_NORM = "several"
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NUMBER_WORDS = frozenset(
    "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
    "hundred hundreds thousand thousands dozen dozens".split())


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


def is_sentence_end(text: str) -> bool:
    """Sentence-final punctuation ("." "?!" "...") or whitespace holding a line break."""
    if not text:
        return False
    if all(ch in _END_CHARS for ch in text):
        return True
    return "\n" in text and not text.strip()


class LookupLemmatizer:
    """Lower-cases each word, then looks it up: codebook overrides, the English table,
    spelling variants. Runs once per vocabulary entry (as the lexeme NORM getter)."""

    def __init__(self, vocab, overrides: dict, variants: dict, token_lemmas: bool = False):
        self.vocab = vocab
        self.overrides = {k.lower(): v.lower() for k, v in overrides.items()}
        self.variants = {k.lower(): v.lower() for k, v in variants.items()}
        self.token_lemmas = token_lemmas
        vocab.lex_attr_getters[NORM] = self.norm
        for lexeme in vocab:  # words spaCy created before we were installed
            lexeme.norm_ = self.norm(lexeme.orth_)

    def lemma(self, word: str) -> str:
        return lemma_of(word.lower(), self.overrides, self.variants)

    def norm(self, text: str) -> str:
        """What matchers compare: the lemma, one mark for every sentence end, and one word
        for every written number ("hired 35 refugees" and "hired forty refugees" match "hire several
        refugees")."""
        if is_sentence_end(text):
            return SENTENCE_END
        if _NUMBER.fullmatch(text) or text.lower() in _NUMBER_WORDS:
            return NUMBER_NORM
        return self.lemma(text)

    def __call__(self, doc):
        if self.token_lemmas and len(doc):
            doc.from_array([LEMMA], doc.to_array([NORM]))
        return doc


class FastSentencizer:
    """A sentence starts after sentence-final punctuation or a line break (closing quotes and
    brackets stay with the sentence they close)."""

    def __init__(self, vocab):
        self.vocab = vocab
        self._buffer = numpy.empty(0, dtype=numpy.uint64)

    def __call__(self, doc):
        length = len(doc)
        if not length:
            return doc
        ends, closers = self._ends(doc)
        ending = {start for start, _ in ends}
        starts = []
        for _, position in ends:
            if position >= length or position in ending:
                continue  # "?!" or ". \n": the next token ends the sentence too
            if position in closers:
                position += 1
                while position < length and position in ending:
                    position += 1
                if position >= length:
                    continue
            if not starts or starts[-1] != position:
                starts.append(position)
        if len(self._buffer) < length:
            self._buffer = numpy.empty(max(length, 2 * len(self._buffer)), dtype=numpy.uint64)
        values = self._buffer[:length]
        values.fill(_MINUS_ONE)
        values[0] = 1
        if starts:
            values[starts] = 1
        doc.from_array([SENT_START], values.reshape(-1, 1))
        doc.user_data["cityqda_sentences"] = [0, *(s for s in starts if s)]
        return doc

    def _ends(self, doc) -> tuple[list[tuple[int, int]], set[int]]:
        """(start, end) of sentence-end tokens and the positions of closing quotes or
        brackets, from the ruler's matches if it ran."""
        found = doc.user_data.get(GROUPS_KEY)
        if found is not None:
            groups = found[0]
            return (groups.get("sentence_end", []),
                    {start for start, _ in groups.get("closer", ())})
        texts = [self.vocab.strings[h] for h in doc.to_array(ORTH).tolist()]
        return ([(i, i + 1) for i, text in enumerate(texts) if is_sentence_end(text)],
                {i for i, text in enumerate(texts) if text in CLOSERS})


@Language.factory("cityqda_lemmatizer",
                  default_config={"overrides": {}, "variants": {}, "token_lemmas": False})
def make_lemmatizer(nlp, name, overrides, variants, token_lemmas):
    return LookupLemmatizer(nlp.vocab, overrides, variants, token_lemmas)


@Language.factory("cityqda_sentencizer")
def make_sentencizer(nlp, name):
    return FastSentencizer(nlp.vocab)


def new_language(codebook, token_lemmas: bool = False) -> Language:
    """Blank English with our lemmatizer installed (no codes yet)."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("cityqda_lemmatizer", config={"overrides": dict(codebook.lemma_overrides),
                                               "variants": dict(codebook.lemma_variants),
                                               "token_lemmas": token_lemmas})
    return nlp
