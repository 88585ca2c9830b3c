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
from pathlib import Path

from spacy.attrs import NORM
from spacy.language import Language
from spacy.pipeline.span_ruler import SpanRuler
from spacy.tokens import Span

from pipeline.codebook.model import Codebook
from pipeline.nlp.compiled import CompiledCodebook, compile_codebook, ruler_patterns
from pipeline.nlp.context import CODE_MATCHES_KEY, ContextComponent
from pipeline.nlp.initiative import InitiativeComponent
from pipeline.nlp.language import CODES_KEY, GROUPS_KEY, new_language
from pipeline.nlp.reassign import ReassignComponent

# What a match key of the code ruler stands for (`CodeRuler._routes`).
CODE, GROUP, CUE, EXACT_GROUP, TEMPLATE = 0, 1, 2, 3, 4
# Compiled codebooks handed to the component factories (spaCy configs hold only JSON).
_PENDING: dict[str, CompiledCodebook] = {}


class PhraseTokens:
    """A phrase's tokens as the matchers see them: the NORM hash of each token (what the
    PhraseMatcher compares; the same keys it would take from a Doc of the phrase) and its
    lower-cased words (for exact_lower patterns). Tokenised once per text; `known` holds
    the tokens of an earlier build (`pipeline.nlp.build_cache`), `fresh` what this one
    had to tokenise."""

    __slots__ = ("nlp", "known", "fresh")

    def __init__(self, nlp, known: dict | None = None):
        self.nlp = nlp
        self.known: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = known or {}
        self.fresh = 0

    def __call__(self, text: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
        found = self.known.get(text)
        if found is None:
            doc = self.nlp.make_doc(text)
            found = (tuple(token.norm for token in doc), tuple(token.lower_ for token in doc))
            self.known[text] = found
            self.fresh += 1
        return found


class CodeRuler(SpanRuler):
    """SpanRuler that matches codes and the codebook's cue lists in one pass."""

    def __init__(self, nlp, name="cityqda_codes", **kwargs):
        super().__init__(nlp, name, spans_key=CODES_KEY, phrase_matcher_attr="NORM",
                         validate=True, overwrite=True, **kwargs)
        # match key -> what a match of it is: (CODE, (label, span id)), (GROUP or EXACT_GROUP,
        # phrase group name) or (CUE, cue id); one lookup per match in `match`
        self._routes: dict[int, tuple[int, object]] = {}
        self._lower_forms: dict[int, set[tuple[str, ...]]] = {}
        self.phrase_tokens = PhraseTokens(nlp)
        self.tokenised = 0  # phrases the build had to tokenise (not in its cache)
        self.templates = 0  # phrases matched as a head and the units after it
        # (label, id) hashes -> the codebook order of their first pattern: the order in
        # which `match` hands code matches to the components
        self._rank: dict[tuple[int, int], int] = {}

    def add_patterns(self, patterns) -> None:
        """Like SpanRuler.add_patterns; phrases of one label and id are added in one call.
        A pattern may carry "exact_lower": True to match only its exact lower-cased words,
        or "rest" (then "pattern" is a list of head phrases): a template, matched as one of
        its heads followed by one option of each unit of the rest (`follow_units`).

        The patterns are not kept (SpanRuler's `patterns` stays empty): hundreds of
        thousands of dicts the matcher no longer needs once it holds their tokens."""
        strings = self.nlp.vocab.strings
        grouped: dict[str, list] = {}
        keys: dict[tuple[str, str], tuple[str, int]] = {}  # a match key per label and id
        heads: dict[tuple[str, ...], tuple] = {}  # template head phrases -> (always, by_next)
        tokens = self.phrase_tokens
        for entry in patterns:
            label, pattern_id = entry["label"], entry.get("id", "")
            pattern = entry["pattern"]
            if "rest" in entry:
                self._add_template(label, pattern_id, pattern, entry["rest"], heads)
                continue
            found = keys.get((label, pattern_id))
            if found is None:
                key = repr((label, pattern_id))
                key_hash = strings.add(key)
                self._match_label_id_map[key_hash] = {"label": label, "id": pattern_id}
                hashes = (strings.add(label), strings.add(pattern_id))
                self._rank.setdefault(hashes, len(self._rank))
                self._routes[key_hash] = (CODE, hashes)
                found = keys[label, pattern_id] = (key, key_hash)
            key, key_hash = found
            if isinstance(pattern, str):
                texts = grouped.get(key)
                if texts is None:
                    grouped[key] = [pattern]
                else:
                    texts.append(pattern)
                if entry.get("exact_lower"):
                    self._lower_forms.setdefault(key_hash, set()).add(tokens(pattern)[1])
            else:
                self.matcher.add(key, [pattern])
        for key, texts in grouped.items():
            self.phrase_matcher.add(key, [tokens(text)[0] for text in texts])
        for head, (always, by_next) in heads.items():
            key = repr(("template head", head))
            self._routes[strings.add(key)] = (TEMPLATE, (
                tuple(always), {norm: tuple(found) for norm, found in by_next.items()}))
            self.phrase_matcher.add(key, [tokens(text)[0] for text in head])

    def _add_template(self, label: str, pattern_id: str, head: list[str],
                      rest: list[list[str]], heads: dict) -> None:
        """Templates with the same head share one match key; a head match follows only the
        templates whose rest can start with the word after it (or may be empty)."""
        strings = self.nlp.vocab.strings
        hashes = (strings.add(label), strings.add(pattern_id))
        self._rank.setdefault(hashes, len(self._rank))
        units = tuple(self._unit(options) for options in rest)
        template = (*hashes, units)
        always, by_next = heads.setdefault(tuple(head), ([], {}))
        first: set[int] = set()
        for may_be_empty, by_length in units:
            first.update(norms[0] for _, options in by_length for norms in options)
            if not may_be_empty:
                break
        else:  # every unit may be empty: the head alone matches
            always.append(template)
            first = set()
        for norm in first:
            by_next.setdefault(norm, []).append(template)
        self.templates += 1

    def _unit(self, options: list[str]) -> tuple[bool, tuple]:
        """A template unit as `follow_units` reads it: whether it may be empty, and its
        options' NORM tuples by token count."""
        by_length: dict[int, set] = {}
        for text in options:
            if text:
                norms = self.phrase_tokens(text)[0]
                by_length.setdefault(len(norms), set()).add(norms)
        return "" in options, tuple((length, frozenset(found))
                                    for length, found in sorted(by_length.items()))

    def add_phrase_group(self, group: str, texts: list[str], exact_lower: bool = False,
                         cue: str | None = None) -> None:
        """Phrases matched in the same pass but kept out of doc.spans (cue lists); the
        matches of a `cue`'s phrases are listed as that cue's, not in a group."""
        key_hash = self.nlp.vocab.strings.add(group)
        if cue is not None:
            self._routes[key_hash] = (CUE, cue)
        else:
            exact = exact_lower or key_hash in self._lower_forms
            self._routes[key_hash] = (EXACT_GROUP if exact else GROUP, group)
        tokens = [self.phrase_tokens(text) for text in texts]
        self.phrase_matcher.add(group, [norms for norms, _ in tokens])
        if exact_lower:
            self._lower_forms.setdefault(key_hash, set()).update(
                lowers for _, lowers in tokens)

    def match(self, doc):
        matches = self.phrase_matcher(doc)
        if len(self.matcher):
            matches += self.matcher(doc)
        routes = self._routes
        lower_forms = self._lower_forms
        codes, seen = [], set()
        norms = None  # the document's NORMs, read at the first template head
        groups: dict[str, list[tuple[int, int]]] = {}
        cues: list[tuple[int, int, str]] = []
        for key, start, end in matches:
            kind, value = routes[key]
            if kind == GROUP:  # the most common kind, and no exact_lower check
                spans = groups.get(value)
                if spans is None:
                    groups[value] = [(start, end)]
                else:
                    spans.append((start, end))
                continue
            if key in lower_forms and tuple(
                    t.lower_ for t in doc[start:end]) not in lower_forms[key]:
                continue
            if kind == CUE:
                cues.append((start, end, value))
            elif kind == EXACT_GROUP:
                groups.setdefault(value, []).append((start, end))
            elif kind == TEMPLATE:
                if norms is None:
                    norms = doc.to_array(NORM).tolist()
                always, by_next = value
                following = by_next.get(norms[end]) if end < len(norms) else None
                for label, span_id, rest in (*always, *(following or ())):
                    for last in sorted(follow_units(norms, end, rest)):
                        code = (start, last, label, span_id)
                        if code not in seen:
                            seen.add(code)
                            codes.append(code)
            elif start != end:
                code = (start, end, *value)
                if code not in seen:
                    seen.add(code)
                    codes.append(code)
        # the cue-list matches by group (sentence ends too, for the sentencizer), and the
        # cues, for the components (in this one loop rather than one per component); the
        # codes by offsets, then codebook order: where two patterns of a code match the same
        # words, the components keep the first, whatever order the matchers found them in
        doc.user_data[GROUPS_KEY] = (groups, cues)
        if len(codes) > 1:
            rank = self._rank
            codes.sort(key=lambda c: (c[0], c[1], rank.get((c[2], c[3]), 0)))
        doc.user_data[CODE_MATCHES_KEY] = codes
        # Spans sort by offsets, then label and id hashes: the order of these tuples
        # (sorting the tuples spares a Python comparison of two Spans per step)
        return [Span(doc, start, end, label=label, span_id=span_id)
                for start, end, label, span_id in sorted(codes)]

    def __call__(self, doc):
        """SpanRuler's call without its error-handler wrapper: the spans overwrite the key."""
        doc.spans[CODES_KEY] = self.match(doc)
        return doc


def follow_units(norms: list[int], position: int, units: tuple) -> set[int]:
    """Where a template's rest can end when it starts at `position`: each unit in turn
    takes one of its options (or none, when it may be empty)."""
    frontier = {position}
    size = len(norms)
    for may_be_empty, by_length in units:
        reached = set(frontier) if may_be_empty else set()
        for at in frontier:
            for length, options in by_length:
                if at + length <= size and tuple(norms[at:at + length]) in options:
                    reached.add(at + length)
        if not reached:
            return reached
        frontier = reached
    return frontier


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


def build_pipeline(codebook: Codebook, token_lemmas: bool = False,
                   cache_dir: str | Path | None = None) -> Language:
    """A new spaCy pipeline coding with `codebook` (use `pipeline_for` to reuse one).

    With `cache_dir`, the ruler's patterns and every phrase's tokens come from the last
    build with the same codebook and code when there was one (`pipeline.nlp.build_cache`),
    and are saved there otherwise: the pipeline is the same either way.
    """
    nlp = new_language(codebook, token_lemmas=token_lemmas)
    ruler = nlp.add_pipe("cityqda_code_ruler", name="cityqda_codes")
    cache = key = None
    cached = None
    if cache_dir is not None:
        from pipeline.nlp.build_cache import BuildCache, code_fingerprint

        cache = BuildCache(cache_dir)
        key = f"{codebook.id}@{codebook.version}#{codebook.sha256}/{code_fingerprint()}"
        cached = cache.load(BUILD_CACHE_NAME, key)
        if not (isinstance(cached, dict) and isinstance(cached.get("patterns"), list)
                and isinstance(cached.get("tokens"), dict)):
            cached = None
    patterns = cached["patterns"] if cached is not None else ruler_patterns(codebook)
    ruler.phrase_tokens = PhraseTokens(nlp, cached["tokens"] if cached is not None else None)
    ruler.add_patterns(patterns)
    nlp.add_pipe("cityqda_sentencizer")
    key_pending = f"{codebook.id}@{codebook.version}#{codebook.sha256}/{id(nlp)}"
    _PENDING[key_pending] = compile_codebook(codebook, nlp, ruler)
    try:
        for name in ("cityqda_context", "cityqda_reassign", "cityqda_initiative"):
            nlp.add_pipe(name, config={"key": key_pending})
    finally:
        del _PENDING[key_pending]
    if cache is not None and (cached is None or ruler.phrase_tokens.fresh):
        cache.save(BUILD_CACHE_NAME, key, {"patterns": patterns,
                                           "tokens": ruler.phrase_tokens.known})
    # the tokens are in the matcher now: release them (tens of thousands of tuples)
    ruler.tokenised = ruler.phrase_tokens.fresh
    ruler.phrase_tokens = PhraseTokens(nlp)
    return nlp


BUILD_CACHE_NAME = "code-ruler"


@lru_cache(maxsize=4)
def pipeline_for(codebook: Codebook, cache_dir: str | Path | None = None) -> Language:
    """The pipeline for a codebook, built once per process (`cache_dir`: see
    `build_pipeline`).

    The pipeline lives as long as the process, so its many objects (vocabulary, tens of
    thousands of patterns) are moved out of the garbage collector's way (`gc.freeze`):
    otherwise every full collection walks them again while documents are tagged. The
    build's own garbage is young, so a young collection clears it first; a full one would
    walk every object spaCy's import made (about 0.05-0.08 CPU s) to find a few dozen more.
    """
    nlp = build_pipeline(codebook, cache_dir=cache_dir)
    gc.collect(1)
    gc.freeze()
    return nlp
