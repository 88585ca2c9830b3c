"""What the coder found in one document, shared by the pipeline components.

The SpanRuler finds mentions; `context` scopes the cues and flags each mention; `reassign`
applies the codebook's rules; `initiative` decides which mentions describe initiatives and
derives challenges. Later components (actors, initiatives, partnerships) read and extend the
same object, which lives in ``doc.user_data[ANALYSIS_KEY]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ANALYSIS_KEY = "cityqda"


@dataclass
class CueHit:
    """A cue occurrence and the tokens its scope covers."""

    cue: str
    type: str  # negation | hypothetical | planned | pseudo | background
    start: int
    end: int
    scope_start: int
    scope_end: int
    sentence: int

    def covers(self, start: int, end: int) -> bool:
        if start < self.end and end > self.start:  # the cue is part of the mention
            return False
        return start < self.scope_end and end > self.scope_start


@dataclass
class Mention:
    """One code matched on tokens [start, end), with everything that decided its fate."""

    start: int
    end: int
    code: str
    rule: str
    kind: str  # "dimension" | "challenge"
    role: str = ""  # service | topic (dimension mentions)
    sentence: int = 0
    clause_start: int = 0
    clause_end: int = 0
    negated: bool = False
    hypothetical: bool = False
    planned: bool = False
    background: bool = False  # institutional context or the topic of a question
    problem: bool = False
    initiative: bool = False
    counts: bool = False
    emitted: bool = False
    cues: list[CueHit] = field(default_factory=list)
    reassigned_from: str | None = None
    reassigned_by: str | None = None
    reason: str | None = None
    suppressed_by: str | None = None
    when: tuple[str, ...] = ()

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


@dataclass
class DocAnalysis:
    sentence_starts: list[int]
    length: int
    groups: dict[str, list[tuple[int, int]]]  # matched cue-list phrases by group name
    mentions: list[Mention] = field(default_factory=list)
    cue_hits: list[CueHit] = field(default_factory=list)
    suppressed: list[Mention] = field(default_factory=list)
    challenges: list[Mention] = field(default_factory=list)
    dimensions: list[str] = field(default_factory=list)

    def sentence_bounds(self, index: int) -> tuple[int, int]:
        start = self.sentence_starts[index]
        end = (self.sentence_starts[index + 1] if index + 1 < len(self.sentence_starts)
               else self.length)
        return start, end


def analysis_of(doc) -> DocAnalysis | None:
    return doc.user_data.get(ANALYSIS_KEY)
