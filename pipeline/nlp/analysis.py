"""What the coder found in one document, shared by the pipeline components.

The code ruler finds mentions and cue-list matches; `context` scopes the cues and flags each
mention; `reassign` applies the codebook's rules; `initiative` decides which mentions
describe initiatives and derives challenges. Later components (actors, initiatives,
partnerships) read and extend the same object, which lives in
``doc.user_data[ANALYSIS_KEY]``. Plain slotted classes: a document has many mentions and
these objects are made for every one of them.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

ANALYSIS_KEY = "cityqda"


class CueHit:
    """A cue occurrence and the tokens [scope_start, scope_end) its scope covers."""

    __slots__ = ("cue", "type", "start", "end", "scope_start", "scope_end", "sentence")

    def __init__(self, cue, type, start, end, scope_start, scope_end, sentence):
        self.cue = cue
        self.type = type  # negation | hypothetical | planned | background
        self.start = start
        self.end = end
        self.scope_start = scope_start
        self.scope_end = scope_end
        self.sentence = sentence

    def covers(self, start: int, end: int) -> bool:
        if start < self.end and end > self.start:  # the cue is part of the mention
            return False
        return start < self.scope_end and end > self.scope_start

    def __repr__(self):
        return (f"CueHit({self.cue!r}, {self.type}, [{self.start}:{self.end}] -> "
                f"[{self.scope_start}:{self.scope_end}])")


class Mention:
    """One code matched on tokens [start, end), with everything that decided its fate."""

    __slots__ = ("start", "end", "code", "rule", "kind", "role", "sentence", "clause_start",
                 "clause_end", "negated", "hypothetical", "planned", "background", "problem",
                 "initiative", "counts", "emitted", "cues", "reassigned_from", "reassigned_by",
                 "reason", "suppressed_by", "when")

    def __init__(self, start: int, end: int, code: str, rule: str, kind: str, role: str = "",
                 when: tuple = ()):
        self.start = start
        self.end = end
        self.code = code
        self.rule = rule
        self.kind = kind  # "dimension" | "challenge"
        self.role = role  # "service" | "topic" (dimension mentions)
        self.when = when
        self.sentence = 0
        self.clause_start = 0
        self.clause_end = 0
        self.negated = False
        self.hypothetical = False
        self.planned = False
        self.background = False  # institutional context, or the topic of a question
        self.problem = False
        self.initiative = False
        self.counts = False
        self.emitted = False
        self.cues = ()
        self.reassigned_from = None
        self.reassigned_by = None
        self.reason = None
        self.suppressed_by = None

    @property
    def contexts(self) -> set[str]:
        """Names a challenge's `when` can test."""
        names = {"always"}
        if self.negated:
            names.add("negated")
        if self.hypothetical:
            names.add("hypothetical")
        if self.planned:
            names.add("planned")
        if self.problem:
            names.add("problem")
        if self.initiative:
            names.add("initiative")
        if not (self.negated or self.hypothetical or self.problem or self.initiative):
            names.add("plain")
        return names

    def __repr__(self):
        flags = [name for name in ("negated", "hypothetical", "planned", "background",
                                   "problem", "initiative", "counts")
                 if getattr(self, name)]
        return f"Mention({self.code!r}, [{self.start}:{self.end}], {self.rule!r}, {flags})"


class Positions:
    """Sorted (start, end) matches of one group, searchable by position."""

    __slots__ = ("spans", "_starts", "_ends")

    def __init__(self, spans: list[tuple[int, int]]):
        self.spans = spans
        self._starts = None
        self._ends = None

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            self._starts = [s for s, _ in self.spans]
        return self._starts

    @property
    def ends(self) -> list[int]:
        if self._ends is None:
            self._ends = sorted(e for _, e in self.spans)
        return self._ends

    def first_start_in(self, low: int, high: int) -> int | None:
        """Smallest match start in [low, high)."""
        starts = self.starts
        i = bisect_left(starts, low)
        if i < len(starts) and starts[i] < high:
            return starts[i]
        return None

    def last_end_in(self, low: int, high: int) -> int | None:
        """Largest match end in (low, high]."""
        ends = self.ends
        i = bisect_right(ends, high)
        if i and ends[i - 1] > low:
            return ends[i - 1]
        return None

    def starts_in(self, low: int, high: int) -> list[int]:
        starts = self.starts
        return starts[bisect_left(starts, low):bisect_left(starts, high)]

    def any_in(self, low: int, high: int) -> bool:
        return self.first_start_in(low, high) is not None


EMPTY = Positions([])


class DocAnalysis:
    """Per-document state: sentences, cue-list matches by group, mentions, results."""

    __slots__ = ("sentence_starts", "length", "groups", "mentions", "cue_hits", "suppressed",
                 "challenges", "dimensions", "_positions", "_bounds", "_terms")

    def __init__(self, sentence_starts: list[int], length: int,
                 groups: dict[str, list[tuple[int, int]]]):
        self.sentence_starts = sentence_starts
        self.length = length
        self.groups = groups
        self.mentions: list[Mention] = []
        self.cue_hits: list[CueHit] = []
        self.suppressed: list[Mention] = []
        self.challenges: list[Mention] = []
        self.dimensions: list[str] = []
        self._positions: dict[str, Positions] = {}
        self._bounds: list[tuple[int, int]] | None = None  # (start, end) of each sentence
        self._terms: Positions | None = None

    def positions(self, group: str) -> Positions:
        found = self._positions.get(group)
        if found is None:
            spans = self.groups.get(group)
            found = Positions(spans) if spans else EMPTY
            self._positions[group] = found
        return found

    def sentence_of(self, token: int) -> int:
        return bisect_right(self.sentence_starts, token) - 1

    def sentence_bounds(self, index: int) -> tuple[int, int]:
        bounds = self._bounds
        if bounds is None:
            starts = self.sentence_starts
            bounds = self._bounds = list(zip(starts, [*starts[1:], self.length], strict=True))
        return bounds[index]

    def clause(self, start: int, end: int, sentence: int) -> tuple[int, int]:
        """The clause holding tokens [start, end): between terminators, inside the sentence."""
        sent_start, sent_end = self.sentence_bounds(sentence)
        terms = self._terms
        if terms is None:
            terms = self._terms = self.positions("term")
        if not terms.spans:
            return sent_start, sent_end
        left = terms.last_end_in(sent_start, start)
        right = terms.first_start_in(end, sent_end)
        return (left if left is not None else sent_start,
                right if right is not None else sent_end)


def analysis_of(doc) -> DocAnalysis | None:
    return doc.user_data.get(ANALYSIS_KEY)
