"""A codebook turned into matcher input: SpanRuler patterns for the codes, and phrase groups
for every cue list, rule phrase list and marker list.

Codes and cues are matched in the same single PhraseMatcher pass per document (see
`pipeline.CodeRuler`); components then work on the few matches, never token by token.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from pipeline.codebook.model import Codebook, Cue, Pattern
from pipeline.codebook.phrases import expand_phrase
from pipeline.codebook.validate import PHRASE_TOKEN_KEYS
from pipeline.nlp.language import CLOSERS, GROUPS_KEY

MAX_TOKEN_EXPANSIONS = 5000



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


def ruler_patterns(codebook: Codebook) -> list[dict]:
    """SpanRuler patterns of every code (phrases of LOWER patterns marked exact_lower)."""
    found, seen = [], set()

    def add(label, pattern, pattern_id, exact_lower=False):
        key = (label, pattern if isinstance(pattern, str) else repr(pattern), pattern_id)
        if key not in seen:
            seen.add(key)
            entry = {"label": label, "pattern": pattern, "id": pattern_id}
            if exact_lower:
                entry["exact_lower"] = True
            found.append(entry)

    for code in codebook.codes:
        for pattern in code.patterns:
            exact = pattern.attr == "LOWER"
            for phrase in pattern.phrases:
                for text in expand_phrase(phrase):
                    add(code.id, text, pattern.id, exact)
            if pattern.tokens:
                phrases = token_pattern_as_phrases(list(pattern.tokens))
                if phrases is None:
                    add(code.id, list(pattern.tokens), pattern.id)
                else:
                    for text in phrases:
                        add(code.id, text, pattern.id, exact)
    return found


@dataclass
class CompiledCodebook:
    codebook: Codebook
    patterns: dict[str, Pattern]
    kinds: dict[str, str]  # code -> "dimension" | "challenge" (matchable codes)
    dimension_of: dict[str, str | None]
    cues: dict[str, Cue]
    starter_norms: frozenset = frozenset()  # NORM hashes of words that start a clause
    strong_first_norms: frozenset = frozenset()  # NORM hashes of provision verbs (first word)
    actor_norms: frozenset = frozenset()  # NORM hashes of words naming an actor
    recipient_norms: frozenset = frozenset()  # NORM hashes of words naming who is served

    @staticmethod
    def groups(doc) -> tuple[dict[str, list[tuple[int, int]]], list[tuple[int, int, str]]]:
        """The cue-list matches the code ruler found in `doc`: by group, in text order (the
        PhraseMatcher reports matches by start position), and the cues as (start, end, id)."""
        return doc.user_data.get(GROUPS_KEY) or ({}, [])


def compile_codebook(codebook: Codebook, nlp, ruler) -> CompiledCodebook:
    """Registers every cue list, marker list and rule phrase list with `ruler` (one matcher
    pass finds codes and cues alike) and returns what the components need."""
    def add(group: str, phrases, attr: str = "LEMMA", cue: str | None = None):
        texts = [text for phrase in phrases for text in expand_phrase(phrase)]
        ruler.add_phrase_group(group, texts, exact_lower=(attr == "LOWER"), cue=cue)

    context = codebook.context
    for cue in context.cues:
        add(f"cue:{cue.id}", cue.phrases, cue.attr, cue.id)
    add("term", context.terminators)
    if context.stops:
        add("stop", context.stops)
    add("strong", context.strong_markers)
    add("weak", context.weak_markers)
    add("problem", context.problem)
    add("comma", [","])
    # "." has the NORM of every sentence end (see LookupLemmatizer.norm)
    ruler.add_phrase_group("sentence_end", ["."])
    ruler.add_phrase_group("closer", list(CLOSERS))
    for rule in codebook.rules:
        for part in ("context", "phrases", "heads", "before", "unless"):
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
    def norms(phrases, position: int) -> frozenset:
        """NORM hashes of one word (first or last) of each phrase."""
        found = set()
        for phrase in phrases:
            for text in expand_phrase(phrase):
                tokens = ruler.phrase_tokens(text)[0]
                if tokens:
                    found.add(tokens[position])
        return frozenset(found)

    return CompiledCodebook(
        codebook=codebook, patterns=patterns, kinds=kinds, dimension_of=dimension_of,
        cues={cue.id: cue for cue in context.cues},
        starter_norms=norms([p for p in context.clause_starters if " " not in p.strip()], 0),
        strong_first_norms=norms(context.strong_markers, 0),
        actor_norms=norms(context.actors, -1),
        recipient_norms=norms(context.recipients, 0))
