"""A normalised copy of a text for matching, and the way back to the original offsets.

Patterns should not care whether a text wrote a non-breaking space, a soft hyphen, a curly
quote, a CRLF line end or a decomposed accent. The coder matches on the normalised copy and
reports every offset in code points of the text exactly as given, so that
``text[start:end] == evidence`` always holds.

Most texts need no change; they come back unchanged with no map (the fast path). Otherwise
the map records, for each normalised character, the original span it came from.

What changes:
- dropped: soft hyphen, zero-width space/non-joiner/joiner, word joiner, BOM, CR before LF;
- to a space: non-breaking, narrow, thin, hair, figure, em/en and ideographic spaces, tabs,
  U+2028 line separator; a line break inside a sentence (the next line starts in lower case
  and the line does not end a sentence) becomes a space too;
- to a line break: lone CR, U+2029 paragraph separator, vertical tab, form feed, NEL;
- typographic quotes to ' and ", non-breaking and figure hyphens to -, … to ...;
- a letter followed by combining marks to its composed form (NFC) when one exists.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_DROP = "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e"
_SPACE = "\u00a0\u202f\u2009\u200a\u2007\u2002\u2003\u2004\u2005\u2006\u2008\u205f\u3000\t\u2028"
_BREAK = "\u2029\x0b\x0c\x85"
_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032\u2035\u00b4"
_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb"
_HYPHENS = "\u2010\u2011\u2012\u2212"

REPLACEMENTS: dict[str, str] = {}
REPLACEMENTS.update(dict.fromkeys(_DROP, ""))
REPLACEMENTS.update(dict.fromkeys(_SPACE, " "))
REPLACEMENTS.update(dict.fromkeys(_BREAK, "\n"))
REPLACEMENTS.update(dict.fromkeys(_SINGLE_QUOTES, "'"))
REPLACEMENTS.update(dict.fromkeys(_DOUBLE_QUOTES, '"'))
REPLACEMENTS.update(dict.fromkeys(_HYPHENS, "-"))
REPLACEMENTS["\u2026"] = "..."

_SPECIAL = re.compile(
    "\r\n?"                                      # CRLF or lone CR
    "|[" + re.escape("".join(REPLACEMENTS)) + "]"
    "|.[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+"  # base + marks
    "|(?<![.!?:;\n])\n(?=[ \t]*[a-z])",          # soft line wrap inside a sentence
    re.S,
)
# A cheap first test: most texts hold none of the characters any change starts from.
_CANDIDATE = re.compile(
    "[\r\n" + re.escape("".join(REPLACEMENTS)) +
    "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


@dataclass(frozen=True)
class NormalisedText:
    """The text to match on, and (when it differs) the map back to the original."""

    original: str
    text: str
    # For normalised character i: original span [starts[i], ends[i]). None when unchanged.
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Original code-point offsets of the normalised span [start, end)."""
        if self.starts is None:
            return start, end
        if end <= start:
            position = self._boundary(start)
            return position, position
        return self.starts[start], self.ends[end - 1]

    def _boundary(self, index: int) -> int:
        if index >= len(self.starts):
            return len(self.original)
        return self.starts[index]

    def original_index(self, index: int) -> int:
        """Original offset of a normalised boundary (for spans computed elsewhere)."""
        if self.starts is None:
            return index
        return self._boundary(index)


def _replacement(match: re.Match) -> str:
    piece = match.group(0)
    if piece.startswith("\r"):
        return "\n"
    if piece == "\n":
        return " "
    if len(piece) == 1:
        return REPLACEMENTS[piece]
    composed = unicodedata.normalize("NFC", piece)
    return composed if len(composed) < len(piece) else piece


def normalise(text: str) -> NormalisedText:
    """The matching copy of `text` with its offset map (pure; no state)."""
    if _CANDIDATE.search(text) is None or _SPECIAL.search(text) is None:
        return NormalisedText(text, text)
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    for match in _SPECIAL.finditer(text):
        begin, finish = match.span()
        if begin > position:
            pieces.append(text[position:begin])
            starts.extend(range(position, begin))
            ends.extend(range(position + 1, begin + 1))
        replacement = _replacement(match)
        if replacement == match.group(0):
            pieces.append(replacement)
            starts.extend(range(begin, finish))
            ends.extend(range(begin + 1, finish + 1))
        else:
            pieces.append(replacement)
            starts.extend([begin] * len(replacement))
            ends.extend([finish] * len(replacement))
        position = finish
    if position < len(text):
        pieces.append(text[position:])
        starts.extend(range(position, len(text)))
        ends.extend(range(position + 1, len(text) + 1))
    return NormalisedText(text, "".join(pieces), tuple(starts), tuple(ends))

