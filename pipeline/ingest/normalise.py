"""A normalised copy of a text for matching, with a map back to original offsets.

Offsets anywhere in cityqda are code points into the original plain text. Matching,
though, must not care whether a transcript wrote a non-breaking space, a soft hyphen, a
curly quote, an en dash or a ligature. `normalise` returns both the normalised text and,
for every normalised character, the span of original characters it came from, so a match
found in the copy is reported at the right place in the original.

What changes, in this order:

1. invisible characters are dropped: soft hyphen, zero-width space, word joiner, BOM;
2. each cluster (a character with the combining marks that follow it) is mapped:
   ligatures by our own table (see below), then NFKC (compatibility forms, full-width
   letters, composed accents, "…" → "..."), then typographic quotes → ``'`` / ``"``,
   dashes and minus signs → ``-``, every kind of space and line break → ``" "``;
3. runs of spaces collapse to one.

Ligatures: NFKC turns U+FB00–FB04 into ff, fi, fl, ffi, ffl (right) and both U+FB05
(long s + t) and U+FB06 (s + t) into ``st``. U+FB05 in a modern English text almost
always encodes a font's ``ft`` ligature ("aﬅer"), so its word is read with ``ft`` when
that gives a listed English word (``ft_words.json``) and with ``st`` otherwise. U+0132/3
(IJ) follow NFKC; Œ and Æ are letters, not ligatures, and stay.

Pure functions; no state beyond the word list loaded once.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DROPPED = frozenset("\u00ad\u200b\u2060\ufeff\u180e")

LIGATURES = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb06": "st",
    # "\ufb05" is decided per word: see _long_s_t_readings.
}
LONG_S_T = "\ufb05"

_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032\u2035\u2039\u203a\u00b4\u0060"
_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb\u301d\u301e"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63\uff0d"
_LINE_BREAKS = "\t\n\r\x0b\x0c\x85\u2028\u2029"

_CHAR_MAP: dict[str, str] = {}
_CHAR_MAP.update(dict.fromkeys(_SINGLE_QUOTES, "'"))
_CHAR_MAP.update(dict.fromkeys(_DOUBLE_QUOTES, '"'))
_CHAR_MAP.update(dict.fromkeys(_DASHES, "-"))
_CHAR_MAP.update(dict.fromkeys(_LINE_BREAKS, " "))


def _map_char(char: str) -> str:
    mapped = _CHAR_MAP.get(char)
    if mapped is not None:
        return mapped
    if char in DROPPED:
        return ""
    if unicodedata.category(char) == "Zs":
        return " "
    return char


@lru_cache(maxsize=1)
def _ft_words() -> frozenset[str]:
    path = Path(__file__).with_name("ft_words.json")
    return frozenset(json.loads(path.read_text(encoding="utf-8")))


def _word_around(text: str, index: int) -> tuple[int, int]:
    start = index
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] in DROPPED):
        start -= 1
    end = index + 1
    while end < len(text) and (text[end].isalpha() or text[end] in DROPPED):
        end += 1
    return start, end


def _long_s_t_readings(text: str) -> dict[int, str]:
    """For each U+FB05 in `text`, "ft" or "st" depending on which makes its word English."""
    readings: dict[int, str] = {}
    index = text.find(LONG_S_T)
    while index != -1:
        start, end = _word_around(text, index)
        word = "".join(_expand_for_lookup(c) for c in text[start:end]).casefold()
        readings[index] = "ft" if word in _ft_words() else "st"
        index = text.find(LONG_S_T, index + 1)
    return readings


def _expand_for_lookup(char: str) -> str:
    if char == LONG_S_T:
        return "ft"
    if char in DROPPED:
        return ""
    return unicodedata.normalize("NFKC", LIGATURES.get(char, char))


def _is_attached(char: str) -> bool:
    """Characters that NFKC may compose with the character before them."""
    return unicodedata.combining(char) != 0 or "\u1160" <= char <= "\u11ff"


@dataclass(frozen=True)
class Normalised:
    """The normalised copy of `original`, and where each of its characters came from."""

    original: str
    text: str
    starts: tuple[int, ...]  # per character of `text`: first original code point
    ends: tuple[int, ...]  # per character of `text`: end (exclusive) in the original

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Original code-point span of the normalised span [start, end)."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span {start}:{end} outside 0:{len(self.text)}")
        if start == end:
            position = self.starts[start] if start < len(self.text) else len(self.original)
            return position, position
        return self.starts[start], self.ends[end - 1]

    def to_normalised(self, start: int, end: int) -> tuple[int, int]:
        """Smallest normalised span covering the original span [start, end)."""
        if not 0 <= start <= end <= len(self.original):
            raise ValueError(f"span {start}:{end} outside 0:{len(self.original)}")
        first = next((i for i, e in enumerate(self.ends) if e > start), len(self.text))
        last = first
        while last < len(self.text) and self.starts[last] < end:
            last += 1
        return first, max(first, last)


def normalise(text: str) -> Normalised:
    readings = _long_s_t_readings(text) if LONG_S_T in text else {}
    kept = [i for i, char in enumerate(text) if char not in DROPPED]

    pieces: list[tuple[str, int, int]] = []  # (normalised piece, original start, end)
    position = 0
    while position < len(kept):
        first = kept[position]
        position += 1
        # a mark after a space or line break stays apart: the space becomes " " anyway
        while position < len(kept) and _is_attached(text[kept[position]]) and \
                not text[first].isspace():
            position += 1
        last = kept[position - 1]
        cluster = _cluster_text(text, first, last, readings)
        mapped = "".join(_map_char(c) for c in cluster)
        folded = unicodedata.normalize("NFKC", mapped)
        piece = "".join(_map_char(c) for c in folded)
        if piece:
            pieces.append((piece, first, last + 1))

    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for piece, start, end in pieces:
        for char in piece:
            if char == " " and out and out[-1] == " ":
                ends[-1] = end
                continue
            out.append(char)
            starts.append(start)
            ends.append(end)
    return Normalised(text, "".join(out), tuple(starts), tuple(ends))


def _cluster_text(text: str, first: int, last: int, readings: dict[int, str]) -> str:
    parts = []
    for index in range(first, last + 1):
        char = text[index]
        if char in DROPPED:
            continue
        parts.append(readings.get(index) or LIGATURES.get(char, char))
    return "".join(parts)


def normalise_text(text: str) -> str:
    return normalise(text).text
