"""Which segments of a new version of a transcript are the old segments, changed or not.

A segment keeps its id (and so its codings and review decisions) when its text is equal,
or at least 90% similar (rapidfuzz ratio) within the same guide section: a typo fixed or
a sentence polished is the same answer. Anything else is new, and old segments left
without a partner are retired, never deleted. Matching goes from the surest pairs to the
least sure: equal text in the same section, equal text anywhere (a moved paragraph),
then similar text in the same section, best score first, ties in document order.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

from rapidfuzz import fuzz

SIMILARITY = 90.0


@dataclass(frozen=True)
class OldSegment:
    id: int
    section: str | None
    text: str


@dataclass(frozen=True)
class NewSegment:
    section: str | None
    text: str


def match_segments(old: list[OldSegment], new: list[NewSegment],
                   similarity: float = SIMILARITY) -> list[int | None]:
    """For each new segment, the id of the old segment it continues, or None."""
    result: list[int | None] = [None] * len(new)
    taken: set[int] = set()

    def pair_equal(key_of) -> None:
        queues: dict[tuple, deque] = defaultdict(deque)
        for segment in old:
            if segment.id not in taken:
                queues[key_of(segment)].append(segment.id)
        for index, segment in enumerate(new):
            if result[index] is not None:
                continue
            queue = queues.get(key_of(segment))
            while queue:
                candidate = queue.popleft()
                if candidate not in taken:
                    result[index] = candidate
                    taken.add(candidate)
                    break

    pair_equal(lambda s: (s.section, s.text))
    pair_equal(lambda s: s.text)

    scored: list[tuple[float, int, int, int]] = []
    by_section: dict[str | None, list[tuple[int, OldSegment]]] = defaultdict(list)
    for position, segment in enumerate(old):
        if segment.id not in taken:
            by_section[segment.section].append((position, segment))
    for index, segment in enumerate(new):
        if result[index] is not None:
            continue
        for position, candidate in by_section.get(segment.section, []):
            score = fuzz.ratio(segment.text, candidate.text, score_cutoff=similarity)
            if score >= similarity:
                scored.append((-score, index, position, candidate.id))
    for _negative_score, index, _position, candidate in sorted(scored):
        if result[index] is None and candidate not in taken:
            result[index] = candidate
            taken.add(candidate)
    return result
