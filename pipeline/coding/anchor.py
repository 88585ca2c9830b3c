"""Finding a coding's evidence again in a segment's new text.

A segment that kept its id across transcript versions may have a typo fixed or a sentence
added. Old offsets are carried through an edit script of old text to new text (Levenshtein
opcodes); when the evidence is not at the mapped place (edited inside, or the old text is
unknown) the instance of the evidence nearest to that place is taken, each instance going
to at most one coding. Evidence found nowhere is gone: the caller flags it for review.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable

from rapidfuzz.distance import Levenshtein


def instances(text: str, evidence: str) -> list[int]:
    """Start of every place `evidence` occurs in `text` (overlapping places included)."""
    if not evidence:
        return []
    found, at = [], text.find(evidence)
    while at >= 0:
        found.append(at)
        at = text.find(evidence, at + 1)
    return found


def occurrence_of(text: str, evidence: str, start: int) -> int:
    """Which instance of `evidence` in `text` starts at `start` (from 0); -1 if none."""
    places = instances(text, evidence)
    try:
        return places.index(start)
    except ValueError:
        return -1


def position_map(old: str, new: str) -> Callable[[int], int]:
    """A function taking a position in `old` to the matching position in `new`."""
    if old == new:
        return lambda position: position
    blocks = [(op.src_start, op.src_end, op.dest_start, op.dest_end, op.tag)
              for op in Levenshtein.opcodes(old, new)]
    starts = [block[0] for block in blocks]

    def mapped(position: int) -> int:
        index = max(bisect_right(starts, position) - 1, 0)
        src_start, src_end, dest_start, dest_end, tag = blocks[index]
        if tag == "equal":
            return dest_start + (position - src_start)
        if tag == "insert" or position >= src_end:
            return dest_end
        return dest_start + min(position - src_start, max(dest_end - dest_start - 1, 0))

    return mapped


def anchor_group(text: str, evidence: str, hints: list[tuple[int, int | None, bool]]
                 ) -> dict[int, int | None]:
    """Place each coding of one evidence text in `text`, at most one coding per instance.

    `hints` are (key, expected start or None, exact) where `exact` says the expected start
    is known for sure (unchanged text or a clean mapping); exact hints are served first,
    then the others by distance to their expected start. Returns key -> start or None.
    """
    free = instances(text, evidence)
    taken: set[int] = set()
    result: dict[int, int | None] = {}
    for key, expected, exact in hints:
        if exact and expected in free and expected not in taken:
            result[key] = expected
            taken.add(expected)
    rest = [(key, expected) for key, expected, _exact in hints if key not in result]
    wanted = sorted(
        ((abs(place - (expected if expected is not None else 0)), place, key)
         for key, expected in rest for place in free if place not in taken),
    )
    for _distance, place, key in wanted:
        if key in result or place in taken:
            continue
        result[key] = place
        taken.add(place)
    for key, _expected in rest:
        result.setdefault(key, None)
    return result
