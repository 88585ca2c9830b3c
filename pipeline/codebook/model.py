"""The codebook as plain immutable objects, built only from a validated document."""

from __future__ import annotations

from dataclasses import dataclass, field

DIMENSION_ORDER = ("social", "cultural_religious", "economic", "political", "legal")

# Contexts a challenge pattern or derivation may require (see `when` in the codebook).
# "unserved": no dimension counts in the mention's sentence (people named as those a service
# is for are no challenge)
CONTEXT_NAMES = ("always", "negated", "hypothetical", "planned", "problem", "plain", "initiative",
                 "unserved")


@dataclass(frozen=True)
class Pattern:
    id: str
    code: str
    role: str  # "service" | "topic" | "object" (subcodes); "" for challenge patterns
    when: tuple[str, ...]  # challenge patterns only
    attr: str  # "LEMMA" | "LOWER"
    phrases: tuple[str, ...] = ()
    tokens: tuple[dict, ...] = ()
    path: str = ""
    consumes_cues: bool = False
    cue: str | None = None  # the match also acts as a cue of this type


@dataclass(frozen=True)
class Derivation:
    """A challenge that a dimension mention implies in some contexts (e.g. negated housing)."""

    id: str
    code: str
    sources: tuple[str, ...]
    when: tuple[str, ...]


@dataclass(frozen=True)
class Code:
    id: str
    kind: str  # dimension | subcode | challenge_group | challenge
    label: str
    definition: str
    parent: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()
    retired: bool = False
    patterns: tuple[Pattern, ...] = ()
    derive: tuple[Derivation, ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    # reassign | follow_service | suppress | org_name | venue | subject | overlap | refer_back
    type: str
    label: str
    reason: str
    sources: tuple[str, ...] = ()
    target: str | None = None
    scope: str = "sentence"
    window: int = 0
    context: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    heads: tuple[str, ...] = ()
    connectors: tuple[str, ...] = ()
    before: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    # reassign only: words that keep a mention where it is when they share its scope, and
    # whether it is then coded both ways (discrimination "in housing and at work")
    unless: tuple[str, ...] = ()
    split: bool = False


@dataclass(frozen=True)
class Cue:
    id: str
    type: str  # negation | hypothetical | planned | pseudo | background
    phrases: tuple[str, ...]
    direction: str = "forward"
    window: int = 8
    back_window: int = 6
    comma: str = "clause_start"
    attr: str = "LEMMA"
    cancelled_by_prior_negation: bool = False
    cancel_reach: int | None = None  # words allowed between that negation and the cue
    through_terminators: bool = False  # a heading's cue ("Recommendations:") covers its list


@dataclass(frozen=True)
class ContextConfig:
    cues: tuple[Cue, ...]
    terminators: tuple[str, ...]
    stops: tuple[str, ...]
    clause_starters: tuple[str, ...]
    strong_markers: tuple[str, ...]
    weak_markers: tuple[str, ...]
    problem: tuple[str, ...]
    actors: tuple[str, ...]
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class Codebook:
    id: str
    title: str
    version: str
    language: str
    description: str
    codes: tuple[Code, ...]
    rules: tuple[Rule, ...]
    context: ContextConfig
    lemma_overrides: dict = field(default_factory=dict)
    lemma_variants: dict = field(default_factory=dict)
    changes: tuple[dict, ...] = ()
    sha256: str = ""
    source: str = ""
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    def __hash__(self):  # codebooks are cached by content
        return hash((self.id, self.version, self.sha256))

    def code(self, code_id: str) -> Code:
        return self._index()[code_id]

    def has_code(self, code_id: str) -> bool:
        return code_id in self._index()

    def _index(self) -> dict[str, Code]:
        index = self.__dict__.get("_code_index")
        if index is None:
            index = {code.id: code for code in self.codes}
            object.__setattr__(self, "_code_index", index)
        return index

    def dimension_of(self, code_id: str) -> str | None:
        """The dimension a code belongs to (itself for a dimension), None for challenges."""
        code = self._index().get(code_id)
        while code is not None:
            if code.kind == "dimension":
                return code.id
            if code.parent is None:
                return None
            code = self._index().get(code.parent)
        return None

    def children(self, code_id: str | None) -> list[Code]:
        return [code for code in self.codes if code.parent == code_id]

    @property
    def dimensions(self) -> list[Code]:
        return [code for code in self.codes if code.kind == "dimension"]

    @property
    def challenges(self) -> list[Code]:
        return [code for code in self.codes if code.kind == "challenge"]
