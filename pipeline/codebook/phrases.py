"""Phrase alternatives: ``"{free|weekly} {language|english} course"`` written once, matched as
every combination.

Codebook authors keep vocabularies generous without listing hundreds of lines; the matcher
still sees plain phrases. Braces do not nest; an alternative may be empty (``{a|}``) to make a
word optional.
"""

from __future__ import annotations

import itertools
import re

MAX_EXPANSIONS = 20000

_GROUP = re.compile(r"\{([^{}]*)\}")


class PhraseError(ValueError):
    """A phrase that cannot be expanded (unbalanced braces, too many combinations)."""


def phrase_parts(phrase: str) -> list[list[str]]:
    """The phrase as a sequence of parts, each a list of options: a literal stretch is a
    part of one option, a brace group a part of its alternatives (possibly empty)."""
    if phrase.count("{") != phrase.count("}"):
        raise PhraseError("unbalanced braces: every '{' needs a '}'")
    parts: list[list[str]] = []
    position = 0
    for match in _GROUP.finditer(phrase):
        literal = phrase[position:match.start()]
        if "{" in literal or "}" in literal:
            raise PhraseError("braces cannot be nested or stray")
        parts.append([literal])
        parts.append(match.group(1).split("|"))
        position = match.end()
    tail = phrase[position:]
    if "{" in tail or "}" in tail:
        raise PhraseError("braces cannot be nested or stray")
    parts.append([tail])
    return parts


def expand_phrase(phrase: str, limit: int = MAX_EXPANSIONS) -> list[str]:
    """Every phrase the alternatives stand for, in order, spaces collapsed, duplicates removed."""
    parts = phrase_parts(phrase)
    count = 1
    for options in parts:
        count *= len(options)
    if count > limit:
        raise PhraseError(f"stands for {count} phrases, more than the limit of {limit}; "
                          "split it into several phrases")
    seen: dict[str, None] = {}
    for combination in itertools.product(*parts):
        text = " ".join("".join(combination).split())
        if text:
            seen.setdefault(text, None)
    if not seen:
        raise PhraseError("is empty")
    return list(seen)
