"""A codebook turned into matchers: SpanRuler patterns for the codes and one PhraseMatcher
(per attribute) for every cue list, rule phrase list and marker list.

All cue lists are matched in a single pass per document; components then work on the few
matches, never token by token.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from spacy.matcher import PhraseMatcher

from pipeline.codebook.model import Codebook, Cue, Pattern
from pipeline.codebook.phrases import expand_phrase
from pipeline.codebook.validate import PHRASE_TOKEN_KEYS

MAX_TOKEN_EXPANSIONS = 5000

# Group names of the context lists (besides "cue:<id>" and "rule:<id>:<part>").
LIST_GROUPS = ("term", "stop", "start", "strong", "weak", "problem", "actor", "comma")


def token_pattern_as_phrases(tokens: list[dict]) -> list[str] | None:
    """The phrases a token pattern of literal LEMMA/LOWER values stands for, else None."""
    options = []
    for spec in tokens:
        if len(spec) != 1:
            return None
        (key, value), = spec.items()
        if key not in PHRASE_TOKEN_KEYS:
            return None
        if isinstance(value, str):
            values = [value]
        elif isinstance(value, dict) and set(value) == {"IN"} and all(
                isinstance(v, str) for v in value["IN"]):
            values = list(value["IN"])
        else:
            return None
        if any(not v.strip() or " " in v.strip() for v in values):
            return None
        options.append([v.strip().lower() for v in values])
    count = 1
    for values in options:
        count *= len(values)
    if count > MAX_TOKEN_EXPANSIONS:
        return None
    return [" ".join(words) for words in itertools.product(*options)]


def ruler_patterns(codebook: Codebook) -> tuple[list[dict], list[dict]]:
    """SpanRuler patterns for the LEMMA ruler and for the LOWER ruler."""
    lemma, lower, seen = [], [], set()

    def add(target, label, pattern, pattern_id):
        key = (label, pattern if isinstance(pattern, str) else repr(pattern), pattern_id)
        if key not in seen:
            seen.add(key)
            target.append({"label": label, "pattern": pattern, "id": pattern_id})

    for code in codebook.codes:
        for pattern in code.patterns:
            target = lower if pattern.attr == "LOWER" else lemma
            for phrase in pattern.phrases:
                for text in expand_phrase(phrase):
                    add(target, code.id, text, pattern.id)
            if pattern.tokens:
                phrases = token_pattern_as_phrases(list(pattern.tokens))
                if phrases is None:
                    add(lemma, code.id, list(pattern.tokens), pattern.id)
                else:
                    for text in phrases:
                        add(target, code.id, text, pattern.id)
    return lemma, lower


@dataclass
class CompiledCodebook:
    codebook: Codebook
    patterns: dict[str, Pattern]
    kinds: dict[str, str]  # code -> "dimension" | "challenge" (matchable codes)
    dimension_of: dict[str, str | None]
    cues: dict[str, Cue]
    lemma_matcher: PhraseMatcher
    lower_matcher: PhraseMatcher | None
    group_of: dict[int, str] = field(default_factory=dict)  # match key hash -> group name

    def groups(self, doc) -> dict[str, list[tuple[int, int]]]:
        """Every cue-list match in the document, by group, sorted by position."""
        found: dict[str, list[tuple[int, int]]] = {}
        group_of = self.group_of
        matches = self.lemma_matcher(doc)
        if self.lower_matcher is not None:
            matches += self.lower_matcher(doc)
        for key, start, end in matches:
            found.setdefault(group_of[key], []).append((start, end))
        for spans in found.values():
            spans.sort()
        return found


def compile_codebook(codebook: Codebook, nlp) -> CompiledCodebook:
    """Matchers for the context lists of `codebook`, sharing `nlp`'s vocabulary."""
    lemmatizer = nlp.get_pipe("cityqda_lemmatizer")
    lemma_matcher = PhraseMatcher(nlp.vocab, attr="LEMMA")
    lower_matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    group_of: dict[int, str] = {}
    used_lower = False

    def add(group: str, phrases, attr: str = "LEMMA"):
        nonlocal used_lower
        texts = [text for phrase in phrases for text in expand_phrase(phrase)]
        docs = [lemmatizer(nlp.make_doc(text)) for text in texts]
        key = nlp.vocab.strings.add(group)
        group_of[key] = group
        if attr == "LOWER":
            used_lower = True
            lower_matcher.add(group, docs)
        else:
            lemma_matcher.add(group, docs)

    context = codebook.context
    for cue in context.cues:
        add(f"cue:{cue.id}", cue.phrases, cue.attr)
    add("term", context.terminators)
    if context.stops:
        add("stop", context.stops)
    if context.clause_starters:
        add("start", context.clause_starters)
    add("strong", context.strong_markers)
    add("weak", context.weak_markers)
    add("problem", context.problem)
    add("actor", context.actors)
    add("comma", [","])
    for rule in codebook.rules:
        for part in ("context", "phrases", "heads", "before"):
            phrases = getattr(rule, part)
            if phrases:
                add(f"rule:{rule.id}:{part}", phrases)

    patterns = {p.id: p for code in codebook.codes for p in code.patterns}
    kinds = {}
    dimension_of = {}
    for code in codebook.codes:
        dimension_of[code.id] = codebook.dimension_of(code.id)
        if code.kind == "subcode":
            kinds[code.id] = "dimension"
        elif code.kind == "challenge":
            kinds[code.id] = "challenge"
    return CompiledCodebook(
        codebook=codebook, patterns=patterns, kinds=kinds, dimension_of=dimension_of,
        cues={cue.id: cue for cue in context.cues}, lemma_matcher=lemma_matcher,
        lower_matcher=lower_matcher if used_lower else None, group_of=group_of)
