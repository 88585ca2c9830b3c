"""Recognising actors: organisations named in a text, with a category and a sector.

The registry comes first: every name and alias is matched ignoring case (not for acronyms),
accents, hyphens, dots, "&"/"and" and British or American spelling. Then capitalised names
(and acronyms) are recognised as organisations when something says so: a word that heads an
organisation's name ("Ministry of ...", "... Foundation", "... City Council"), a company
ending ("GmbH", "S.A."), a description next to the name ("the NGO X", "X, a company", "run
by the Scalabrini fathers"), a role ("the director of X"), a group it belongs to ("employers
such as X"), or the place of a partner ("in partnership with X"). Their category is a
weighted vote of the words in and around the name (cue lists in `entity_cues.yaml`), flagged
`guess`; it is never empty. Lower-case mentions of a kind of actor ("the municipality",
"NGOs", "local businesses") are generic actors; "the charity" or "her organisation" refers to
the actor named before it (or to the speaker, when known).

Everything works on the spaCy doc the coder made, with one extra PhraseMatcher pass (on
LOWER, with accent-free and spelling variants of every phrase), so the cost per text is small.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from itertools import pairwise
from pathlib import Path

import numpy
from spacy.attrs import IDX, LENGTH, ORTH, SENT_START
from spacy.matcher import PhraseMatcher

from pipeline.codebook.phrases import PhraseError, expand_phrase
from pipeline.codebook.yamlsource import YamlDocument, format_path
from pipeline.errors import CityQDAError, Problem
from pipeline.nlp.registry import Registry, RegistryActor, fold_key, strip_accents

DEFAULT_CUES_NAME = "entity_cues.yaml"

# Token classes (one per vocabulary entry, looked up for a whole doc at once).
OTHER, LOWER, CAP, ACR, NUM, COMMA, QUOTE, OPEN, CLOSE, HYPHEN, AMP, POSS, BREAK = range(13)
_SHAPE_BITS, _REFERENCE, _CONNECTOR, _WEAK, _LOW_SUFFIX = 0x0F, 0x10, 0x20, 0x40, 0x80
_FOREIGN = 0x100  # a lower-case word that is no English word: part of a name in another
#                   language ("Slovenska filantropija", "Pôle emploi")
_ENGLISH_ENDINGS = ("ing", "ings", "ers", "ed", "ship", "ships", "tions", "ments", "ness",
                    "ly", "ful", "less")
_QUOTES = frozenset({'"', "'", "\u201c", "\u201d", "\u2018", "\u2019", "\u00ab", "\u00bb",
                     "\u201e"})
_HYPHENS = frozenset({"-", "\u2010", "\u2011", "\u2013", "\u2014"})
_YEAR = re.compile(r"^(1[89]|20)\d\d$")
# "d'Asile", "l'Immigrazione", "dell'Integrazione": an elided article glued to a capitalised
# word is part of a name ("Terre d'Asile Tunisie", "Orange Côte d'Ivoire").
_ELIDED_CAPITAL = re.compile(r"^(?:d|l|dell|dall|nell|sull|all|qu)['\u2019][A-ZÀ-Ý]")


# ------------------------------------------------------------------------------ cue lists


@dataclass(frozen=True)
class Kind:
    id: str
    category: str
    sector: str
    role: str  # head | modifier
    weight: float
    generic: bool


@dataclass
class EntityCues:
    """The cue lists, read and checked once."""

    raw: dict
    sha256: str
    variants: dict[str, str]
    kinds: dict[str, Kind]
    default: tuple[str, str]
    bare_name: tuple[str, str] | None
    connectors: frozenset[str]
    complement: frozenset[str]
    initial: frozenset[str]
    acronym_stop: frozenset[str]
    lower_suffixes: frozenset[str]
    role_preps: frozenset[str]
    relative: frozenset[str]
    fillers: frozenset[str]
    determiners: frozenset[str]
    reference_any: frozenset[str]

    def fold(self, word: str) -> str:
        folded = strip_accents(word.lower()).replace(".", "").replace("\u2019", "'")
        return self.variants.get(folded, folded)


@lru_cache(maxsize=1)
def cues_schema() -> dict:
    path = resources.files("pipeline") / "schemas" / "entity_cues.schema.json"
    return json.loads(path.read_text(encoding="utf-8"))


def default_cues_path() -> Path:
    return Path(str(resources.files("pipeline") / "defaults" / DEFAULT_CUES_NAME))


def cue_problems(doc: YamlDocument, file: str) -> list[Problem]:
    """Schema problems and phrases that do not expand, each with its YAML path."""
    import jsonschema

    def problem(path, message):
        return Problem("CQ311", {"location": doc.location(path), "yaml_path": format_path(path),
                                 "line": doc.line_of(path), "problem": message}, file=file)

    validator = jsonschema.Draft202012Validator(cues_schema())
    problems = [problem(list(e.absolute_path), e.message)
                for e in sorted(validator.iter_errors(doc.data),
                                key=lambda e: [str(p) for p in e.absolute_path])]
    if problems:
        return problems

    def check(path, phrases):
        for i, phrase in enumerate(phrases):
            try:
                expand_phrase(phrase)
            except PhraseError as exc:
                problems.append(problem([*path, i], f"{phrase!r}: {exc}"))

    data = doc.data
    for key in ("company_suffixes", "report_verbs", "terminators", "member_markers",
                "list_words", "list_fillers", "self_references", "agreement_nouns",
                "funding_nouns"):
        check([key], data[key])
    for key in ("actor_verbs", "owner_verbs", "third_actor_verbs", "joint_verbs",
                "transfer_verbs", "through_verbs"):
        if key in data:
            check([key], data[key])
    for i, kind in enumerate(data["kinds"]):
        check(["kinds", i, "phrases"], kind["phrases"])
    for i, role in enumerate(data["role_nouns"]):
        check(["role_nouns", i, "phrases"], role["phrases"])
    for key, phrases in data["initiatives"].items():
        check(["initiatives", key], phrases)
    for i, cue in enumerate(data["partnership_cues"]):
        check(["partnership_cues", i, "phrases"], cue["phrases"])
    for key, phrases in data["status_cues"].items():
        check(["status_cues", key], phrases)
    seen: dict[str, int] = {}
    for i, kind in enumerate(data["kinds"]):
        if kind["id"] in seen:
            problems.append(problem(["kinds", i, "id"], f"id {kind['id']!r} is used twice"))
        seen.setdefault(kind["id"], i)
    return problems


def load_entity_cues(path: str | Path | None = None) -> EntityCues:
    """The cue lists at `path` (the package's when None), or CityQDAError CQ311."""
    path = Path(path) if path is not None else default_cues_path()
    return _load_cues(str(path))


@lru_cache(maxsize=4)
def _load_cues(path: str) -> EntityCues:
    raw_bytes = Path(path).read_bytes()
    try:
        doc = YamlDocument.from_text(raw_bytes.decode("utf-8"))
    except Exception as exc:  # noqa: BLE001 - any YAML or decoding failure is the user's
        raise CityQDAError("CQ311", file=path, location="(top level)",
                           problem=f"cannot be read: {exc}") from exc
    problems = cue_problems(doc, path)
    if problems:
        raise CityQDAError.from_problems(problems)
    return build_entity_cues(doc.data, hashlib.sha256(raw_bytes).hexdigest())


def build_entity_cues(data: dict, sha256: str) -> EntityCues:
    """The cue lists from their checked document (`pipeline.nlp.tagger` keeps it in the
    study's build cache, so a rebuild skips the YAML and schema check)."""
    variants = {k: v for k, v in data["spelling_variants"].items()}
    fold = lambda word: strip_accents(word.lower()).replace(".", "")  # noqa: E731
    kinds = {k["id"]: Kind(k["id"], k["category"], k["sector"], k["role"], float(k["weight"]),
                           bool(k.get("generic", False))) for k in data["kinds"]}
    return EntityCues(
        raw=data, sha256=sha256, variants=variants,
        kinds=kinds, default=(data["default_kind"]["category"], data["default_kind"]["sector"]),
        bare_name=((data["bare_name_kind"]["category"], data["bare_name_kind"]["sector"])
                   if "bare_name_kind" in data else None),

        connectors=frozenset(fold(w) for w in data["name_connectors"]),
        complement=frozenset(fold(w) for w in data["complement_connectors"]),
        initial=frozenset(fold(w) for w in data["initial_words"]),
        acronym_stop=frozenset(w.upper().replace(".", "") for w in data["acronym_stoplist"]),
        lower_suffixes=frozenset(fold(w) for w in data["lower_company_suffixes"]),
        role_preps=frozenset(fold(w) for w in data["role_prepositions"]),
        relative=frozenset(fold(w) for w in data["relative_words"]),
        fillers=frozenset(fold(p) for p in data["list_fillers"]),
        determiners=frozenset(fold(w) for w in data["reference_determiners"]),
        reference_any=frozenset(fold(w) for w in data["reference_any"]))


# ------------------------------------------------------------------------------ matching


def phrase_variants(text: str, variants: dict[str, str]) -> list[str]:
    """The forms a phrase may take in a text: as written, without accents, without dots,
    hyphens as spaces or joined, "&" for "and" (and back), British and American spelling."""
    reverse: dict[str, list[str]] = {}
    for a, b in variants.items():
        reverse.setdefault(b, []).append(a)
        reverse.setdefault(a, []).append(b)
    forms = {" ".join(text.split())}
    for transform in (strip_accents, lambda s: s.replace(".", ""),
                      lambda s: s.replace("-", " "), lambda s: s.replace("-", ""),
                      lambda s: s.replace(" & ", " and "), lambda s: s.replace(" and ", " & ")):
        forms |= {" ".join(transform(f).split()) for f in forms}
    spelled = set(forms)
    for _ in range(3):  # "International Labor Organisation": two words differ at once
        for form in list(spelled):
            words = form.split(" ")
            for i, word in enumerate(words):
                key = strip_accents(word.lower())
                for other in reverse.get(key, ()):
                    spelled.add(" ".join([*words[:i], other, *words[i + 1:]]))
    return sorted(f for f in spelled if f)


def _alias_case(alias: str) -> str:
    """acronym (case must match), proper (capitals must stay capitals), any."""
    letters = [ch for ch in alias if ch.isalpha()]
    uppers = sum(1 for ch in letters if ch.isupper())
    if uppers >= 2 and (uppers == len(letters) or not alias.split()[0][1:].islower()) \
            and len(alias.split()) <= 3 and all(not w[1:].islower() or len(w) <= 1
                                                for w in alias.split() if w[0].isalpha()):
        return "acronym"
    if uppers:
        return "proper"
    return "any"


@dataclass(frozen=True)
class Alias:
    actor: RegistryActor
    text: str
    case: str


class EntityMatcher:
    """Everything compiled for one vocabulary, registry and cue lists."""

    def __init__(self, nlp, registry: Registry, cues: EntityCues,
                 keywords: list | None = None):
        """`keywords`: a list to record each phrase group's keywords (LOWER hashes) in;
        filled by an earlier build with the same registry, cues and code, its groups are
        replayed instead of expanded and tokenised again (`pipeline.nlp.build_cache`)."""
        self.nlp = nlp
        self.keywords = keywords
        self._replay = list(keywords) if keywords else []
        if keywords:
            keywords.clear()
        self.vocab = nlp.vocab
        self.registry = registry
        self.cues = cues
        self.matcher = PhraseMatcher(self.vocab, attr="LOWER")
        self.payload: dict[int, tuple[str, object]] = {}
        self._classes: dict[int, int] = {}
        self.fold_cache: dict[int, str] = {}  # vocabulary entry -> folded word

        self._docs: dict[str, object] = {}
        data = cues.raw
        for actor in registry.actors:
            for name in actor.names:
                self._add("reg", Alias(actor, name, _alias_case(name)), [name],
                          key=f"reg|{actor.id}|{name}")
        phrases_of = {k["id"]: k["phrases"] for k in data["kinds"]}
        for kind in cues.kinds.values():
            self._add("kind", kind, phrases_of[kind.id], key=f"kind|{kind.id}")
        self._add("suffix", None, data["company_suffixes"])
        self.suffix_words = frozenset(
            cues.fold(s) for s in data["company_suffixes"] if " " not in s.strip())
        for i, role in enumerate(data["role_nouns"]):
            lean = (role["category"], role["sector"]) if "category" in role else None
            self._add("role", lean, role["phrases"], key=f"role|{i}")
        self._add("report", None, data["report_verbs"])
        self._add("actor_verb", None, data.get("actor_verbs", []))
        self._add("owner", None, data.get("owner_verbs", []))
        self._add("third_verb", None, data.get("third_actor_verbs", []))
        self._add("joint_verb", None, data.get("joint_verbs", []))
        self._add("transfer_verb", None, data.get("transfer_verbs", []))
        self._add("through_verb", None, data.get("through_verbs", []))
        self._add("term", None, data["terminators"])
        self._add("member", None, data["member_markers"])
        self._add("selfref", None, data["self_references"])
        for key in ("heads", "ambiguous_heads", "lower_heads", "run_verbs", "start_verbs",
                    "by_verbs"):
            self._add(f"init_{key}", None, data["initiatives"][key])
        self._add("agreement", None, data["agreement_nouns"])
        self._add("funding", None, data["funding_nouns"])
        for cue in data["partnership_cues"]:
            self._add("pcue", (cue["id"], cue["kind"]), cue["phrases"], key=f"pcue|{cue['id']}")
        for status, phrases in data["status_cues"].items():
            self._add("status", status, phrases, key=f"status|{status}")
        self._docs.clear()

    def _add(self, group: str, payload, phrases, key: str | None = None) -> None:
        key = key or group
        recorded = len(self.keywords) if self.keywords is not None else 0
        if recorded < len(self._replay) and self._replay[recorded][0] == key:
            docs = self._replay[recorded][1]
        else:
            self._replay = []  # out of step: build the rest
            texts: set[str] = set()
            for phrase in phrases:
                for expanded in expand_phrase(phrase):
                    texts.update(phrase_variants(expanded, self.cues.variants))
            docs = []
            for text in sorted(texts):
                doc = self._docs.get(text)
                if doc is None:
                    doc = self.nlp.make_doc(text)
                    self._docs[text] = doc
                docs.append(doc)
        if self.keywords is not None:
            self.keywords.append((key, [d if isinstance(d, tuple) else
                                        tuple(token.lower for token in d) for d in docs]))
        if not docs:
            return
        key_hash = self.vocab.strings.add(key)
        self.payload[key_hash] = (group, payload)
        self.matcher.add(key, docs)

    def _shape_of(self, orth: int) -> int:
        text = self.vocab.strings[orth]
        if not text.strip():
            return BREAK if "\n" in text else OTHER
        if text == ",":
            return COMMA
        if text in _QUOTES:
            return QUOTE
        if text in ("(", "["):
            return OPEN
        if text in (")", "]"):
            return CLOSE
        if text in _HYPHENS:
            return HYPHEN
        if text == "&":
            return AMP
        if text.lower() in ("'s", "\u2019s", "s'"):
            return POSS
        first = text[0]
        if first.isdigit():
            return NUM
        if first.islower() and _ELIDED_CAPITAL.match(text):
            return CAP
        if first.isalpha():
            if first.isupper():
                letters = [ch for ch in text if ch.isalpha()]
                if len(letters) >= 2 and all(ch.isupper() for ch in letters):
                    return ACR
                return CAP
            return LOWER
        return OTHER

    def reference_positions(self, view) -> list[int]:
        """Tokens (after the first) that may refer back: "the organisation", "the bank"."""
        return [i for i in numpy.flatnonzero(view.classes & _REFERENCE).tolist() if i]

    def _class_of(self, orth: int) -> int:
        text = self.vocab.strings[orth]
        folded = self.cues.fold(text)
        flags = self._shape_of(orth)
        if folded in self.cues.reference_any:
            flags |= _REFERENCE
        if folded in self.cues.connectors or text in ("'", "\u2019", "."):
            flags |= _CONNECTOR
        elif flags & _SHAPE_BITS == LOWER and 2 <= len(folded) <= 3 and folded.isalpha() \
                and folded.isascii() and folded not in _STOP_WORDS \
                and folded not in english_words():
            flags |= _CONNECTOR  # "Kituo cha Sheria": a short word of another language
        if folded in self.cues.initial or folded in _STOP_WORDS:
            flags |= _WEAK
        if folded in self.cues.lower_suffixes:
            flags |= _LOW_SUFFIX
        if flags & _SHAPE_BITS == LOWER and not flags & (_CONNECTOR | _WEAK) and len(folded) >= 4 \
                and folded.isalpha() and (not text.isascii() or (
                    not folded.endswith(_ENGLISH_ENDINGS) and folded not in english_words())):
            flags |= _FOREIGN  # "Hospice général": an accent is no English word's
        return flags

    def classes(self, orth: list[int]) -> list[int]:
        """Per token: its shape (low bits) and flags (_REFERENCE, _CONNECTOR, ...). A dict
        per vocabulary entry: it grows with the vocabulary without re-sorting anything."""
        cache = self._classes
        found = [cache.get(o, -1) for o in orth]
        if -1 in found:
            for i, value in enumerate(found):
                if value == -1:
                    value = cache.get(orth[i])
                    if value is None:
                        value = cache[orth[i]] = self._class_of(orth[i])
                    found[i] = value
        return found


# ------------------------------------------------------------------------------ the document


@dataclass
class ActorMention:
    """One mention of an actor, on tokens [start, end) of the doc."""

    start: int
    end: int
    name: str
    canonical: str
    category: str
    sector: str
    guess: bool
    generic: bool = False
    registry_id: str | None = None
    source: str = "name"
    sentence: int = 0
    refers_to: str | None = None
    city: str | None = None
    kind: str | None = None  # the kind of a generic or referring mention
    based_on: str | None = None
    evidence: list[str] = field(default_factory=list)
    votes: list[tuple[str, str, float, str]] = field(default_factory=list, repr=False)

    @property
    def key(self) -> str:
        """What identifies the actor across mentions (registry id, else its folded name)."""
        if self.registry_id:
            return f"id:{self.registry_id}"
        return f"name:{fold_key(self.canonical)}"


@dataclass
class Chunk:
    """A capitalised name (or quoted span) on tokens [start, end)."""

    start: int
    end: int
    quoted: bool = False
    owns: bool = False  # "BRAC's Migration Programme": the owner of what follows


def _by_start_longest_first(item) -> tuple[int, int]:
    return item[0], -item[1]


class Mask:
    """Marked tokens (a bytearray: cheaper than numpy for the few tokens asked at a time)."""

    __slots__ = ("flags",)

    def __init__(self, length: int):
        self.flags = bytearray(length)

    def mark(self, start: int, end: int) -> None:
        self.flags[start:end] = b"\x01" * (end - start)

    def any(self, start: int, end: int) -> bool:
        return any(self.flags[start:end])

    def __getitem__(self, index: int) -> int:
        return self.flags[index]

    def copy(self) -> Mask:
        other = Mask(0)
        other.flags = bytearray(self.flags)
        return other


class DocView:
    """One document with everything the entity passes share."""

    def __init__(self, doc, matcher: EntityMatcher, context: dict | None = None,
                 text: str | None = None):
        self.doc = doc
        self.string = text if text is not None else doc.text
        self.m = matcher
        self.cues = matcher.cues
        self.context = context or {}
        self.length = len(doc)
        if self.length:
            arrays = doc.to_array([ORTH, IDX, LENGTH])
            orth = numpy.ascontiguousarray(arrays[:, 0])
            self.idx = arrays[:, 1].tolist()
            self.ends = (arrays[:, 1] + arrays[:, 2]).tolist()
        else:
            orth = numpy.zeros(0, dtype=numpy.uint64)
            self.idx, self.ends = [], []
        self.orth = orth.tolist()
        self.flags = matcher.classes(self.orth)
        classes = numpy.array(self.flags, dtype=numpy.int16)
        self.classes = classes
        shape = classes & _SHAPE_BITS
        string = self.string
        for i in numpy.flatnonzero(shape == QUOTE).tolist():
            # "Seekers' Support": an apostrophe stuck to a plural is a possessive
            at = self.idx[i]
            if i and string[at] in ("'", "\u2019") and self.ends[i - 1] == at \
                    and string[at - 1:at] in ("s", "S") and string[at + 1:at + 2] == " ":
                shape[i] = POSS
        starts = doc.user_data.get("cityqda_sentences")
        if starts is None:  # a Doc our sentencizer did not see
            flags = doc.to_array(SENT_START) if self.length else numpy.zeros(0)
            starts = numpy.flatnonzero(flags == 1).tolist()
            if not starts or starts[0] != 0:
                starts.insert(0, 0)
        self.sentence_starts = starts = list(starts)
        self.shape_array = shape  # for whole-document tests
        self.shape = shape.tolist()  # for one token at a time (much faster than numpy)
        # each token's sentence number, from the starts (cheaper than numpy on ~60 tokens)
        sent: list[int] = []
        for number, (low, high) in enumerate(zip(starts, [*starts[1:], self.length],
                                                 strict=True)):
            sent.extend([number] * (high - low))
        self.sent = sent
        groups: dict[str, list[tuple[int, int, object]]] = {}
        payload = matcher.payload
        for key, start, end in matcher.matcher(doc) if self.length else ():
            if sent[start] == sent[end - 1]:
                group, data = payload[key]
                if group in groups:
                    groups[group].append((start, end, data))
                else:
                    groups[group] = [(start, end, data)]
        for spans in groups.values():
            if len(spans) > 1:
                spans.sort(key=_by_start_longest_first)
        self.groups = groups
        self._fold_cache = matcher.fold_cache
        self._longest: dict[str, list] = {}
        self._starts: dict[str, list[int]] = {}
        self._longest_starts: dict[str, list[int]] = {}
        self.actors: list[ActorMention] = []
        self.chunks: list[Chunk] = []
        self.initiative_chunks: list[Chunk] = []
        self.consumed = Mask(self.length)
        self.extend_to: dict[int, int] = {}  # a name that takes the kind word after it
        self.terminator_at: set[int] = {s for s, _, _ in self.groups.get("term", ())}

    # -- token helpers -------------------------------------------------------------------
    def text(self, i: int) -> str:
        return self.m.vocab.strings[self.orth[i]]

    def folded(self, i: int) -> str:
        orth = self.orth[i]
        value = self._fold_cache.get(orth)
        if value is None:
            value = self.cues.fold(self.m.vocab.strings[orth])
            self._fold_cache[orth] = value
        return value

    def span_text(self, start: int, end: int) -> str:
        return self.string[self.idx[start]:self.ends[end - 1]]

    def sentence_bounds(self, sentence: int) -> tuple[int, int]:
        starts = self.sentence_starts
        end = starts[sentence + 1] if sentence + 1 < len(starts) else self.length
        return starts[sentence], end

    def clause_bounds(self, start: int, end: int) -> tuple[int, int]:
        """Tokens of the clause around [start, end): inside the sentence, between terminators."""
        sent_start, sent_end = self.sentence_bounds(int(self.sent[start]))
        left, right = sent_start, sent_end
        for s, e, _ in self.groups.get("term", ()):
            if sent_start <= s and e <= start and e > left:
                left = e
            if end <= s < right and s < sent_end:
                right = s
        return left, right

    def in_group(self, group: str, start: int, end: int) -> list[tuple[int, int, object]]:
        spans = self.groups.get(group)
        if not spans:
            return []
        starts = self._starts.get(group)
        if starts is None:
            starts = self._starts[group] = [m[0] for m in spans]
        found = []
        for index in range(bisect_left(starts, start), len(spans)):
            match = spans[index]
            if match[0] >= end:
                break
            if match[1] <= end:
                found.append(match)
        return found

    def longest(self, group: str, start: int = 0, end: int | None = None
                ) -> list[tuple[int, int, object]]:
        """Matches of a group in [start, end), overlaps resolved: the longest wins."""
        if group not in self.groups:
            return []
        cached = self._longest.get(group)
        if cached is None:
            cached = self._longest[group] = self._resolve(group, 0, self.length)
            self._longest_starts[group] = [m[0] for m in cached]
        if start == 0 and (end is None or end >= self.length):
            return cached
        end = self.length if end is None else end
        starts = self._longest_starts[group]
        found = []
        for index in range(bisect_left(starts, start), len(cached)):
            match = cached[index]
            if match[0] >= end:
                break
            if match[1] <= end:
                found.append(match)
        return found

    def _resolve(self, group: str, start: int, end: int) -> list[tuple[int, int, object]]:
        found = sorted(self.in_group(group, start, end), key=lambda m: (m[0] - m[1], m[0]))
        if len(found) == 1:
            return found
        kept: list[tuple[int, int, object]] = []
        spans: set[tuple[int, int]] = set()
        taken = Mask(self.length)
        for s, e, data in found:
            if (s, e) in spans or not taken.any(s, e):  # same span: keep every reading
                taken.mark(s, e)
                spans.add((s, e))
                kept.append((s, e, data))
        kept.sort(key=lambda m: (m[0], m[1]))
        return kept

    def actor_at(self, i: int) -> ActorMention | None:
        for actor in self.actors:
            if actor.start <= i < actor.end:
                return actor
        return None

    def actors_in(self, start: int, end: int) -> list[ActorMention]:
        return [a for a in self.actors if start <= a.start and a.end <= end]

    def coordinated(self, position: int, limit: int, skip_first: int = 3
                    ) -> tuple[list[ActorMention], int]:
        """The actors listed from `position` ("the NGO X, Y and Z", "X and with Y"), and where
        the list stops. Up to `skip_first` filler words may come before the first one."""
        found: list[ActorMention] = []
        i = position
        gap = skip_first
        fillers = self.cues.fillers
        list_words = ("and", "or", "&", ",", "as", "well", "along", "with", "plus", "also",
                      "both", "from", "by", "including", "such", "among", "them")
        while i < limit:
            actor = self.actor_at(i)
            if actor is not None and actor.start == i:
                owned = self.actor_at(actor.end + 1) if actor.end + 1 < limit and \
                    self.text(actor.end) in ("'s", "\u2019s") else None
                if owned is not None and owned.start == actor.end + 1:
                    # "with the council's employment service", "the Kurdistan Region's
                    # Ministry of Labour": the owned body is the party, acting for itself
                    actor = owned
                found.append(actor)
                i = actor.end
                gap = 3
                # an apposition after a party: ", a refugee support NGO that ...,", ", the
                # national carrier, and" (not ", the municipality, and": an actor itself)
                if i < limit and self.shape[i] == COMMA and i + 1 < limit and \
                        self.folded(i + 1) in ("a", "an", "the"):
                    k = i + 1
                    while k < limit and self.shape[k] != COMMA and k - i < 16:
                        k += 1
                    if k < limit and k + 1 < limit and self.folded(k + 1) == "and" and not (
                            self.folded(i + 1) == "the" and any(
                                self.actor_at(j) is not None for j in range(i + 1, k))):
                        i = k
                continue
            word = self.folded(i)
            shape = self.shape[i]
            if found and i == found[-1].end and word in _BRANCH_WORDS and i + 1 < limit and (
                    self.folded(i + 1) in ("and", "&") or self.shape[i + 1] == COMMA):
                i += 1  # "the UNHCR office and the prefecture": the body's local branch
                continue
            if found and shape == OPEN and i == found[-1].end:
                # a bracket after a party ("Settlement Services International (SSI) and ..."):
                # its acronym or gloss, skipped
                close = i + 1
                while close < limit and self.shape[close] != CLOSE and close - i < 8:
                    close += 1
                if close < limit and self.shape[close] == CLOSE:
                    i = close + 1
                    continue
            if found and i == found[-1].end and word == "in" and i + 2 < limit and \
                    self.shape[i + 1] == CAP and self.actor_at(i + 1) is None and (
                    self.shape[i + 2] == COMMA or self.folded(i + 2) in ("and", "&")):
                i += 2  # "Migrationsverket in Gimo, Arbetsförmedlingen and ...": its branch
                continue
            if found and (shape == COMMA or word in list_words):
                if shape == COMMA and i + 1 < limit and self.folded(i + 1) in self.cues.relative:
                    break
                i += 1
                continue
            if word in ("partner", "partners") and i + 1 < limit and self.folded(i + 1) in (
                    "with", "of"):
                break  # "... and partners with Y": a new partnership, not a list filler
            if gap > 0 and (word in fillers or shape in (QUOTE, HYPHEN)):
                gap -= 1
                i += 1
                continue
            if gap > 0 and shape in (LOWER, CAP) and (not found or self.folded(i - 1) in fillers):
                # "the German development agency GIZ", "a local credit union, X": modifiers
                nxt = self._actor_within(i + 1, min(limit, i + 1 + gap))
                if nxt is not None and all(
                        self.shape[k] in (LOWER, CAP, HYPHEN) or
                        (self.shape[k] == COMMA and k == nxt - 1) for k in range(i, nxt)) \
                        and not any(self.folded(k) in self.cues.relative for k in range(i, nxt)):
                    i = nxt
                    continue
            break
        return found, i

    def _actor_within(self, start: int, end: int) -> int | None:
        for actor in self.actors:
            if start <= actor.start < end:
                return actor.start
        return None


# ------------------------------------------------------------------------------ recognition


class ActorRecognizer:
    """Finds the actors of a DocView (fills `view.actors`, sorted by position)."""

    def __init__(self, matcher: EntityMatcher):
        self.m = matcher
        self.cues = matcher.cues
        self._municipality_kind = matcher.cues.kinds.get("municipality")

    def __call__(self, view: DocView) -> list[ActorMention]:
        if not view.length:
            return []
        taken = Mask(view.length)
        actors: list[ActorMention] = []
        for mention in self._registry(view):
            actors.append(mention)
            taken.mark(mention.start, mention.end)
        actors.extend(self._bodies_of_places(view, taken))
        view.chunks = self._chunks(view, taken)
        rejected = []
        for chunk in view.chunks:
            if self._bracketed_alias(view, chunk, taken):
                continue
            found = self._classify(view, chunk, actors)
            if found is not None:
                actors.append(found)
                taken.mark(found.start, found.end)
            else:
                rejected.append(chunk)
        for chunk in rejected:
            # "Microsoft and the Danish Refugee Council launched ...": listed before an actor
            if chunk not in view.initiative_chunks and self._listed_before(view, chunk, actors):
                found = self._classify(view, chunk, actors, listed=True)
                if found is not None:
                    actors.append(found)
                    taken.mark(found.start, found.end)
        for chunk in rejected:
            if not taken.any(chunk.start, chunk.end):
                found = self._spelled_out(view, chunk, actors)
                if found is not None:
                    actors.append(found)
                    taken.mark(found.start, found.end)
        self._named_again(view, rejected, actors, taken)
        self._whole_text_name(view, actors)
        self._acronyms_listed_with_companies(view, actors)
        _same_name_same_kind(actors)
        _town_of_a_named_government(actors)
        actors.extend(self._aliases_in_brackets(view, actors, taken))
        actors.extend(self._generic(view, taken))
        actors.sort(key=lambda a: (a.start, a.end))
        _named_appositions(view, actors)
        view.actors = actors
        self._owned_by(view, actors)
        self._resolve_references(view)
        return view.actors

    def _owned_by(self, view: DocView, actors) -> None:
        """ "the Seoul Global Center, run by the Seoul Metropolitan Government", "Mímir, a
        learning centre owned by the trade union confederation": who runs or owns a body
        gives its sector (a city's centre is a public service; a city's partnership or
        council a policy maker)."""
        owners = view.groups.get("owner")
        if not owners:
            return
        verb_end = {s: e for s, e, _ in owners}
        for actor in actors:
            if actor.generic or actor.registry_id or actor.source != "name":
                continue
            sent_end = view.sentence_bounds(actor.sentence)[1]
            k = actor.end
            if k < sent_end and view.shape[k] == COMMA:
                k += 1
                if k < sent_end and view.folded(k) in ("a", "an"):  # an apposition
                    stop = k + 1
                    while stop < sent_end and stop - k < 9 and view.shape[stop] != COMMA \
                            and stop not in verb_end:
                        stop += 1
                    k = stop
            if k < sent_end and view.folded(k) in ("which", "that"):
                k += 1
            if k < sent_end and view.folded(k) in ("is", "was", "are", "were"):
                k += 1
            e = verb_end.get(k)
            if e is None or e >= sent_end or view.folded(e) != "by":
                continue
            agents, _ = view.coordinated(e + 1, sent_end)
            if not agents or agents[0] is actor:
                continue
            agent = agents[0]
            if view.folded(k) == "owned" and actor.category == "business" and \
                    agent.source == "name" and not agent.registry_id and not _decided(agent):
                # "Escondida, a copper mine owned by BHP": who owns a company is one
                agent.votes.append(("business", "private", 8.5, "owns_company"))
                agent.evidence.append("owns_company")
                agent.category, agent.sector = self._decide(agent.votes)
                continue
            category = agent.category
            if agent.sector == "public":
                service = view.in_group("init_ambiguous_heads", actor.start, actor.end) or \
                    agent.category == "practitioner"
                category = "practitioner" if service else "policy_maker"
            actor.votes.append((category, agent.sector, 8.5, "owner"))
            actor.evidence.append("owned_by")
            actor.category, actor.sector = self._decide(actor.votes)

    # -- registry ------------------------------------------------------------------------
    def _registry(self, view: DocView) -> list[ActorMention]:
        found = []
        kinds = [(s, e) for s, e, k in view.groups.get("kind", ()) if k.role == "head"]
        for start, end, alias in view.longest("reg"):
            if not self._case_ok(view, start, end, alias):
                continue
            if any(s <= start and end <= e and e - s > end - start for s, e in kinds):
                continue  # "UN agencies", "EU institutions": a kind of actor
            found.append((start, end, alias))
        # several entries may share an alias: the longest match wins, then context decides
        by_span: dict[tuple[int, int], list[Alias]] = {}
        for start, end, alias in view.groups.get("reg", ()):
            by_span.setdefault((start, end), []).append(alias)
        mentions = []
        for start, end, _ in found:
            candidates = [a.actor for a in by_span[(start, end)]
                          if self._case_ok(view, start, end, a)]
            actor = self._choose(view, candidates)
            end2 = self._extension(view, end)
            if end2 > end and any(kind.category != actor.category for _, _, kind in
                                  self._head_positions(view, end, end2)):
                continue  # "Mastercard Foundation", "IKEA Foundation": a body of its own
            if end2 > end:  # "JRS Romania", "Equity Bank Rwanda": a branch of a known body
                name = view.span_text(start, end2)
                mentions.append(ActorMention(
                    start, end2, name, name, actor.category, actor.sector, guess=True,
                    source="registry_branch", sentence=int(view.sent[start]),
                    based_on=actor.id, city=actor.city, evidence=[f"registry:{actor.id}"]))
                continue
            ambiguous = len({a.id for a in candidates}) > 1 and actor is None
            chosen = actor or candidates[0]
            mentions.append(ActorMention(
                start, end, view.span_text(start, end), chosen.name, chosen.category,
                chosen.sector, guess=ambiguous, registry_id=None if ambiguous else chosen.id,
                source="registry", sentence=int(view.sent[start]), city=chosen.city,
                evidence=[f"registry:{a.id}" for a in candidates]))
        return mentions

    def _case_ok(self, view: DocView, start: int, end: int, alias: Alias) -> bool:
        if alias.case == "any":
            return True
        words = [view.text(i) for i in range(start, end)
                 if view.shape[i] not in (HYPHEN, OTHER) and view.text(i) not in (".", "'")]
        if alias.case == "acronym":
            def plain(s):
                return strip_accents(s).replace(".", "").replace("-", "").replace(" ", "")
            return plain("".join(words)) == plain(alias.text)
        alias_words = [w for w in alias.text.replace("-", " ").split() if w[:1].isalpha()]
        text_words = [w for w in words if w[:1].isalpha()]
        if len(alias_words) != len(text_words):
            return any(w[:1].isupper() for w in text_words)
        return all(t[:1].isupper() for a, t in zip(alias_words, text_words, strict=True)
                   if a[:1].isupper())

    def _choose(self, view: DocView, candidates: list[RegistryActor]) -> RegistryActor | None:
        unique = {a.id: a for a in candidates}
        if len(unique) == 1:
            return next(iter(unique.values()))
        city = fold_key(view.context.get("city") or "")
        country = fold_key(view.context.get("country") or "")
        text = fold_key(view.doc.text)
        for test in (lambda a: city and a.city and fold_key(a.city) == city,
                     lambda a: country and a.country and fold_key(a.country) == country,
                     lambda a: a.city and fold_key(a.city) in text,
                     lambda a: a.country and fold_key(a.country) in text):
            hits = [a for a in unique.values() if test(a)]
            if len(hits) == 1:
                return hits[0]
        return None

    def _extension(self, view: DocView, end: int) -> int:
        """End of the capitalised words right after a registry name (a branch's place),
        hyphenated ones too ("VluchtelingenWerk Noord-Nederland")."""
        i = end
        while i < view.length and view.shape[i] in (CAP,) and int(view.sent[i]) == int(
                view.sent[end - 1]) and not view.in_group("reg", i, i + 1) \
                and view.folded(i) not in self.cues.initial:
            i += 1
            if i > end and i + 1 < view.length and view.shape[i] == HYPHEN and \
                    view.shape[i + 1] == CAP and view.idx[i] == view.ends[i - 1] and \
                    view.idx[i + 1] == view.ends[i]:
                i += 1
        return i

    # -- capitalised names ---------------------------------------------------------------
    def _chunks(self, view: DocView, taken: numpy.ndarray) -> list[Chunk]:
        shape = view.shape
        flags = view.flags
        cues = self.cues
        chunks: list[Chunk] = []
        n = view.length
        array = view.shape_array
        candidates = numpy.flatnonzero((array == CAP) | (array == ACR) | (array == QUOTE))
        if not len(candidates):
            return chunks
        visit = candidates.tolist()
        cursor = 0
        i = visit[0]
        while i < n:
            while cursor < len(visit) and visit[cursor] < i:
                cursor += 1
            if cursor >= len(visit):
                break
            i = visit[cursor]
            s = shape[i]
            if s == QUOTE:
                quoted = self._quoted(view, i, taken)
                if quoted is not None:
                    chunks.append(quoted)
                    i = quoted.end + 1
                    continue
            if s not in (CAP, ACR) or taken[i]:
                i += 1
                continue
            if s == CAP and flags[i] & _WEAK and (i + 1 >= n or (
                    shape[i + 1] == LOWER and not flags[i + 1] & (_CONNECTOR | _LOW_SUFFIX))) \
                    and self._initial(view, i):
                i += 1  # "The respondent ...", "She said ...": the common case, quickly
                continue
            start = i
            end = i + 1
            j = i + 1
            in_complement = False
            while j < n and not taken[j] and view.sent[j] == view.sent[start]:
                sj = shape[j]
                if sj in (CAP, ACR, NUM):
                    end = j + 1
                    j += 1
                    continue
                if sj == HYPHEN and j + 1 < n and shape[j + 1] == LOWER and \
                        _attached(view, j) and shape[j - 1] in (CAP, ACR) and \
                        not taken[j + 1]:
                    end = j + 2  # "Co-operative Group", "Lai-momo": one word with a hyphen
                    j += 2
                    continue
                if sj == LOWER and (flags[j] & _LOW_SUFFIX or (
                        flags[j] & _FOREIGN and shape[j - 1] in (CAP, LOWER)
                        and (shape[j - 1] == CAP or flags[j - 1] & _FOREIGN))):
                    end = j + 1
                    j += 1
                    continue
                if sj in (LOWER, AMP, POSS, HYPHEN, OTHER) and (
                        flags[j] & _CONNECTOR or sj in (AMP, POSS, HYPHEN)):
                    # connectors only inside a name: a capitalised word must follow
                    k = j
                    while k < n and not taken[k] and (
                            shape[k] in (AMP, POSS, HYPHEN)
                            or (shape[k] in (LOWER, OTHER) and flags[k] & _CONNECTOR)):
                        k += 1
                    if k < n and shape[k] in (CAP, ACR) and not taken[k] \
                            and view.sent[k] == view.sent[start] and k - j <= 3:
                        if view.text(j) == "." and not _initial_dot(view, j):
                            break
                        if view.folded(j) in cues.complement:
                            in_complement = True
                        if view.folded(j) == "and" and not (
                                self._and_the_joins(view, j, k) if in_complement
                                and k == j + 2 else k == j + 1 and self._and_joins(
                                    view, start, j, k, in_complement)):
                            break
                        end = k + 1
                        j = k + 1
                        continue
                    break
                if sj == COMMA and in_complement and self._comma_list(view, start, j):
                    j += 1
                    continue
                break
            # drop a leading word capitalised only because it starts the sentence, and a
            # describing acronym ("the NGO CITE")
            dated = True
            while dated:
                while start < end and (self._initial(view, start) or (
                        end - start > 1 and shape[start] == ACR and strip_accents(
                            view.text(start)).upper() in cues.acronym_stop)):
                    start += 1
                # "Since March 2022 CADIS", "From May 2015 to June 2016 X": a date, then a name
                dated = start + 1 < end and shape[start + 1] == NUM and \
                    view.folded(start) in _MONTHS
                start += dated
                while start < end and shape[start] not in (CAP, ACR):
                    start += 1
            while end > start and shape[end - 1] not in (CAP, ACR, NUM) and not (
                    shape[end - 1] == LOWER and (view.folded(end - 1) in cues.lower_suffixes
                                                 or flags[end - 1] & _FOREIGN or (
                        end - 2 > start and shape[end - 2] == HYPHEN
                        and _attached(view, end - 2)))):
                end -= 1
            if end > start and shape[end - 1] == ACR and start > 0 and view.folded(
                    start - 1) in ("a", "an") and strip_accents(
                    view.text(end - 1)).upper() in cues.acronym_stop:
                end = start  # "a Kurdish NGO": a description, no name
            if end > start:
                quoted = (start > 0 and shape[start - 1] == QUOTE and end < n
                          and shape[end] == QUOTE)
                chunks.extend(self._split_possessive(view, Chunk(start, end, quoted)))
            i = max(j, i + 1)
        return chunks

    def _quoted(self, view: DocView, i: int, taken) -> Chunk | None:
        """ 'Arrivo Berlin', "Safe House": a short quoted name starting with a capital."""
        mark = view.text(i)
        j = i + 1
        while j < view.length and j - i <= 9 and view.text(j) != mark \
                and view.sent[j] == view.sent[i]:
            j += 1
        if j >= view.length or view.text(j) != mark or j == i + 1 or taken.any(i + 1, j):
            return None
        if view.shape[i + 1] not in (CAP, ACR) or view.shape[j - 1] not in (CAP, ACR, NUM,
                                                                            LOWER):
            return None
        if any(view.shape[k] in (COMMA, QUOTE, BREAK) for k in range(i + 1, j)):
            return None
        return Chunk(i + 1, j, quoted=True)

    @staticmethod
    def _initial_position(view: DocView, i: int) -> bool:
        return i == view.sentence_bounds(int(view.sent[i]))[0] or (
            i > 0 and (view.shape[i - 1] in (QUOTE, BREAK) or view.text(i - 1) == ":"))

    def _initial(self, view: DocView, i: int) -> bool:
        """A capitalised word that only starts the sentence (or follows a quote or colon)."""
        first = i == view.sentence_bounds(int(view.sent[i]))[0] or (
            i > 0 and (view.shape[i - 1] in (QUOTE, BREAK) or view.text(i - 1) in (":",)))
        if not first:
            return view.folded(i) in ("the",)
        return bool(view.flags[i] & _WEAK)

    def _and_joins(self, view: DocView, start: int, and_at: int, next_at: int,
                   in_complement: bool) -> bool:
        """Does "and" continue one name ("Refugee and Migrant Centre") or join two?"""
        if any(s < and_at < e for s, e, _ in view.in_group(
                "kind", start, min(view.length, and_at + 4))):
            return True  # a cue phrase holds it ("Education and Training Board")
        if in_complement:
            # "Ministry of Immigration, Francization and Integration" is one name, "Ministry of
            # Labour and Renault SA" two: the second part is a name of its own
            k = next_at
            while k + 1 < view.length and view.shape[k + 1] in (CAP, ACR):
                k += 1
            if view.shape[and_at - 1] == CAP and view.folded(k).endswith("s") and view.shape[
                    next_at] == CAP and (
                    k == next_at and view.folded(and_at - 1).endswith("s") and and_at - 1 > start
                    or k == next_at + 1 and view.folded(and_at - 2) in self.cues.complement):
                # "Association of Cities and Municipalities", "Association of Local and
                # Regional Governments", "Ministry of Labour and Social Affairs": the words
                # around "and" share one plural head
                return True
            for s, e, kind in self._head_positions(view, start, and_at):
                if kind.id in _PLACE_HEADS:
                    # "Municipality of Turin and Intesa Sanpaolo": a place names one city
                    return False
                if e == and_at and any(view.folded(i) in self.cues.complement
                                       for i in range(s + 1, e)):
                    # a head that holds its complement ends the name ("Chamber of Commerce")
                    return False
            if k > next_at and view.shape[next_at] == CAP and \
                    view.folded(next_at) not in english_words():
                # "Ministry of Social Action and Ecobank Togo": a brand of two words follows
                return False
            if k == next_at and view.shape[next_at] == ACR and strip_accents(
                    view.text(next_at)).upper() not in self.cues.acronym_stop:
                # "Undersecretariat of Labour and YPF": a lone acronym names a body of its own
                return False
            return not (self._head_positions(view, next_at, k + 1)
                        or self._company_suffix(view, next_at, k + 1))
        left_heads = self._head_positions(view, start, and_at)
        if left_heads or view.shape[and_at - 1] == ACR:
            return False
        # the words after "and" must end in an organisation or initiative head
        k = next_at
        while k + 1 < view.length and view.shape[k + 1] in (CAP, ACR):
            k += 1
        return bool(self._head_positions(view, next_at, k + 1))

    def _and_the_joins(self, view: DocView, and_at: int, next_at: int) -> bool:
        """ "Senate Department for Urban Development and the Environment": inside a
        complement, "and the" before one ordinary capitalised word that is no body of its own
        continues the name."""
        return view.folded(and_at + 1) == "the" and view.shape[next_at] == CAP and (
            next_at + 1 >= view.length or view.shape[next_at + 1] not in (
                CAP, ACR, HYPHEN, POSS, NUM)) and view.folded(next_at) in common_words() and not (
                self._head_positions(view, next_at, next_at + 1)
                or view.in_group("kind", next_at, next_at + 1)
                or view.in_group("reg", next_at, next_at + 1))

    def _comma_list(self, view: DocView, start: int, comma: int) -> bool:
        """After a comma inside a name's complement: "X, Y and Z" continues the name, unless
        the name's complement is a place ("Municipality of Milan, Fondazione Cariplo and
        Assolombarda") or an item is a name of its own (its own head or company ending)."""
        if any(kind.id in _PLACE_HEADS for _, _, kind in self._head_positions(view, start, comma)):
            return False
        k = comma + 1
        item = k
        while item < view.length and view.shape[item] in (CAP, ACR, COMMA) or (
                item < view.length and view.folded(item) == "and"):
            item += 1
        if self._head_positions(view, comma + 1, item) or any(
                self._company_suffix(view, comma + 1, e) for e in range(comma + 2, item + 1)):
            return False
        seen_cap = False
        while k < view.length and view.sent[k] == view.sent[comma]:
            s = view.shape[k]
            if s in (CAP, ACR):
                seen_cap = True
            elif s == COMMA and seen_cap:
                seen_cap = False
            elif view.folded(k) == "and" and seen_cap:
                return k + 1 < view.length and view.shape[k + 1] in (CAP, ACR)
            else:
                return False
            k += 1
        return False

    def _split_possessive(self, view: DocView, chunk: Chunk) -> list[Chunk]:
        """ "City of Vienna's Municipal Department" names two bodies; "Women's Association"
        one."""
        for i in range(chunk.start + 1, chunk.end - 1):
            if view.shape[i] != POSS:
                continue
            right_org = self._head_positions(view, i + 1, chunk.end)
            right_init = view.in_group("init_heads", i + 1, chunk.end)
            left_org = self._head_positions(view, chunk.start, i) or (
                i - chunk.start == 1 and view.shape[chunk.start] == ACR)
            if (left_org and (right_org or right_init)) or (right_init and not right_org):
                owner = Chunk(chunk.start, i)
                owner.owns = True
                return [owner, *self._split_possessive(
                    view, Chunk(i + 1, chunk.end, chunk.quoted))]
        return [chunk]

    def _head_positions(self, view: DocView, start: int, end: int) -> list[tuple[int, int, Kind]]:
        return [(s, e, k) for s, e, k in view.longest("kind", start, end) if k.role == "head"]

    # -- classifying a name --------------------------------------------------------------
    def _classify(self, view: DocView, chunk: Chunk, known=(), listed: bool = False
                  ) -> ActorMention | None:
        start, end = chunk.start, chunk.end
        cues = self.cues
        if any(s <= start and end <= e and k.generic and k.role == "head"
               for s, e, k in view.groups.get("kind", ())) and (
                self._initial_position(view, start) or all(
                    strip_accents(view.text(i)).upper() in cues.acronym_stop
                    or view.text(i)[1:].islower() and view.text(i)[-1:] == "s"
                    for i in range(start, end))):
            return None  # "Employers are ...", "NGOs run ...": a kind, not a name
        if not chunk.quoted and view.consumed.any(start, end) and all(
                view.consumed[i] for i in range(start, end)):
            return None  # a word of another name's description ("X, the Jesuit service")
        votes: list[tuple[str, str, float, str]] = []
        evidence: list[str] = []
        kinds = view.longest("kind", start, end)
        head = self._syntactic_head(view, start, end, kinds)
        init_head = self._initiative_head(view, start, end)
        acronym = (end - start) % 2 == 1 and all(  # "SGDD-ASAM" too
            view.shape[i] == (ACR if (i - start) % 2 == 0 else HYPHEN) for i in range(start, end))
        # "CEAR Euskadi", "MTN Uganda": an acronym and the place of a branch is a name
        branch = view.shape[start] == ACR and 1 < end - start <= 3 and not kinds and all(
            view.shape[i] == CAP for i in range(start + 1, end))
        if acronym and strip_accents(view.text(start)).replace(".", "").upper() in \
                cues.acronym_stop:
            return None
        suffix = self._company_suffix(view, start, end) and not self._kind_ending(
            kinds, end)
        described = self._descriptors(view, start, end)
        role = self._role(view, start)
        if role is None:
            role = self._role_after(view, end)
        members = self._member_of(view, start)
        # "the communes of X and Y": found by what they do, X and Y are town governments
        town = members is None and not kinds and _plural_place_of(view, start) is not None
        initiative_position = self._initiative_position(view, start, end)
        activity = self._possessive_activity(view, end)
        slot = self._partner_slot(view, start) or (
            not initiative_position and (self._partner_subject(view, start, end)
                                         or self._verb_subject(view, start, end))) or (
            listed or self._listed_with(view, start, known, end)) or activity is not None
        for s, e, kind in kinds:
            if kind.role == "modifier" and e < end and view.shape[e] == HYPHEN and \
                    _attached(view, e):
                continue  # "Saint-Gobain", "Sainte-Marie": a part of one proper name
            factor = 2.0 if head is not None and (s, e) == head[:2] else 1.0
            if kind.role == "head" and (head is None or (s, e) != head[:2]):
                factor = 0.5
            votes.append((kind.category, kind.sector, kind.weight * factor, f"name:{kind.id}"))
        if head is not None and _of_local_governments(view, head, end):
            # "Association of Flemish Cities and Municipalities", "Council of European
            # Municipalities and Regions": local governments' own body, a policy maker
            votes.append(("policy_maker", "public", 12.0, "association_of_municipalities"))
            evidence.append("association_of_municipalities")
        if end - start > 1 and view.folded(end - 1) == "international" and not any(
                k.role == "head" for _, _, k in kinds):
            # "Glasswing International", "Relief International": bodies of the UN system
            # carry an organisation word; a name ending in "International" is an NGO's
            votes.append(("civil_society", "third", 2.0, "international_ngo"))
        if suffix:
            votes.append(("business", "private", 8.0, "company_suffix"))
            evidence.append("company_suffix")
        for category, sector, weight, why in described:
            votes.append((category, sector, weight * 3, why))
        if town:
            votes.append(("policy_maker", "public", 8.0, "town_of_list"))
            evidence.append("town_of_list")
        if described:
            evidence.append("description")
        if members is not None:
            votes.append((members.category, members.sector, members.weight * 3, "member"))
            evidence.append("member_of")
        if chunk.owns:
            evidence.append("owner")
        if role is not None:
            evidence.append("role")
            if role != (None, None):
                votes.append((role[0], role[1], 2.0, "role"))
        if slot:
            evidence.append("partner_slot")
        org_head = head is not None and head[2].role == "head"
        # an initiative's name: its head says so, or it is quoted, or something is run
        strong = bool(suffix or described or role is not None or members is not None
                      or chunk.owns)
        ambiguous = False
        if init_head is not None and (not org_head or init_head[0] >= head[1]):
            ambiguous = bool(view.in_group("init_ambiguous_heads", init_head[0], init_head[1]))
            if init_head[:2] != (start, end):  # "Shelter" alone names nothing
                view.initiative_chunks.append(chunk)  # a centre or a fund is one too
            if not ambiguous and not strong:
                return None
            # a centre or desk is an actor too, unless it is only named as what someone runs
            if ambiguous and initiative_position == "object" and not (strong or slot):
                return None
        elif not org_head and not strong and activity is None and (
                chunk.quoted or initiative_position or self._lower_head_after(view, start, end)):
            view.initiative_chunks.append(chunk)
            return None
        if not (org_head or strong or ambiguous or acronym or branch or slot):
            return None
        if (slot or acronym or branch) and not (org_head or strong or ambiguous):
            capitals = any(view.shape[i] in (CAP, ACR) for i in range(start + 1, end))
            if not self._stands_alone(view, start, end) or (
                    self._common(view, start, end) and not capitals):
                # one frequent capitalised word, perhaps with a number ("by August 2013");
                # several are a name even at a sentence's start ("Polish Humanitarian Action")
                return None
            evidence.append("acronym" if acronym else "partner_slot")
        elif ambiguous and not (org_head or strong or slot) and self._common(view, start, end):
            return None
        if org_head:
            evidence.append(f"head:{head[2].id}")
        if not votes and not acronym and init_head is None and cues.bare_name is not None \
                and not view.in_group("init_ambiguous_heads", start, end) \
                and slot != "object":  # what a city funds or commissions is seldom a brand
            # nothing in or around the name says what it is: a brand ("Bosch", "Westpac"),
            # unless it does what charities do ("X helps asylum seekers", "X receives funding")
            k = end
            while k < view.length and k - end < 2 and view.folded(k) in _AUXILIARIES:
                k += 1
            if _person_in_apposition(view, start, end):
                return None  # "the mayor, Ana Costa, signed", "led by Ana Costa, head of"
            if activity == "third" or any(
                    s == k for s, _, _ in view.in_group("third_verb", k, min(view.length, k + 4))):
                evidence.append("charity_work" if activity == "third" else "third_actor_verb")
                votes.append(("civil_society", "third", 1.0, "third_actor_verb"))
            else:
                evidence.append("bare_name")
                votes.append((*cues.bare_name, 1.0, "bare_name"))
        category, sector = self._decide(votes)
        end = view.extend_to.get(start, end)
        name = view.span_text(start, end)
        return ActorMention(start, end, name, name, category, sector, guess=True,
                            source="name", sentence=int(view.sent[start]), evidence=evidence,
                            votes=votes)

    def _decide(self, votes) -> tuple[str, str]:
        if not votes:
            return self.cues.default
        totals: dict[str, float] = {}
        for category, _, weight, _ in votes:
            totals[category] = totals.get(category, 0.0) + weight
        order = list(self.cues.kinds.values())
        rank = {k.category: i for i, k in reversed(list(enumerate(order)))}
        category = max(totals, key=lambda c: (totals[c], -rank.get(c, 99)))
        best = max((v for v in votes if v[0] == category), key=lambda v: v[2])
        return category, best[1]

    def _syntactic_head(self, view, start, end, kinds):
        """The head word of a name: the last organisation or initiative head before its
        complement ("Ministry of Justice" -> Ministry; "Refugee Council" -> Council), else
        the head that ends it ("Bay of Plenty Regional Council")."""
        limit = end
        for i in range(start + 1, end):
            if view.shape[i] == LOWER and view.folded(i) in self.cues.complement:
                limit = i
                break
        heads = [k for k in kinds if k[2].role == "head" and k[0] < limit] or [
            k for k in kinds if k[2].role == "head" and k[1] == end]
        inits = self._initiative_head(view, start, limit)
        if heads:
            head = heads[-1]
            if inits is not None and inits[0] >= head[1]:
                return None
            return head
        return None

    def _initiative_head(self, view, start, end):
        heads = [m for m in view.longest("init_heads", start, end)]
        if not heads:
            return None
        limit = end
        for i in range(start + 1, end):
            if view.shape[i] == LOWER and view.folded(i) in self.cues.complement:
                limit = i
                break
        inside = [h for h in heads if h[0] < limit]
        return inside[-1] if inside else None

    @staticmethod
    def _kind_ending(kinds, end: int) -> bool:
        """A suffix word inside the phrase of another kind of body ("Skill Development
        Corporation", "Municipal Corporation", "Charitable Group") names no company."""
        return any(e == end and e - s > 1 and k.role == "head" and k.category != "business"
                   for s, e, k in kinds)

    def _company_suffix(self, view, start, end) -> bool:
        if end - start >= 2 and view.folded(end - 1).rstrip(".") in self.m.suffix_words:
            return True
        for s, e, _ in view.groups.get("suffix", ()):
            if e == end and s > start:
                return True
        return False

    def _descriptors(self, view: DocView, start: int, end: int):
        """Kinds in a description next to the name: "the NGO X", "a chain, X", "X, a
        charity", "X is a non-profit"."""
        found = []
        sent_start, sent_end = view.sentence_bounds(int(view.sent[start]))
        # before: [the|a] <modifiers> KIND [,] NAME
        j = start - 1
        if j >= sent_start and (view.shape[j] == COMMA or (
                view.shape[j] == OPEN and end < sent_end and view.shape[end] == CLOSE)):
            j -= 1  # "X, Y" or "the Ghent social welfare centre (OCMW Gent)"
        before = [m for m in view.longest("kind", max(sent_start, j - 5), j + 1)
                  if m[1] == j + 1]
        if before and view.shape[before[-1][0]] in (LOWER, OTHER, HYPHEN, ACR) \
                and before[-1][2].role == "head" and not any(
                    s <= before[-1][0] < e for group in ("pcue", "actor_verb")
                    for s, e, _ in view.groups.get(group, ())):  # "X commissions Y"
            s = before[-1][0]
            window_start = s
            k = s - 1
            while k >= sent_start and k >= s - 4 and view.shape[k] in (LOWER, HYPHEN, CAP) \
                    and view.folded(k) not in ("and", "or", "with", "by", "from", "of"):
                window_start = k
                if view.folded(k) in ("the", "a", "an", "its", "their"):
                    break
                k -= 1
            for ms, me, kind in view.longest("kind", window_start, j + 1):
                if view.shape[ms] == CAP and ms != window_start:
                    continue
                found.append((kind.category, kind.sector, kind.weight, f"described:{kind.id}"))
                view.consumed.mark(ms, me)
        # right after: "the Citizens Advice bureau", "the DITIB mosque", "Swedish embassy"
        # (not "a Catholic charity", nor "the German development agency GIZ")
        first = end
        if end + 1 < sent_end and view.shape[end] == LOWER and (view.folded(end).endswith(
                ("al", "ic", "ive")) or (start > 0 and view.folded(start - 1) == "the"
                                         and view.folded(end).endswith("ing"))) \
                and not view.in_group("kind", end, end + 1):
            # "the Lai-momo social cooperative", "the Bellevue di Monaco housing
            # cooperative": one adjective or noun first
            first = end + 1
        after = [m for m in view.longest("kind", end, min(sent_end, end + 4))
                 if m[0] == first and m[2].role == "head" and (
                     m[2].id != "region" or view.folded(m[0]) in _ADMINISTRATION_REGIONS)
                 and all(view.shape[i] in (LOWER, HYPHEN, POSS) for i in range(m[0], m[1]))
                 and (not view.in_group("init_heads", m[1] - 1, m[1]) or (
                     # "the Trier job centre": a place's public employment office
                     m[2].id == "employment_service" and start > 0
                     and view.folded(start - 1) == "the"))
                 and not _plural(view.folded(m[1] - 1))]  # "UNRWA schools": what X runs
        if not after and end - start > 1 and end < sent_end and view.shape[end] == LOWER:
            # "the Davao City government": a head phrase begun by the name's last word
            after = [m for m in view.in_group("kind", end - 1, end + 3)
                     if m[0] == end - 1 and m[1] > end and m[2].role == "head"
                     and m[2].category == "policy_maker"
                     and all(view.shape[i] == LOWER for i in range(end, m[1]))
                     and not _plural(view.folded(m[1] - 1))]
        public_head = bool(after) and after[-1][2].category == "policy_maker" and start > 0 \
            and view.folded(start - 1) == "the"  # "the Var prefecture"
        if after and not (start > 0 and view.folded(start - 1) in ("a", "an")) and not (
                end - start == 1 and self._common(view, start, end) and not public_head):
            ms, me, kind = after[-1]
            nxt = me
            while nxt < sent_end and view.shape[nxt] in (COMMA, OPEN):
                nxt += 1
            if not (nxt < sent_end and view.shape[nxt] in (CAP, ACR)):
                found.append((kind.category, kind.sector, kind.weight,
                              f"described:{kind.id}"))
                view.consumed.mark(ms, me)
                view.extend_to[start] = me
        # after: NAME, a|an ... KIND   or   NAME is|as a ... KIND (past a bracketed acronym:
        # "International Mobility Organisation (IMO), an intergovernmental body")
        k = end
        if k < sent_end and view.shape[k] == OPEN:
            close = k + 1
            while close < sent_end and close - k < 6 and view.shape[close] != CLOSE:
                close += 1
            if close < sent_end and view.shape[close] == CLOSE:
                k = close + 1
        if k < sent_end and (view.shape[k] == COMMA or view.folded(k) in ("is", "as", "was")):
            k += 1
            if k < sent_end and view.folded(k) in ("a", "an", "one"):
                stop = min(sent_end, k + 7)
                for i in range(k + 1, stop):
                    if view.shape[i] == COMMA or view.folded(i) in ("that", "which", "who",
                                                                     "of", "in", "for"):
                        stop = i
                        break
                for i in range(k + 1, stop):
                    if any(ms == i for ms, _, _ in view.in_group("init_by_verbs", i, i + 3)):
                        stop = i  # "X, a fast track run by the University of Y"
                        break
                heads = [m for m in view.longest("kind", k, stop) if m[2].role == "head"]
                if heads:
                    for ms, me, kind in view.longest("kind", k, heads[-1][1]):
                        found.append((kind.category, kind.sector, kind.weight,
                                      f"described:{kind.id}"))
                        view.consumed.mark(ms, me)
            elif view.shape[k - 1] == COMMA:
                found.extend(self._definite_apposition(view, k, sent_end))
        return found

    def _definite_apposition(self, view: DocView, k: int, sent_end: int):
        """ "Actiris, the regional employment office,", "SIPTU, the largest union in the
        country", "InterAid, UNHCR's implementing partner": a description in lower case
        that ends at a comma, a bracket, a complement or the sentence's end."""
        if k < sent_end and view.folded(k) == "the":
            k += 1
        elif k + 1 < sent_end and view.shape[k] in (CAP, ACR) and view.shape[k + 1] == POSS:
            k += 2  # "UNHCR's implementing partner"
        else:
            return []
        stop = k
        while stop < sent_end and stop - k < 7 and view.shape[stop] in (LOWER, HYPHEN, CAP, POSS) \
                and view.folded(stop) not in ("and", "or", "that", "which", "who", "of", "in",
                                              "for", "with", "based", "to", "on") or (
                stop > k and stop + 1 < sent_end and view.folded(stop) == "and"
                and view.shape[stop - 1] == LOWER and view.shape[stop + 1] == LOWER
                and view.folded(stop + 1) not in self.cues.determiners
                and view.folded(stop + 1) not in ("a", "an", "other")
                and not any(m[2].role == "head" for m in view.longest("kind", k, stop))):
            stop += 1  # "the national training and employment service": one description
        if stop == k or view.shape[stop - 1] != LOWER:
            return []
        heads = [m for m in view.longest("kind", k, stop)
                 if m[2].role == "head" and m[1] == stop and view.shape[m[0]] == LOWER]
        if not heads:
            return []
        after = view.folded(stop) if stop < sent_end else ""
        if not (stop >= sent_end or view.shape[stop] in (COMMA, CLOSE) or view.text(stop) in (
                ".", "!", "?", ";", ":") or after in (
                "that", "which", "who", "of", "in", "for", "with", "based", "to", "on")):
            return []
        if heads[-1][0] == k and stop - k == 1 and stop + 1 < sent_end \
                and view.shape[stop] == COMMA and view.folded(stop + 1) in ("and", "or"):
            return []  # "UNHCR, the municipality, and Caritas": a list
        found = []
        for ms, me, kind in view.longest("kind", k, stop):
            found.append((kind.category, kind.sector, kind.weight, f"described:{kind.id}"))
            view.consumed.mark(ms, me)
        return found

    def _role(self, view: DocView, start: int):
        """ "the director of X": X is an organisation; an owner's is a business."""
        sent_start = view.sentence_bounds(int(view.sent[start]))[0]
        k = start - 1
        if k >= sent_start and view.folded(k) == "the":
            k -= 1
        if k < sent_start or view.folded(k) not in self.cues.role_preps:
            return None
        for s, e, lean in view.groups.get("role", ()):
            if k - 5 <= e - 1 < k and s >= sent_start and e <= k:
                between = range(e, k)
                if all(view.shape[i] in (LOWER, HYPHEN) for i in between):
                    return lean if lean is not None else (None, None)
        return None

    @staticmethod
    def _role_after(view: DocView, end: int):
        """ "The Diversitat case worker said ...", "A Stellantis plant manager said ...": a name
        before the speaker's role and a verb of speech is an organisation."""
        for s, e, lean in view.groups.get("role", ()):
            if end <= s <= end + 2 and all(view.shape[i] == LOWER for i in range(end, s)) \
                    and any(rs == e for rs, _, _ in view.groups.get("report", ())):
                return lean if lean is not None else (None, None)
        return None

    def _member_of(self, view: DocView, start: int):
        """ "employers such as X, Y and Z": the group's kind."""
        sent_start = view.sentence_bounds(int(view.sent[start]))[0]
        for s, e, _ in view.groups.get("member", ()):
            if not (sent_start <= s and e <= start):
                continue
            between = range(e, start)
            if any(view.shape[i] not in (CAP, ACR, COMMA, LOWER, AMP, POSS, HYPHEN)
                   for i in between) or len(between) > 14:
                continue
            if any(view.shape[i] == LOWER and view.folded(i) not in (
                    "and", "the", "or", *self.cues.connectors) for i in between):
                continue
            # "employers such as", "other major employers in the area include"
            reach = 4 if view.folded(s) in ("include", "includes") else 2
            kinds = [m for m in view.longest("kind", max(sent_start, s - 3 - reach), s)
                     if m[1] >= s - reach and m[2].role == "head"]
            if kinds:
                ks, ke, kind = kinds[-1]
                view.consumed.mark(ks, ke)
                return kind
        return None

    def _partner_slot(self, view: DocView, start: int) -> bool | str:
        """Right after a partnership cue or "run by" ("funded by X", "together with X");
        "object" right after a verb of funding or contracting ("commissions X")."""
        sent_start = view.sentence_bounds(int(view.sent[start]))[0]
        found: bool | str = False
        for group in ("pcue", "init_by_verbs"):
            for s, e, data in view.groups.get(group, ()):
                if group == "pcue" and data[1] == "joint":
                    continue
                if sent_start <= s and e <= start and start - e <= 2 and all(
                        view.folded(i) in ("the", "a", "an", "local") for i in range(e, start)):
                    if group == "pcue" and data[1] == "verb":
                        found = "object"
                        continue
                    return True
        return found or workplace_after(view, start)

    def _possessive_activity(self, view: DocView, end: int) -> str | None:
        """ "Facework's training work with refugees was funded by ...": a name whose
        programme, project or work is what a partnership cue of its clause is about; "work"
        described by what charities do ("training work", "volunteer work") leans it to a
        third actor ("third")."""
        if end >= view.length or view.shape[end] != POSS:
            return None
        k = end + 1
        described = False
        while k < view.length and k - end <= 4 and view.shape[k] == LOWER and \
                view.folded(k) not in _ACTIVITY_WORDS:
            described = described or view.folded(k) in _CHARITY_WORK
            k += 1
        if k >= view.length or view.shape[k] != LOWER or view.folded(k) not in _ACTIVITY_WORDS:
            return None
        clause_end = view.clause_bounds(k, k + 1)[1]
        if not view.in_group("pcue", k + 1, clause_end):
            return None
        return "third" if described and view.folded(k) == "work" else "slot"

    def _listed_with(self, view: DocView, start: int, known, end: int | None = None) -> bool:
        """Listed after an actor in a sentence with a partnership cue ("co-funded by the
        Municipality of Turin and Intesa Sanpaolo", "the City of Sydney and Westpac co-host"),
        or before a verb of running or joint work ("the Red Cross and Fonterra run")."""
        if not known:
            return False
        sent_start = view.sentence_bounds(int(view.sent[start]))[0]
        k = start - 1
        while k >= sent_start and view.folded(k) in ("the", "a", "an", "by", "with", "from"):
            k -= 1
        if k <= sent_start or not (view.folded(k) in ("and", "&") or view.shape[k] == COMMA):
            return False
        first = [a for a in known if a.end == k and not a.generic]
        if not first:
            return False
        sent_end = view.sentence_bounds(int(view.sent[start]))[1]
        if view.in_group("pcue", sent_start, sent_end) or workplace_after(view, first[0].start):
            return True
        if end is None or view.folded(k) not in ("and", "&"):
            return False
        while end < sent_end and view.folded(end) in _AUXILIARIES:
            end += 1
        return any(s == end for group in ("init_run_verbs", "joint_verb")
                   for s, _, _ in view.in_group(group, end, min(sent_end, end + 3)))

    def _listed_before(self, view: DocView, chunk: Chunk, known) -> bool:
        """Listed before an actor that, with it, runs something or has a partnership cue
        ("X and the Danish Refugee Council launched", "X, Y and the city co-fund")."""
        sent_start, sent_end = view.sentence_bounds(int(view.sent[chunk.start]))
        k = chunk.end
        if k >= sent_end or not (view.folded(k) in ("and", "&") or view.shape[k] == COMMA):
            return False
        if view.shape[k] == COMMA and after_preposition(view, chunk.start):
            return False  # "In Bilbao, the Basque Government finances": a place
        k += 1
        while k < sent_end and view.folded(k) in ("the", "a", "an"):
            k += 1
        after = next((a for a in known if a.start == k and not a.generic), None)
        if after is None:
            return False
        k = after.end
        while k < sent_end and view.folded(k) in ("jointly", "also", "together", "have", "has",
                                                  "will", "both", "recently", "now", "each",
                                                  "are", "were"):
            k += 1
        return any(s == k for group in ("init_run_verbs", "pcue", "joint_verb")
                   for s, _, _ in view.in_group(group, k, min(sent_end, k + 4)))

    def _partner_subject(self, view: DocView, start: int, end: int) -> bool:
        """The first name of a clause that holds a partnership cue after it ("Philips and
        ASML, together with ...", "Bosch has trained ... under an agreement with")."""
        clause_start, clause_end = view.clause_bounds(start, end)
        if after_preposition(view, start):
            return False
        for s, e, _ in view.groups.get("report", ()):
            if clause_start <= s and e <= start:
                clause_start = e
        for chunk in view.chunks:
            if clause_start <= chunk.start < start and view.folded(chunk.start) not in ("and",):
                between = range(chunk.end, start)
                if not all(view.shape[i] in (COMMA, AMP) or view.folded(i) in ("and", "the")
                           for i in between):
                    return False
        return any(end <= s and e <= clause_end for s, e, _ in view.groups.get("pcue", ()))

    def _verb_subject(self, view: DocView, start: int, end: int) -> bool:
        """A name that starts a clause and does what organisations do ("Vodafone Greece
        provided tablets", "and that Aldi Ireland had offered jobs")."""
        sent_start, sent_end = view.sentence_bounds(int(view.sent[start]))
        before = start - 1
        if before > sent_start and view.folded(before) == "the" and (
                view.shape[before - 1] == COMMA or view.folded(before - 1) == "and"):
            before -= 1  # "X, the airport operator, and the Caritasverband Frankfurt offer"
        elif before == sent_start and view.folded(before) == "the":
            before -= 1  # "The Secours Catholique gives legal advice"
        if before >= sent_start and not (view.shape[before] == COMMA or view.folded(before) in (
                "that", "and", "but", "while", "whereas", ";")):
            return False
        if before > sent_start and view.folded(before) == "and" and view.shape[before - 1] in (
                CAP, ACR, NUM):
            return False  # "the municipalities of Santiago and Estación Central run"
        k = end
        while k < sent_end and k - end < 2 and view.folded(k) in _AUXILIARIES:
            k += 1
        return any(s == k for group in ("actor_verb", "init_run_verbs")
                   for s, _, _ in view.in_group(group, k, min(sent_end, k + 3)))

    @staticmethod
    def _common(view, start, end) -> bool:
        """Only frequent English words ("Shelter", "Beds", "April 2013")."""
        words = common_words()
        caps = [view.folded(i) for i in range(start, end) if view.shape[i] in (CAP, ACR)]
        return bool(caps) and all(w in words for w in caps)

    def _stands_alone(self, view, start, end) -> bool:
        """A name found only by its place must not be a modifier ("with Syrian volunteers")."""
        if end >= view.length:
            return True
        if view.shape[end] != LOWER:
            return True
        if view.folded(end) in _STOP_WORDS:
            return True
        # the subject of a verb of running, of a partnership or of what organisations do
        # ("Deutsche Bahn offers ...", "Siemens trains ...", "MOSAIC refers ...")
        return any(s == end for group in ("init_run_verbs", "pcue", "actor_verb")
                   for s, _, _ in view.in_group(group, end, min(view.length, end + 4)))

    def _initiative_position(self, view: DocView, start: int, end: int) -> str | None:
        """Something is run, opened or funded: "runs the X" (object), "X, run by" or "X is
        funded" (passive); None otherwise."""
        sent_start, sent_end = view.sentence_bounds(int(view.sent[start]))
        for s, e, _ in view.groups.get("init_run_verbs", ()):
            if sent_start <= s and e <= start and start - e <= 3 and all(
                    view.shape[i] in (LOWER, QUOTE) and view.folded(i) in (
                        "the", "a", "an", "its", "their", "his", "her", "our", "new", "'", '"')
                    or view.shape[i] == QUOTE for i in range(e, start)):
                return "object"
        if _said_to_be_a_programme(view, end, sent_end):
            return "passive"
        k = end
        if k < sent_end and view.shape[k] == COMMA:
            k += 1
        if k < sent_end and view.folded(k) in ("is", "was", "are", "were", "has", "been",
                                               "will", "be"):
            k += 1
            if k < sent_end and view.folded(k) in ("been", "be"):
                k += 1
        for s, _, _ in view.groups.get("init_by_verbs", ()):
            if s == k:
                return "passive"
        if k > end and k < sent_end and view.in_group("init_run_verbs", k, k + 2):
            word = view.folded(k)
            if word.endswith("ed") or word in ("run", "led", "set", "funded"):
                return "passive"
        return None

    def _lower_head_after(self, view: DocView, start: int, end: int) -> bool:
        """ "the Papyrus operation", "the 'Arrivo Berlin' training initiative"; not a verb
        after a listed name ("the Governorate and Ecopetrol fund courses")."""
        k = end
        if k < view.length and view.shape[k] == QUOTE:
            k += 1
        listed = start > 0 and view.folded(start - 1) in ("and", "&")
        for s, e, _ in view.groups.get("init_lower_heads", ()):
            if k <= s <= k + 1 and all(view.shape[i] == LOWER for i in range(s, e)) and not (
                    listed and s == k and view.in_group("init_run_verbs", s, e)):
                return True
        return False

    @staticmethod
    def _named_again(view: DocView, rejected, actors, taken) -> None:
        """A name recognised once is an actor wherever it is written again ("commissions
        Refugee Action ..., and Refugee Action in turn works with")."""
        by_name = {}
        for actor in actors:
            if actor.source == "name" and not actor.generic:
                by_name.setdefault(fold_key(actor.name), actor)
        if not by_name:
            return
        for chunk in rejected:
            first = by_name.get(fold_key(view.span_text(chunk.start, chunk.end)))
            if first is None or taken.any(chunk.start, chunk.end) or \
                    chunk in view.initiative_chunks:
                continue
            actors.append(ActorMention(
                chunk.start, chunk.end, view.span_text(chunk.start, chunk.end), first.canonical,
                first.category, first.sector, guess=True, source="name",
                sentence=int(view.sent[chunk.start]), evidence=["named_again"],
                votes=list(first.votes)))
            taken.mark(chunk.start, chunk.end)

    @staticmethod
    def _acronyms_listed_with_companies(view: DocView, actors) -> None:
        """An acronym with nothing to say what it is, listed right next to a company
        ("Philips and ASML", "ASML, Philips"), is a company too; other lists are mixed."""
        company = ("bare_name", "company_suffix", "head:company")
        named = sorted((a for a in actors if not a.generic), key=lambda a: a.start)
        for left, right in zip(named, named[1:], strict=False):
            between = [view.folded(i) for i in range(left.end, right.start)]
            if not between or len(between) > 2 or any(
                    w not in ("and", "&", "", "the") and view.shape[left.end] != COMMA
                    for w in between) or int(view.sent[left.start]) != int(view.sent[right.start]):
                continue
            for acronym, other in ((left, right), (right, left)):
                if acronym.evidence[-1:] == ["acronym"] and not acronym.registry_id and \
                        other.category == "business" and any(w in other.evidence
                                                             for w in company):
                    acronym.votes.append(("business", "private", 1.0, "listed_with_company"))
                    acronym.category, acronym.sector = "business", "private"
                    acronym.evidence.append("listed_with_company")

    # -- brackets, generic mentions, references ------------------------------------------
    @staticmethod
    def _whole_text_name(view: DocView, actors) -> None:
        """A text that is only a capitalised name and no organisation (a table cell or list
        item such as "Welcome Aboard") names an initiative."""
        if len(view.chunks) != 1 or actors:
            return
        chunk = view.chunks[0]
        words = [i for i in range(view.length) if view.shape[i] not in (OTHER, QUOTE, BREAK)]
        if not words or chunk.start > words[0] or chunk.end <= words[-1]:
            return
        if chunk.end - chunk.start == 1 and view.folded(chunk.start) in common_words():
            return
        if not any(c.start == chunk.start for c in view.initiative_chunks):
            view.initiative_chunks.append(chunk)

    def _spelled_out(self, view: DocView, chunk: Chunk, known) -> ActorMention | None:
        """ "START (Students and Refugees Together)", "Students and Refugees Together
        (START)": a name and its acronym in brackets name an organisation, even when no word
        of either says which kind; the longer form's words give the category."""
        k = chunk.end
        if k >= view.length or view.shape[k] != OPEN:
            return None
        close = k + 1
        while close < view.length and view.shape[close] != CLOSE and close - k < 10:
            close += 1
        if close >= view.length or view.shape[close] != CLOSE or close == k + 1:
            return None
        inner = Chunk(k + 1, close)
        pair = (chunk, inner)
        short = next((c for c in pair if c.end - c.start == 1 and view.shape[c.start] == ACR),
                     None)
        if short is None:
            return None
        long = inner if short is chunk else chunk
        if any(c in view.initiative_chunks for c in pair) or view.in_group(
                "init_heads", long.start, long.end) or _said_to_be_a_programme(
                view, chunk.end, view.sentence_bounds(int(view.sent[k]))[1]):
            return None  # "the Basic Integration Course (BIC)": a programme
        if not _acronym_of(view.text(short.start), [
                view.text(i) for i in range(long.start, long.end)
                if view.shape[i] in (CAP, ACR, LOWER)]):
            return None
        found = self._classify(view, long, known, listed=True)
        if found is not None:
            category, sector = found.category, found.sector
        else:
            category, sector = self.cues.default
        name = view.span_text(chunk.start, chunk.end)
        return ActorMention(chunk.start, chunk.end, name, name, category, sector, guess=True,
                            source="name", sentence=int(view.sent[chunk.start]),
                            evidence=["spelled_out"])

    @staticmethod
    def _bracketed_alias(view: DocView, chunk: Chunk, taken) -> bool:
        """ "(TRIEC)" right after a name: left for `_aliases_in_brackets`."""
        start, end = chunk.start, chunk.end
        return (start >= 2 and view.shape[start - 1] == OPEN and end < view.length
                and view.shape[end] == CLOSE and view.shape[start - 2] in (CAP, ACR, LOWER))

    def _aliases_in_brackets(self, view, actors, taken) -> list[ActorMention]:
        """ "Toronto Region Immigrant Employment Council (TRIEC)": the bracket names the same
        actor."""
        found = []
        if OPEN not in view.shape:
            return []
        generic = [a for a in self._generic(view, taken.copy(), dry=True)]
        for actor in [*actors, *generic]:
            k = actor.end
            if k < view.length and view.shape[k] == OPEN:
                close = k + 1
                while close < view.length and view.shape[close] != CLOSE and close - k < 8:
                    close += 1
                if close < view.length and view.shape[close] == CLOSE and close > k + 1 \
                        and view.shape[k + 1] in (CAP, ACR) and not taken.any(k + 1, close):
                    name = view.span_text(k + 1, close)
                    taken.mark(k + 1, close)
                    if actor.generic:  # "the Ghent social welfare centre (OCMW Gent)"
                        found.append(ActorMention(
                            k + 1, close, name, name, actor.category, actor.sector,
                            guess=True, source="name", sentence=actor.sentence,
                            evidence=["brackets", f"described:{actor.kind}"]))
                        view.consumed.mark(actor.start, actor.end)
                        continue
                    found.append(ActorMention(
                        k + 1, close, name, actor.canonical, actor.category, actor.sector,
                        guess=actor.guess, registry_id=actor.registry_id, source="alias",
                        sentence=actor.sentence, refers_to=actor.canonical, city=actor.city,
                        evidence=["brackets"]))
        return found

    @staticmethod
    def _bodies_of_places(view: DocView, taken) -> list[ActorMention]:
        """ "the canton of Lucerne", "the city of Mechelen": a region or town word in lower
        case, "of" and a capitalised place name the place's government (not after "in the");
        found before names, so the place alone is not read as a brand."""
        found = []
        for s, e, kind in view.longest("kind"):
            town = kind.id == "municipality" and e - s == 1 and view.folded(s) in _TOWN_WORDS
            if not (kind.id == "region" or town) or s < 1 or e + 1 >= view.length or \
                    taken.any(s, e) or \
                    view.folded(s - 1) != "the" or view.folded(e) != "of" or \
                    view.shape[e + 1] != CAP or any(view.shape[i] != LOWER for i in range(s, e)):
                continue
            if s > 1 and view.folded(s - 2) in _PLACE_PREPOSITIONS:
                continue  # "refugees in the canton of Vaud": a place
            k = e + 1
            while k < view.length and view.shape[k] == CAP and not taken[k] and \
                    view.sent[k] == view.sent[s]:
                k += 1
            if k == e + 1:
                continue  # the place is a registry name ("the city of Vienna")
            name = view.span_text(s, k)
            found.append(ActorMention(s, k, name, name, kind.category, kind.sector, guess=True,
                                      source="name", sentence=int(view.sent[s]),
                                      evidence=["place_body"]))
            taken.mark(s, k)
        return found

    def _generic(self, view: DocView, taken: numpy.ndarray, dry: bool = False
                 ) -> list[ActorMention]:
        found = []
        for s, e, kind in view.longest("kind"):
            if kind.role != "head" or not kind.generic or taken.any(s, e) \
                    or view.consumed.any(s, e):
                continue
            stop_acronym = all(view.shape[i] != CAP or strip_accents(view.text(i)).upper()
                               in self.cues.acronym_stop for i in range(s, e))
            if any(view.shape[i] in (CAP, ACR) for i in range(s, e)) and not stop_acronym \
                    and not (s > 0 and view.folded(s - 1) == "the" and e - s == 1
                             and view.folded(s) in ("state", "government")):
                # capitalised kind words outside a recognised name: "the State" only
                if not self._lower_generic_ok(view, s, e):
                    continue
            # "the city" is mostly the place, not in "the city works with X"
            city = kind.id == "municipality" and view.folded(s) == "city" and e - s == 1
            acting = city and s > 1 and view.folded(s - 2) not in _PLACE_PREPOSITIONS and \
                self._acts_together(view, e)
            if view.in_group("init_heads", e, e + 1) and view.shape[e] == LOWER and not (
                    e + 1 < view.length and view.folded(e + 1) in ("the", "a", "an", "its",
                                                                   "their")) and not acting:
                continue  # "the municipality programme": a compound noun, not an actor
            if e < view.length and view.shape[e] == LOWER and not acting and \
                    view.in_group("kind", e, e + 1):
                continue  # part of a longer lower-case noun ("employment office")
            if city and not acting:
                continue
            name = view.span_text(s, e)
            found.append(ActorMention(s, e, name, name, kind.category, kind.sector, guess=True,
                                      generic=True, source="generic",
                                      sentence=int(view.sent[s]), kind=kind.id,
                                      evidence=[f"generic:{kind.id}"]))
            taken.mark(s, e)
        return found

    @staticmethod
    def _acts_together(view: DocView, k: int) -> bool:
        """A partnership cue or a verb of joint work right after a word, past an adverb or
        an auxiliary ("the city also works with X", "the city has funded Y")."""
        while k < view.length and view.folded(k) in _SUBJECT_FILLERS:
            k += 1
        return any(s == k for group in ("pcue", "joint_verb", "transfer_verb")
                   for s, _, _ in view.in_group(group, k, min(view.length, k + 8)))

    @staticmethod
    def _lower_generic_ok(view, s, e) -> bool:
        first = view.sentence_bounds(int(view.sent[s]))[0]
        return s == first and all(view.shape[i] in (LOWER, HYPHEN) for i in range(s + 1, e))

    def _resolve_references(self, view: DocView) -> None:
        """ "the charity", "her organisation": the actor named before, or the speaker."""
        speaker = view.context.get("speaker")
        kept: list[ActorMention] = []
        named: list[ActorMention] = []
        references = {(s, e) for s, e, _ in view.groups.get("selfref", ())}
        for actor in view.actors:
            is_reference = False
            if actor.generic and actor.start > 0 and view.folded(actor.start - 1) in \
                    self.cues.determiners and view.folded(actor.end - 1) in \
                    self.cues.reference_any:
                is_reference = True
            elif (actor.start - 1, actor.end) in references:
                is_reference = True
            if is_reference and actor.end < view.length and any(
                    a.start == actor.end and not a.generic for a in view.actors):
                is_reference = False  # "the temporary employment agency Randstad": its kind
            if is_reference and actor.end + 1 < view.length and \
                    view.folded(actor.end) == "of" and view.shape[actor.end + 1] == CAP:
                is_reference = False  # "the parish of St Peter": a body named by its place
            if is_reference and actor.start >= 3 and view.folded(actor.start - 2) == "and" \
                    and view.folded(actor.start - 3) != "said" and any(
                    a.end == actor.start - 2 and not a.generic for a in named) and any(
                    view.folded(k) == "between" for k in range(
                        max(0, actor.start - 20), actor.start - 2)):
                # "a protocol between the High Commission and the municipality": the two
                # sides of one agreement are two bodies
                is_reference = False
            if is_reference:
                neutral = actor.kind == "organisation"
                antecedent = next((a for a in reversed(named)
                                   if (a.category == actor.category or neutral)
                                   and not _other_kind(view, a, actor)), None)
                if antecedent is None and named and not after_preposition(view, actor.start) \
                        and view.folded(actor.start - 1) not in ("her", "his", "their", "our"):
                    reported = any(named[-1].end <= s and e <= actor.start
                                   for s, e, _ in view.groups.get("report", ()))
                    if named[-1].source == "name" and (not _decided(named[-1]) or reported) \
                            and not (reported and actor.sector == "public"
                                     and named[-1].category != actor.category
                                     and view.folded(actor.end - 1) not in {
                                         view.cues.fold(w) for w in named[-1].name.split()}):
                        # not "the director of X said that the city council ...": a public
                        # body a speaker names is seldom the speaker's own body of another kind
                        # (but "the chair of the Refugee Council said the council ...")
                        # "Rio Tinto's director said the company ...": the name was a company
                        antecedent = named[-1]
                    elif actor.sector != "public":
                        antecedent = _speaking_body(named)
                if antecedent is not None and antecedent.category != actor.category and \
                        not neutral:
                    kind = self.cues.kinds.get(actor.kind or "")
                    if kind is not None:
                        antecedent.votes.append((kind.category, kind.sector, kind.weight * 3,
                                                 f"reference:{kind.id}"))
                        antecedent.category, antecedent.sector = self._decide(antecedent.votes)
                        antecedent.evidence.append(f"reference:{kind.id}")
                own = view.folded(actor.start - 1) in ("her", "his", "their", "our", "my")
                if antecedent is not None and not own:
                    actor.refers_to = antecedent.canonical
                    actor.canonical = antecedent.canonical
                    actor.registry_id = antecedent.registry_id
                    actor.sector = antecedent.sector
                    actor.source = "reference"
                elif speaker and (own or (antecedent is None and (
                        neutral or actor.category == speaker.get("category")))):
                    self._speaker(actor, speaker)
                elif antecedent is not None:
                    actor.refers_to = antecedent.canonical
                    actor.canonical = antecedent.canonical
                    actor.registry_id = antecedent.registry_id
                    actor.source = "reference"
            if not actor.generic or actor.refers_to:
                named.append(actor)
            kept.append(actor)
        for i in self.m.reference_positions(view):
            if view.folded(i) in self.cues.reference_any and view.shape[i] == LOWER and \
                    view.folded(i - 1) in self.cues.determiners and \
                    not any(a.start <= i < a.end for a in kept):
                antecedents = [a for a in kept if a.end <= i - 1 and (not a.generic
                                                                       or a.refers_to)]
                own = view.folded(i - 1) in ("her", "his", "their", "our", "my")
                if own and speaker:
                    continue  # the self-references below
                word_kinds = {k.category for s, e, k in view.groups.get("kind", ())
                              if s <= i < e and k.role == "head"}
                neutral = view.folded(i) in _NEUTRAL_REFERENCES
                antecedents = [a for a in antecedents
                               if neutral or a.category in word_kinds]
                if not antecedents and speaker and (
                        neutral or speaker.get("category") in word_kinds):
                    mention = ActorMention(i - 1, i + 1, view.span_text(i - 1, i + 1), "", "",
                                           "", guess=True, generic=True,
                                           sentence=int(view.sent[i]))
                    self._speaker(mention, speaker)
                    kept.append(mention)
                elif not antecedents and not own and not neutral and \
                        not after_preposition(view, i - 1) and _speaking_body(kept) and \
                        not any(a.start == i + 1 for a in kept) and \
                        (kind := next((k for s, e, k in view.groups.get("kind", ())
                                       if s == i and e == i + 1 and k.role == "head"
                                       and k.sector != "public"), None)):
                    a = _speaking_body(kept)
                    a.votes.append((kind.category, kind.sector, kind.weight * 3,
                                    f"reference:{kind.id}"))
                    a.category, a.sector = self._decide(a.votes)
                    a.evidence.append(f"reference:{kind.id}")
                    antecedents = [a]
                if antecedents:
                    a = antecedents[-1]
                    kept.append(ActorMention(
                        i - 1 if own else i, i + 1, view.span_text(i - 1 if own else i, i + 1),
                        a.canonical, a.category, a.sector, guess=True, generic=True,
                        registry_id=a.registry_id, source="reference",
                        sentence=int(view.sent[i]), refers_to=a.canonical,
                        evidence=["reference"]))
        if speaker:
            for s, e, _ in view.groups.get("selfref", ()):
                if any(a.start <= s < a.end for a in kept):
                    continue
                mention = ActorMention(s, e, view.span_text(s, e), "", "", "", guess=True,
                                       generic=True, sentence=int(view.sent[s]))
                self._speaker(mention, speaker)
                kept.append(mention)
        kept.sort(key=lambda a: (a.start, a.end))
        view.actors = kept

    @staticmethod
    def _speaker(actor: ActorMention, speaker: dict) -> None:
        actor.refers_to = speaker.get("name")
        actor.canonical = speaker.get("name") or actor.canonical
        actor.category = speaker.get("category") or actor.category
        actor.sector = speaker.get("sector") or actor.sector
        actor.registry_id = speaker.get("registry_id")
        actor.source = "speaker"


COMMON_WORDS_NAME = "common_words.txt"
COMMON_WORD_LOG_PROB = -14.0


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Frequent English words (package data): a capitalised "Shelter" or "April" found only by
    its place in a sentence is not taken for an organisation's name."""
    path = resources.files("pipeline") / "defaults" / COMMON_WORDS_NAME
    return frozenset(line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                     if line.strip() and not line.startswith("#"))


# The words `english_words` gave in an earlier process, when `pipeline.nlp.tagger` found
# them in its build cache (keyed by spacy-lookups-data, common_words.txt and this code).
KNOWN_ENGLISH_WORDS: list[frozenset[str]] = []


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Every English word form spacy-lookups-data knows (the lemma table's forms and lemmas,
    the lemma index) and the frequent words: a lower-case word outside it, after a
    capitalised one, belongs to a name in another language."""
    if KNOWN_ENGLISH_WORDS:  # an earlier process's, from the tagger's build cache
        return KNOWN_ENGLISH_WORDS[0]
    import gzip

    from pipeline.nlp.language import english_lemma_table

    table = english_lemma_table()
    words = set(common_words()) | set(table) | set(table.values())
    path = resources.files("spacy_lookups_data") / "data" / "en_lemma_index.json.gz"
    with path.open("rb") as handle:
        for forms in json.loads(gzip.decompress(handle.read()).decode("utf-8")).values():
            words.update(forms)
    return frozenset(strip_accents(w.lower()) for w in words)


def common_words_text() -> str:
    """`common_words.txt` rebuilt from spacy-lookups-data's English word probabilities
    (`python -m pipeline.nlp.actors > pipeline/defaults/common_words.txt`)."""
    import gzip

    path = resources.files("spacy_lookups_data") / "data" / "en_lexeme_prob.json.gz"
    with path.open("rb") as handle:
        probs = json.loads(gzip.decompress(handle.read()).decode("utf-8"))
    words = sorted(w for w, p in probs.items()
                   if p > COMMON_WORD_LOG_PROB and w.isalpha() and w.islower() and w.isascii())
    header = ("# Frequent English words (log probability above "
              f"{COMMON_WORD_LOG_PROB} in spacy-lookups-data's en_lexeme_prob table).\n"
              "# Generated by `python -m pipeline.nlp.actors`; do not edit.\n")
    return header + "\n".join(words) + "\n"


_NEUTRAL_REFERENCES = frozenset({"organisation", "organization", "group", "institution",
                                 "body", "team", "entity"})
PREPOSITIONS = frozenset({"with", "by", "from", "to", "of", "for", "at", "in", "on", "under",
                          "through", "besides", "between", "among", "into", "towards", "via",
                          "about", "near", "like", "than", "without", "beside", "after",
                          "before", "during"})


_JOB_NOUNS = frozenset({"job", "jobs", "placement", "placements", "internship", "internships",
                        "traineeship", "traineeships", "apprenticeship", "apprenticeships",
                        "work", "employment", "positions", "posts", "shifts"})


_ACTIVITY_WORDS = frozenset({"work", "programme", "program", "programmes", "programs",
                             "project", "projects", "scheme", "initiative", "activities",
                             "classes", "courses", "services"})
_CHARITY_WORK = frozenset({"training", "volunteer", "voluntary", "charity", "charitable",
                           "advice", "support", "mentoring", "outreach", "integration",
                           "welfare", "relief", "humanitarian", "community"})
_MONTHS = frozenset({"january", "february", "march", "april", "may", "june", "july", "august",
                     "september", "october", "november", "december"})
# "an initiative of", "a project that": what a name is said to be when it is a programme
_PROGRAMME_WORDS = frozenset({"project", "projects", "programme", "program", "initiative",
                              "scheme", "campaign", "pilot"})


def _acronym_of(acronym: str, words: list[str]) -> bool:
    """The acronym's letters, in order, start the long form's capitalised words and may
    take further letters inside them or from its small words ("START": STudents And
    Refugees Together)."""
    letters = [c.lower() for c in strip_accents(acronym) if c.isalpha()]
    capitals = [w for w in words if w[:1].isupper()]
    if len(letters) < 2 or len(capitals) < 2 or not words[0][:1].isupper():
        return False
    text = [strip_accents(w).lower() for w in words]
    i = 0  # next acronym letter
    for word in text:
        initial = word[:1]
        if i < len(letters) and letters[i] == initial:
            i += 1
            j = 1
            while i < len(letters) and j < len(word) and letters[i] == word[j]:
                i += 1
                j += 1
        elif word in [strip_accents(c).lower() for c in capitals]:
            return False  # a capitalised word the acronym leaves out
    return i == len(letters)


_PLACING_VERBS = frozenset({"place", "places", "placed", "placing"})


_GROUP_HEADS = frozenset({"association", "associations", "union", "unions", "federation",
                          "league", "coalition", "network", "council", "congress", "conference",
                          "alliance", "consortium", "platform", "forum", "assembly"})
_LOCAL_GOVERNMENTS = frozenset({"cities", "municipalities", "communes", "towns", "mayors",
                                "municipios", "comuni", "gemeenten", "kommuner", "villes"})


def _of_local_governments(view: DocView, head, end: int) -> bool:
    """A group's name whose complement lists towns or local governments ("Union of Tyre
    Municipalities", "Latvian Association of Local and Regional Governments"); not cities
    "of sanctuary" nor a body of a city's own."""
    if head[2].category == "policy_maker" or view.folded(head[1] - 1) not in _GROUP_HEADS:
        return False
    k = head[1]
    if k >= end or view.folded(k) not in ("of", "for"):
        return False
    words = [view.folded(i) for i in range(k + 1, end)]
    if "sanctuary" in words:
        return False
    if any(w in _LOCAL_GOVERNMENTS for w in words):
        return True
    return "local" in words and any(w in ("governments", "authorities") for w in
                                    words[words.index("local"):])


_TITLES = frozenset({"mayor", "commissioner", "minister", "president", "director", "chair",
                     "chairman", "chairwoman", "chairperson", "secretary", "governor",
                     "councillor", "ombudsman", "ombudsperson", "head", "coordinator", "manager",
                     "founder", "spokesperson", "spokesman", "spokeswoman", "prefect", "deputy",
                     "officer", "adviser", "advisor", "lawyer", "researcher", "teacher"})


def _person_in_apposition(view: DocView, start: int, end: int) -> bool:
    """A name of capitalised words set off by commas after a title ("the mayor, Luís
    Costa,", "the High Commissioner for Migration, Pedro Calado,") or before one ("Rute
    Carvalho, head of the legal office"): a person, not an organisation."""
    if end - start < 2 or not all(view.shape[i] == CAP for i in range(start, end)):
        return False
    if end + 1 < view.length and view.shape[end] == COMMA:
        k = end + 1 + (view.folded(end + 1) in ("the", "a", "an", "its", "their"))
        if k < view.length and view.folded(k) in _TITLES:
            return True
    if start >= 2 and view.shape[start - 1] == COMMA and end < view.length and \
            view.shape[end] == COMMA:
        k = start - 2
        while k >= 0 and start - k <= 8 and (view.shape[k] == CAP or view.folded(k) in (
                "for", "of", "and")):
            if view.folded(k) in _TITLES:
                return True
            k -= 1
        return k >= 0 and view.folded(k) in _TITLES
    return False


def _said_to_be_a_programme(view: DocView, end: int, sent_end: int) -> bool:
    """ "X was an initiative of ...", "X (XY), a project that ...": the name is a
    programme's."""
    k = end
    if k < sent_end and view.shape[k] == OPEN:  # its acronym in brackets
        while k < sent_end and view.shape[k] != CLOSE and k - end < 10:
            k += 1
        k += 1
    if k < sent_end and view.shape[k] == COMMA:
        k += 1
    elif k < sent_end and view.folded(k) in ("is", "was"):
        k += 1
    else:
        return False
    if k >= sent_end or view.folded(k) not in ("a", "an"):
        return False
    k += 1
    if k + 1 < sent_end and view.shape[k] == LOWER and view.folded(k) not in _PROGRAMME_WORDS:
        k += 1  # "a new project", "a pilot initiative"
    return k < sent_end and view.shape[k] == LOWER and view.folded(k) in _PROGRAMME_WORDS


def workplace_after(view: DocView, start: int) -> bool:
    """ "jobs at X", "placements at the X plant", "an internship with X", "placing two
    refugees with X": X is an employer or host, even a bare name."""
    k = start - 1 - (start > 0 and view.folded(start - 1) == "the")
    if k <= 0 or view.folded(k) not in ("at", "with"):
        return False
    if view.folded(k - 1) in _JOB_NOUNS:
        return True
    if view.folded(k) != "with":
        return False
    sent_start = view.sentence_bounds(int(view.sent[start]))[0]
    return any(view.folded(i) in _PLACING_VERBS for i in range(max(sent_start, k - 6), k))


def after_preposition(view: DocView, start: int, words=PREPOSITIONS) -> bool:
    """ "with ACIDI", "in Delfshaven": a name governed by a preposition is no subject."""
    i = start - 1
    while i >= 0 and (view.folded(i) in ("the", "a", "an", "its", "their", "local")
                      or view.consumed[i]):
        i -= 1
    return i >= 0 and view.folded(i) in words


def _attached(view: DocView, i: int) -> bool:
    """A hyphen with no space on either side ("Co-operative", not "Lyon - a city")."""
    return 0 < i < view.length - 1 and view.ends[i - 1] == view.idx[i] and \
        view.ends[i] == view.idx[i + 1]


def _initial_dot(view: DocView, i: int) -> bool:
    """A dot inside a name ("St. Andrew's"), not the end of a sentence."""
    return i > 0 and view.shape[i - 1] == CAP and len(view.text(i - 1)) <= 3


def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


_STOP_WORDS = _stop_words()
# Kinds whose complement is a place ("City of ...", "Province of ..."): "and" after it joins
# two actors, not two parts of one name.
_PLACE_HEADS = frozenset({"municipality", "region"})
_PLACE_PREPOSITIONS = frozenset({"in", "across", "throughout", "within", "around", "to", "from",
                                 "into", "near", "outside", "at"})
_SUBJECT_FILLERS = frozenset({"also", "now", "still", "already", "regularly", "closely",
                              "has", "have", "had", "will", "jointly", "itself"})
_ADMINISTRATION_REGIONS = frozenset({"governorate", "wilaya"})  # "the Sousse governorate"
_TOWN_WORDS = frozenset({"city", "municipality"})
_BRANCH_WORDS = frozenset({"office", "offices", "branch", "branches", "delegation", "mission",
                           "team", "representation"})
_AUXILIARIES = frozenset({"has", "have", "had", "also", "now", "will", "recently", "already",
                          "regularly", "itself", "then", "later", "each", "both"})


# "the communes of Schaerbeek and Molenbeek", "the municipalities of X, Y and Z": each name is
# its town's government
_PLURAL_TOWN_WORDS = frozenset({"municipalities", "communes", "cities", "towns", "boroughs",
                                "councils", "city councils", "districts", "comuni", "gemeenten",
                                "municipios", "kommuner", "kommunen", "gemeinden"})


def _plural_place_of(view: DocView, start: int) -> tuple[int, int] | None:
    """The name is one of a list after "the <towns> of" (not after a preposition of place:
    "refugees in the cities of X and Y" names places)."""
    sent_start = view.sentence_bounds(int(view.sent[start]))[0]
    k = start - 1
    while k > sent_start and start - k <= 12 and (
            view.shape[k] in (CAP, ACR, COMMA, HYPHEN) or view.folded(k) in ("and", "&")):
        k -= 1
    if k <= sent_start + 1 or view.folded(k) != "of":
        return None
    words = view.folded(k - 1)
    j = k - 1
    if j - 1 >= sent_start and f"{view.folded(j - 1)} {words}" in _PLURAL_TOWN_WORDS:
        words = f"{view.folded(j - 1)} {words}"
        j -= 1
    if words not in _PLURAL_TOWN_WORDS or j - 1 < sent_start:
        return None
    before = j - 1
    while before > sent_start and view.folded(before) in ("two", "three", "four", "five",
                                                          "neighbouring", "both", "partner"):
        before -= 1
    if view.folded(before) not in ("the", "both") or (
            before > sent_start and view.folded(before - 1) in _PLACE_PREPOSITIONS):
        return None
    return j, k


def _named_appositions(view: DocView, actors: list[ActorMention]) -> None:
    """ "Menedék, the Hungarian Association for Migrants, works with": a name in apposition
    names the same actor (one party, not two) and says what a bare brand-like name is."""
    for name, apposition in pairwise(actors):
        k = name.end
        if apposition.start != k + 2 or view.shape[k] != COMMA or view.folded(k + 1) != "the" \
                or name.generic or apposition.generic or name.registry_id \
                or apposition.registry_id or name.source != "name" or not any(
                    why.startswith("head:") for why in apposition.evidence) or any(
                    why.startswith("head:") or why in ("description", "company_suffix", "owner")
                    for why in name.evidence):
            continue
        after = apposition.end
        sent_end = view.sentence_bounds(name.sentence)[1]
        if after < sent_end and not (view.shape[after] == CLOSE or (
                view.shape[after] == COMMA and view.folded(after + 1) not in ("and", "or", "&"))):
            continue  # "Henkel, the Red Cross and the city": a list
        if "bare_name" in name.evidence:  # an acronym keeps its own default ("CEAR, the
            # Spanish Commission for Refugee Aid": an NGO against its head word)
            name.category, name.sector = apposition.category, apposition.sector
        name.evidence.append("named_apposition")
        apposition.canonical = apposition.refers_to = name.canonical
        apposition.source = "alias"
        apposition.evidence.append("apposition")


_KIND_SPECIFIC_REFERENCES = frozenset({"education", "health"})


def _other_kind(view: DocView, antecedent: ActorMention, generic: ActorMention) -> bool:
    """A school or hospital named by its kind is no earlier registry body whose name holds
    no such word ("through the AMS ... an arrangement with the vocational school")."""
    return generic.kind in _KIND_SPECIFIC_REFERENCES and antecedent.registry_id is not None \
        and not any(k.id == generic.kind
                    for _, _, k in view.longest("kind", antecedent.start, antecedent.end))


def _plural(word: str) -> bool:
    return word.endswith("s") and not word.endswith(("ss", "us", "is"))


def _speaking_body(actors) -> ActorMention | None:
    """The organisation of the person speaking ("The coordinator of X said that the city lends
    the association ..."), when nothing but a default says what it is: what a later "the
    association" or "the company" is."""
    return next((a for a in actors if a.source == "name" and "role" in a.evidence
                 and not a.generic and not _decided(a)), None)


def _town_of_a_named_government(actors) -> None:
    """A bare name that is the place of a government named in the same text ("Arganil's
    CLAIM ... the Município de Arganil", "Palmela ... Câmara Municipal de Palmela") is
    that town: its government, not a brand."""
    places = set()
    for actor in actors:
        if actor.category == "policy_maker" and not actor.generic and "bare_name" not in \
                actor.evidence:
            words = fold_key(actor.name).split()
            places.update(" ".join(words[i:j]) for i in range(len(words))
                          for j in range(i + 1, len(words) + 1) if j - i < len(words))
    if not places:
        return
    for actor in actors:
        if "bare_name" in actor.evidence and fold_key(actor.name) in places:
            actor.category, actor.sector = "policy_maker", "public"
            actor.evidence.append("town_of_a_government")


def _same_name_same_kind(actors) -> None:
    """A name written twice is one body: a mention that only a default or its place
    classified ("..., said that Comfandi offers courses") takes the category of one whose
    words or description said what it is ("Comfandi, the family compensation fund of ...")."""
    groups: dict[str, list[ActorMention]] = {}
    for actor in actors:
        if actor.source == "name" and not actor.generic and not actor.registry_id:
            groups.setdefault(fold_key(actor.name), []).append(actor)
    for mentions in groups.values():
        decided = [a for a in mentions if _decided(a)] or [
            a for a in mentions if "charity_work" in a.evidence]  # "X's training work"
        if len(mentions) < 2 or not decided or \
                len({(a.category, a.sector) for a in decided}) != 1:
            continue
        for actor in mentions:
            if not _decided(actor) and (actor.category, actor.sector) != (
                    decided[0].category, decided[0].sector):
                actor.category, actor.sector = decided[0].category, decided[0].sector
                actor.votes = list(decided[0].votes)
                actor.evidence.append("same_name")


def _decided(actor: ActorMention) -> bool:
    """A name whose own words or description say what it is: a later "the bank" is another
    actor ("the Federal Police decides ... and the bank"), unless the name's spokesperson
    speaks of it ("a volunteer at X said the church-run agency ...")."""
    return any(why.startswith("head:") or why in ("description", "company_suffix", "member_of",
                                                  "place_body")
               for why in actor.evidence)


def is_year(text: str) -> bool:
    return bool(_YEAR.match(text))


if __name__ == "__main__":  # pragma: no cover - regenerates package data
    import sys

    sys.stdout.write(common_words_text())
