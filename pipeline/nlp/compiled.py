"""A codebook turned into matcher input: SpanRuler patterns for the codes, and phrase groups
for every cue list, rule phrase list and marker list.

Codes and cues are matched in the same single PhraseMatcher pass per document (see
`pipeline.CodeRuler`); components then work on the few matches, never token by token.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from pipeline.codebook.model import Codebook, Cue, Pattern
from pipeline.codebook.phrases import expand_phrase, phrase_parts
from pipeline.codebook.validate import PHRASE_TOKEN_KEYS
from pipeline.nlp.language import CLOSERS, GROUPS_KEY

MAX_TOKEN_EXPANSIONS = 5000

# A phrase with alternatives that stands for more phrases than this is matched as a template:
# the PhraseMatcher holds only the expansions of its first words and the code ruler follows
# the rest word by word from each of their matches (`pipeline.CodeRuler`). Expanded in full,
# a few hundred such phrases were ~480,000 phrases and most of the coder's memory (every
# PhraseMatcher trie node is its own allocation): about 1 GB per process.
TEMPLATE_MIN_EXPANSIONS = 50
# Words too common to start the template's matched head alone: the head grows past them so
# that the rest is followed from few places.
TEMPLATE_WEAK_HEAD = frozenset({
    "a", "an", "the", "their", "its", "our", "his", "her", "them", "him", "they", "it",
    "to", "for", "of", "in", "on", "at", "by", "with", "and", "or", "from", "into", "as"})


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


def phrase_units(phrase: str) -> list[list[str]] | None:
    """The phrase as whitespace-separated units, each the list of its options ("" for an
    empty one), when every brace group stands between spaces; else None.

    The tokenizer splits at whitespace first and tokenises each stretch on its own, so the
    tokens of an expansion are then the tokens of its units' options one after another:
    what lets a template be matched unit by unit."""
    parts = phrase_parts(phrase)
    units: list[list[str]] = []
    for index, options in enumerate(parts):
        if index % 2:  # a brace group
            units.append(list(dict.fromkeys(" ".join(o.split()) for o in options)))
            continue
        text = options[0]
        after_group, before_group = index > 0, index < len(parts) - 1
        if (after_group and before_group and not text) or (
                text and ((after_group and not text[0].isspace())
                          or (before_group and not text[-1].isspace()))):
            return None  # glued to a group: "{co|}-op", "{a}{b}"
        units.extend([word] for word in text.split())
    return units


def template_split(units: list[list[str]], strong_units: int = 2,
                   head_limit: int = 400) -> tuple[list[str], list[list[str]]] | None:
    """(the head's expansions, the rest's units) of a template, or None when it is better
    expanded in full (no unit would be left after the head).

    The head is what the PhraseMatcher finds, so it must be rare in text: it runs to the
    `strong_units`-th unit with no empty option and not only weak words, unless that makes
    it more than `head_limit` phrases, when it stops at the last unit that keeps it within
    the limit (and after the first strong unit in any case)."""
    strong = 0
    end = None
    count = 1
    for size, options in enumerate(units, start=1):
        count *= len(options)
        if strong and count > head_limit:
            break
        end = size
        if "" not in options and not set(options) <= TEMPLATE_WEAK_HEAD:
            strong += 1
            if strong == strong_units:
                break
    if not strong or end is None or end == len(units):
        return None
    head = dict.fromkeys(" ".join(w for w in words if w)
                         for words in itertools.product(*units[:end]))
    return [text for text in head if text], units[end:]


def phrase_count(phrase: str) -> int:
    """How many phrases the alternatives stand for (before duplicates are removed)."""
    count = 1
    for options in phrase_parts(phrase):
        count *= len(options)
    return count


def ruler_patterns(codebook: Codebook) -> list[dict]:
    """SpanRuler patterns of every code (phrases of LOWER patterns marked exact_lower). A
    large phrase with alternatives is one entry with "pattern" its head's expansions and
    "rest" the units after it (`template_split`)."""
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
                split = (template_split(units) if not exact
                         and phrase_count(phrase) > TEMPLATE_MIN_EXPANSIONS
                         and (units := phrase_units(phrase)) else None)
                if split is not None:
                    found.append({"label": code.id, "pattern": split[0], "id": pattern.id,
                                  "rest": split[1]})
                    continue
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
