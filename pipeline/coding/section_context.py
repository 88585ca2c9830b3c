"""Document-level context for the study coder: codings a passage inherits from where it stands.

`tag` codes each passage alone, but in an interview summary a table cell ("Kitchen Pathways",
"Running since April 2013"), an item of a list and a sentence that refers back to an
initiative ("Welcome Aboard was adapted from ...") say which initiative they are about only
through the document. Three rules, run on one interview's current segments in order with
their tagger results, add the codings such a passage inherits:

- `context.table_row`: a table cell inherits the dimension codings of the other cells of its
  row (a row describes one initiative), unless it only holds a value (a year, a price, a
  frequency: no content word left once numbers, calendar, frequency and price words are
  removed) or a short category label in a column whose header names a category ("Sector",
  "Dimension of need"). A short status cell with a negation or hypothetical cue ("Closed in
  2012") stops its row.
- `context.list_lead_in`: a list item inherits the dimension codings of the paragraph that
  introduces its list (ending with a colon, or "the following", "include" ...).
- `context.reference`: a sentence that names an initiative named in an earlier segment of the
  interview (its name; the first cell of a table row names the row's initiative), or opens
  with "the <noun>" / "this <noun>" ("the programme", "the reference centre") when its
  modifiers belong to one named initiative or, failing that, when exactly one initiative was
  named earlier in the same section, inherits that initiative's dimension codings.

A passage inherits only the dimensions it does not already have, and only when neither it
(the cell, the item, the sentence) carries a negation, hypothetical or problem cue of the
codebook nor the tagger found a challenge or a flagged coding in it: negated, hypothetical and
problem passages never inherit. Sources are the tagger's codings that count (existing or
planned initiatives); an inherited coding keeps its source's code and `planned` flag, names
its rule, sits on the passage's own words (the cell, the item, the reference) and records its
source (segment, order, rule, evidence) under `inherited`, with a `reason` a coder can read.

The word lists are data (`section_context.yaml`, schema `section_context.schema.json`); the
cues come from the codebook. `CONTEXT_RULES_VERSION` and the lists' hash enter the coder
fingerprint, so a change re-codes every segment once. Pure: no store, no spaCy.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from itertools import islice
from pathlib import Path

from pipeline.package_data import package_data_checked, parse_yaml

CONTEXT_RULES_VERSION = 1
RULE_TABLE_ROW = "context.table_row"
RULE_LIST_LEAD_IN = "context.list_lead_in"
RULE_REFERENCE = "context.reference"
RULES = (RULE_TABLE_ROW, RULE_LIST_LEAD_IN, RULE_REFERENCE)
DATA_PATH = Path(__file__).with_name("section_context.yaml")
BLOCKING_CUES = ("negation", "hypothetical", "problem")
SOURCE_TEXT_CHARS = 120

_WORD = re.compile(r"n't|[^\W_]+(?:['’-][^\W_]+)*|[^\w\s]")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"“(]?[A-Z0-9À-Ý])")
_NUMBER = re.compile(r"^\d[\d.,]*(st|nd|rd|th|s)?$")


# --- the word lists ------------------------------------------------------------------------

@dataclass(frozen=True)
class ContextWords:
    """`section_context.yaml`, read once."""

    value_words: frozenset[str]
    value_symbols: frozenset[str]
    label_column_words: tuple[tuple[str, ...], ...]
    label_cell_max_words: int
    status_cell_max_words: int
    name_column_words: tuple[tuple[str, ...], ...]
    name_cell_max_words: int
    lead_in_phrases: tuple[tuple[str, ...], ...]
    reference_determiners: frozenset[str]
    reference_heads: frozenset[str]
    reference_max_modifiers: int
    reference_section_determiners: frozenset[str]
    apposition_stops: frozenset[str]
    apposition_max_words: int
    name_connectors: frozenset[str]
    name_min_chars: int
    sha256: str


def load_context_words(path: str | Path | None = None) -> ContextWords:
    """The word lists at `path` (the package's when None); ValueError when they break the
    schema (package data: tests keep the shipped file valid)."""
    return _load_words(str(path or DATA_PATH))


@lru_cache(maxsize=4)
def _load_words(path: str) -> ContextWords:
    raw = Path(path).read_bytes()
    data = parse_yaml(raw.decode("utf-8"))
    if not (package_data_checked() and Path(path) == DATA_PATH):  # pipeline.package_data
        _check_words(data, path)
    lower = lambda items: frozenset(w.lower() for w in items)  # noqa: E731
    phrases = lambda items: tuple(tuple(words(p)) for p in items)  # noqa: E731
    return ContextWords(
        value_words=lower(data["value_words"]), value_symbols=frozenset(data["value_symbols"]),
        label_column_words=phrases(data["label_column_words"]),
        label_cell_max_words=data["label_cell_max_words"],
        status_cell_max_words=data["status_cell_max_words"],
        name_column_words=phrases(data["name_column_words"]),
        name_cell_max_words=data["name_cell_max_words"],
        lead_in_phrases=phrases(data["lead_in_phrases"]),
        reference_determiners=lower(data["reference_determiners"]),
        reference_heads=lower(data["reference_heads"]),
        reference_max_modifiers=data["reference_max_modifiers"],
        reference_section_determiners=lower(data["reference_section_determiners"]),
        apposition_stops=lower(data["apposition_stops"]),
        apposition_max_words=data["apposition_max_words"],
        name_connectors=lower(data["name_connectors"]),
        name_min_chars=data["name_min_chars"],
        sha256=hashlib.sha256(raw).hexdigest())


def _check_words(data, path: str) -> None:
    import jsonschema

    schema = json.loads(resources.files("pipeline.schemas")
                        .joinpath("section_context.schema.json").read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data),
                    key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(top level)"
        raise ValueError(f"{path}: {where}: {errors[0].message}")


def context_fingerprint(path: str | Path | None = None) -> str:
    """What of the context rules decides codings: their version and the word lists (the
    hash of the file's bytes, as `ContextWords.sha256`: `code` with nothing to do does not
    parse and check them)."""
    raw = Path(path or DATA_PATH).read_bytes()
    return f"{CONTEXT_RULES_VERSION}:{hashlib.sha256(raw).hexdigest()[:16]}"


# --- words and cues ------------------------------------------------------------------------

def words(text: str) -> list[str]:
    return [m.group().lower() for m in _WORD.finditer(text.replace("n't", " n't"))]


def _word_spans(text: str) -> list[tuple[str, int, int]]:
    """(lower-cased word, start, end) of the text's words and punctuation."""
    spans = []
    for m in _WORD.finditer(text):
        token = m.group()
        if token.lower().endswith("n't") and len(token) > 3:  # "don't" -> "do", "n't"
            spans.append((token[:-3].lower(), m.start(), m.end() - 3))
            spans.append(("n't", m.end() - 3, m.end()))
        else:
            spans.append((token.lower(), m.start(), m.end()))
    return spans


def _iter_word_spans(text: str):
    """`_word_spans` one at a time (callers that need the first few stop early)."""
    for m in _WORD.finditer(text):
        token = m.group()
        if token.lower().endswith("n't") and len(token) > 3:  # "don't" -> "do", "n't"
            yield (token[:-3].lower(), m.start(), m.end() - 3)
            yield ("n't", m.end() - 3, m.end())
        else:
            yield (token.lower(), m.start(), m.end())


_BE = frozenset({"be", "is", "are", "was", "were", "been", "being", "am", "'s", "'re"})
_IRREGULAR = {"has": "have", "had": "have", "having": "have", "did": "do", "does": "do",
              "done": "do", "went": "go", "gone": "go", "ran": "run", "shut": "shut",
              "cut": "cut", "struck": "strike", "wound": "wind", "left": "leave",
              "took": "take", "got": "get", "met": "meet", "led": "lead"}


@lru_cache(maxsize=65536)
def _forms(word: str) -> frozenset[str]:
    """The word and the base forms it may inflect (a cheap stand-in for lemmas); cached,
    as the same words come back in every sentence."""
    return frozenset(_word_forms(word))


def _word_forms(word: str) -> set[str]:
    forms = {word}
    if word in _BE:
        forms.add("be")
    if word in _IRREGULAR:
        forms.add(_IRREGULAR[word])
    for suffix in ("s", "es", "ed", "d", "ing"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stem = word[:-len(suffix)]
            forms.add(stem)
            if suffix in ("ed", "ing"):
                forms.add(stem + "e")
                if len(stem) > 2 and stem[-1] == stem[-2]:
                    forms.add(stem[:-1])  # stopped -> stop
            if suffix == "es" and stem.endswith("i"):
                forms.add(stem[:-1] + "y")
    return forms


def _expand(phrase: str) -> list[tuple[str, ...]]:
    """Every word sequence a codebook cue phrase stands for ("{is|are} in the process of")."""
    results: list[list[str]] = [[]]
    for group, literal in re.findall(r"\{([^}]*)\}|([^{}]+)", phrase):
        options = group.split("|") if group else [literal]
        results = [done + words(option) for done in results for option in options]
        if len(results) > 512:
            break
    return [tuple(r) for r in results if r]


@dataclass(frozen=True)
class CueMatcher:
    """The codebook's negation, hypothetical, problem and pseudo cues, matched on words.

    Overlapping matches are resolved longest first, as the coder does, so a pseudo cue
    ("not only", "a few") cancels the negation inside it.
    """

    by_first: dict[str, tuple[tuple[tuple[str, ...], str], ...]]

    @classmethod
    def from_codebook(cls, codebook) -> CueMatcher:
        return _matcher_for(codebook)

    @classmethod
    def from_phrases(cls, phrases: Iterable[tuple[str, str]]) -> CueMatcher:
        """(cue type, phrase) pairs; types negation | hypothetical | problem | pseudo ..."""
        table: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for kind, phrase in phrases:
            for seq in _expand(phrase):
                table.setdefault(seq[0], []).append((seq, kind))
        return cls({k: tuple(sorted(set(v), key=lambda item: (-len(item[0]), item)))
                    for k, v in table.items()})

    def blocking(self, text: str) -> list[str]:
        """The blocking cues (negation, hypothetical, problem) in `text`, as written."""
        spans = _word_spans(text)
        forms = [_forms(word) for word, _s, _e in spans]
        found: list[tuple[int, int, str]] = []
        for i in range(len(spans)):
            for form in forms[i]:
                for seq, kind in self.by_first.get(form, ()):
                    end = i + len(seq)
                    if end <= len(spans) and all(seq[k] in forms[i + k]
                                                 for k in range(1, len(seq))):
                        found.append((i, end, kind))
        found.sort(key=lambda f: (f[0] - f[1], f[0]))
        kept: list[tuple[int, int, str]] = []
        for start, end, kind in found:
            if all(end <= k_start or start >= k_end for k_start, k_end, _ in kept):
                kept.append((start, end, kind))
        kept.sort()
        return [text[spans[s][1]:spans[e - 1][2]] for s, e, kind in kept
                if kind in BLOCKING_CUES]


_MATCHERS: dict[tuple, CueMatcher] = {}


def _matcher_for(codebook) -> CueMatcher:
    key = (codebook.id, codebook.version, codebook.sha256)
    matcher = _MATCHERS.get(key)
    if matcher is None:
        pairs = [(cue.type, phrase) for cue in codebook.context.cues for phrase in cue.phrases]
        pairs += [("problem", phrase) for phrase in codebook.context.problem]
        matcher = _MATCHERS[key] = CueMatcher.from_phrases(pairs)
    return matcher


# --- one interview's segments --------------------------------------------------------------

@dataclass
class Part:
    """One current segment with what the store knows of its place and its tagger result."""

    segment_id: int
    order: int  # block number in the transcript
    kind: str  # paragraph | list_item | table_cell
    section: str | None
    text: str
    result: dict | None  # the tagger's result; its usable codes under "codes"
    table: int | None = None  # table number in the interview (with a header row)
    row: int | None = None
    column: int | None = None  # from 1
    column_label: str = ""  # the header cell of its column
    lead_in: int | None = None  # segment id of the paragraph just before its list
    inherited: list[dict] = field(default_factory=list)


def parts_from_layout(layout: list[list], plain: str, segments: list[dict]) -> list[Part]:
    """Parts in document order, placed in their tables and lists.

    `layout` is the interview's stored block list ([order, part, role, kind, start, end,
    section, question, is_segment, heading] per block); `segments` the current segments
    ({"id", "ord", "kind", "section", "text", "result"}). A table's rows are counted from its
    header row: its cells give the number of columns (a table without a header row gets no
    rows; merged cells can shift them). Blocks that also carry [table, row, column] (fields
    11-13, when ingest stores them) are placed exactly.
    """
    by_order = {seg["ord"]: seg for seg in segments}
    parts: dict[int, Part] = {}
    for seg in sorted(segments, key=lambda s: (s["ord"], s["id"])):
        parts[seg["ord"]] = Part(seg["id"], seg["ord"], seg.get("kind") or "paragraph",
                                 seg.get("section"), seg["text"], seg.get("result"))
    blocks = sorted(layout, key=lambda b: b[0])
    table_number = 0
    i = 0
    while i < len(blocks):
        block = blocks[i]
        if block[3] == "table_cell" and block[2] != "metadata":
            run = []
            while i < len(blocks) and blocks[i][3] == "table_cell" and blocks[i][2] != "metadata":
                run.append(blocks[i])
                i += 1
            table_number += 1
            _place_table(run, plain, parts, table_number)
            continue
        if block[3] == "list_item":
            before = blocks[i - 1] if i > 0 else None
            lead = by_order.get(before[0]) if before is not None and before[3] == "paragraph" \
                else None
            while i < len(blocks) and blocks[i][3] == "list_item":
                part = parts.get(blocks[i][0])
                if part is not None and lead is not None:
                    part.lead_in = lead["id"]
                i += 1
            continue
        i += 1
    return [parts[order] for order in sorted(parts)]


def _place_table(run: list[list], plain: str, parts: dict[int, Part], number: int) -> None:
    if all(len(block) >= 13 and block[11] is not None for block in run):
        _place_by_position(run, plain, parts)
        return
    headers = []
    for block in run:
        if block[2] != "table_header":
            break
        headers.append(block)
    columns = len(headers)
    body = run[columns:]
    if columns < 2 or not body or len(body) % columns:
        return
    labels = [plain[h[4]:h[5]] for h in headers]
    for index, block in enumerate(body):
        part = parts.get(block[0])
        if part is not None:
            part.table, part.row = number, index // columns + 1
            part.column = index % columns + 1
            part.column_label = labels[index % columns]


def _place_by_position(run: list[list], plain: str, parts: dict[int, Part]) -> None:
    """Blocks that carry their own place ([..., table, row, column] after the ten usual
    fields): rows and columns as the DOCX has them, header rows found by role."""
    labels: dict[tuple[int, int], str] = {}
    for block in run:
        if block[2] == "table_header":
            labels.setdefault((block[10], block[12]), plain[block[4]:block[5]])
    for block in run:
        part = parts.get(block[0])
        if part is not None and block[2] != "table_header":
            part.table, part.row, part.column = block[10], block[11], block[12]
            part.column_label = labels.get((block[10], block[12]), "")


# --- the rules -----------------------------------------------------------------------------

def counting_codes(result: dict | None) -> list[dict]:
    """The tagger's dimension codings that count as an initiative (existing or planned)."""
    if not result:
        return []
    return [code for code in result.get("codes") or []
            if code.get("dimension") and (code.get("kind") or "dimension") == "dimension"
            and code.get("counts") and not code.get("negated")
            and not code.get("hypothetical")]


def _flagged_in(result: dict | None, start: int, end: int) -> bool:
    """The tagger found a challenge or a negated or hypothetical mention in [start, end)
    of the segment."""
    for code in (result or {}).get("codes") or []:
        if code.get("start", 0) < end and code.get("end", 0) > start and (
                code.get("kind") == "challenge" or code.get("negated")
                or code.get("hypothetical")):
            return True
    return False


def _strip_span(text: str) -> tuple[int, int]:
    start = len(text) - len(text.lstrip())
    return start, len(text.rstrip())


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace left out."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        piece = text[s:e]
        a, b = _strip_span(piece)
        if b > a:
            out.append((s + a, s + b))
    return out


def is_value_cell(text: str, lists: ContextWords) -> bool:
    """Only numbers, calendar, frequency and price words: a year, a date, a price or a
    frequency, not a description."""
    for symbol in _longest_first(lists.value_symbols):
        text = text.replace(symbol, " ")
    tokens = words(text)
    return bool(tokens) and all(_NUMBER.match(t) or t in lists.value_words for t in tokens)


@lru_cache(maxsize=8)
def _longest_first(symbols: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(symbols, key=len, reverse=True))


def is_label_cell(part: Part, lists: ContextWords) -> bool:
    """A short cell in a column whose header names a category ("Sector": "Private")."""
    return len(words(part.text)) <= lists.label_cell_max_words and \
        _header_has(part, lists.label_column_words)


def is_name_column(part: Part, lists: ContextWords) -> bool:
    """A column of initiative names ("Service", "Programme"; not "Partner")."""
    return _header_has(part, lists.name_column_words)


def _header_has(part: Part, phrases: tuple[tuple[str, ...], ...]) -> bool:
    header = words(part.column_label) if part.column_label else []
    return any(_contains(header, phrase) for phrase in phrases)


def _contains(tokens: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(tokens[i:i + n]) == phrase for i in range(len(tokens) - n + 1))


@dataclass
class _Named:
    """An initiative named in a segment, with the codings that give its dimensions."""

    name: str
    part: Part
    codes: dict[str, list[dict]]  # dimension -> source codings (each with "_from": Part)
    pattern: re.Pattern
    name_words: frozenset[str]


class _Interview:
    def __init__(self, parts: list[Part], matcher: CueMatcher, lists: ContextWords):
        self.parts = parts
        self.matcher = matcher
        self.lists = lists
        self.by_id = {p.segment_id: p for p in parts}
        self.excluded = {p.segment_id for p in parts if p.kind == "table_cell" and (
            is_value_cell(p.text, lists) or is_label_cell(p, lists))}
        self.named: list[_Named] = []
        self.heads = _heads_pattern(lists.reference_heads)

    # a part's dimensions: its own codings that count, then what it inherited
    def dimensions(self, part: Part) -> set[str]:
        return {c["dimension"] for c in counting_codes(part.result)} | \
            {c["dimension"] for c in part.inherited}

    def codes_by_dimension(self, part: Part) -> dict[str, list[dict]]:
        found: dict[str, list[dict]] = {}
        for code in counting_codes(part.result):
            found.setdefault(code["dimension"], []).append(dict(code, _from=part))
        for code in part.inherited:
            found.setdefault(code["dimension"], []).append(dict(code["_source"]))
        return found

    def blocked(self, part: Part, start: int, end: int) -> bool:
        return _flagged_in(part.result, start, end) or \
            bool(self.matcher.blocking(part.text[start:end]))

    def inherit(self, target: Part, sources: dict[str, list[dict]], rule: str,
                span: tuple[int, int], sentence: tuple[int, int], how: str) -> None:
        """Give `target` the source codings of the dimensions it lacks."""
        have = self.dimensions(target)
        taken = {c["code"] for c in target.inherited}
        for dimension in sorted(set(sources) - have):
            for source in sources[dimension]:
                if source["code"] in taken:
                    continue
                taken.add(source["code"])
                target.inherited.append(_inherited(target, source, rule, span, sentence, how))

    # --- table rows -----------------------------------------------------------------------

    def table_rows(self) -> None:
        rows: dict[tuple[int, int], list[Part]] = {}
        for part in self.parts:
            if part.table is not None:
                rows.setdefault((part.table, part.row), []).append(part)
        for (_table, _row), cells in sorted(rows.items()):
            if any(len(words(c.text)) <= self.lists.status_cell_max_words
                   and self.blocked(c, 0, len(c.text)) for c in cells):
                continue
            members = [c for c in cells if c.segment_id not in self.excluded]
            sources: dict[str, list[dict]] = {}
            for cell in members:
                for dimension, codes in self.codes_by_dimension(cell).items():
                    sources.setdefault(dimension, []).extend(codes)
            for cell in members:
                if not sources or self.blocked(cell, 0, len(cell.text)):
                    continue
                others = {d: [c for c in codes if c["_from"] is not cell]
                          for d, codes in sources.items()}
                others = {d: codes for d, codes in others.items() if codes}
                span = _strip_span(cell.text)
                self.inherit(cell, others, RULE_TABLE_ROW, span, span,
                             "the same table row")
            first = next((c for c in members if c.column == 1), None)
            if first is not None and sources and is_name_column(first, self.lists) and \
                    len(words(first.text)) <= self.lists.name_cell_max_words:
                self._name(first.text.strip(), first, sources)

    # --- list lead-ins --------------------------------------------------------------------

    def introduces(self, part: Part) -> bool:
        text = part.text.strip()
        return text.endswith(":") or any(_contains(words(text), phrase)
                                          for phrase in self.lists.lead_in_phrases)

    def list_lead_ins(self) -> None:
        for part in self.parts:
            if part.kind != "list_item" or part.lead_in is None:
                continue
            lead = self.by_id.get(part.lead_in)
            if lead is None or not self.introduces(lead) or \
                    self.blocked(lead, 0, len(lead.text)) or \
                    self.blocked(part, 0, len(part.text)):
                continue
            sources = {d: [dict(c, _from=lead) for c in codes]
                       for d, codes in _own_by_dimension(lead).items()}
            span = _strip_span(part.text)
            self.inherit(part, sources, RULE_LIST_LEAD_IN, span, span,
                         "the paragraph that introduces the list")

    # --- references -----------------------------------------------------------------------

    def _name(self, name: str, part: Part, codes: dict[str, list[dict]]) -> None:
        name = name.strip().rstrip(".:;,")
        if len(name) < self.lists.name_min_chars or not codes:
            return
        bare = re.sub(r"^(the|a|an)\s+", "", name, flags=re.IGNORECASE)
        # names are matched as written (a proper name is capitalised), "The" aside
        pattern = re.compile(r"(?<![\w])" + re.escape(bare) + r"(?![\w])")
        self.named.append(_Named(bare, part, codes, pattern, frozenset(words(bare))))

    def _full_name(self, part: Part, item: dict) -> str:
        """The initiative's name with the lower-case words that complete it ("Sunday" in
        "its Sunday fair" is the fair's name only with "fair")."""
        name = item["name"]
        start, end = item.get("start"), item.get("end")
        if start is None or end is None or part.text[start:end] != name:
            return name
        rest = part.text[end:]
        for word, s, e in islice(_iter_word_spans(rest),
                                 self.lists.reference_max_modifiers + 1):
            if not word[0].isalpha() or not rest[s].islower():
                break
            if word in self.lists.reference_heads:
                return name + rest[:e]
        return name

    def register(self, part: Part) -> None:
        """Initiatives the part names (counting, not ended), with their codings."""
        found = [item for item in ((part.result or {}).get("initiatives") or [])
                 if item.get("name") and item.get("status") != "ended"
                 and not item.get("negated") and not item.get("hypothetical")
                 and item.get("counts", True)]
        codes = self.codes_by_dimension(part)
        if part.kind == "list_item" and codes:
            name = self.leading_name(part.text)
            if name is not None:
                self._name(name, part, codes)
        for item in found:
            dims = set(item.get("dimensions") or [])
            if not dims and len(found) == 1:
                dims = set(codes)
            self._name(self._full_name(part, item), part,
                       {d: codes[d] for d in sorted(dims) if d in codes})

    def leading_name(self, text: str) -> str | None:
        """The capitalised name opening a list item, when an apposition headed by an
        initiative noun follows it ("Conta Nova, a basic account ...")."""
        spans = _word_spans(text)
        first = 1 if spans and spans[0][0] in self.lists.reference_determiners else 0
        comma = next((k for k, (w, _s, _e) in enumerate(spans) if not w[0].isalnum()), None)
        if comma is None or comma == first or spans[comma][0] != "," or \
                comma - first > self.lists.name_cell_max_words:
            return None
        name_spans = spans[first:comma]
        if not text[name_spans[0][1]].isupper() or any(
                not text[s].isupper() and w not in self.lists.name_connectors
                for w, s, _e in name_spans):
            return None
        apposition = []
        for word, _s, _e in spans[comma + 1:]:
            if not word[0].isalnum() or word in self.lists.apposition_stops:
                break
            apposition.append(word)
        if not apposition or len(apposition) > self.lists.apposition_max_words or \
                apposition[-1] not in self.lists.reference_heads:
            return None
        return text[name_spans[0][1]:name_spans[-1][2]]

    def references(self) -> None:
        for part in self.parts:
            if part.segment_id not in self.excluded and self.named:
                self._refer(part)
            self.register(part)

    def _refer(self, part: Part) -> None:
        earlier = [n for n in self.named if n.part.order < part.order]
        if not earlier:
            return
        # a name matches as written, so only names found in the text can match a sentence
        in_text = [n for n in earlier if n.name in part.text]
        for start, end in sentences(part.text):
            sentence = part.text[start:end]
            found = []
            for named in in_text:
                m = named.pattern.search(sentence) if named.name in sentence else None
                if m:
                    found.append((named, (m.start(), m.end()), "names"))
            found.extend((named, span, "refers to") for named, span
                         in self._noun_references(sentence, earlier, part))
            if not found or self.blocked(part, start, end):  # cues looked up only if needed
                continue
            for named, (a, b), how in found:
                self.inherit(part, named.codes, RULE_REFERENCE, (start + a, start + b),
                             (start, end), f"the initiative {named.name!r} it {how}")

    def _noun_references(self, sentence: str, earlier: list[_Named], part: Part):
        """'The <modifiers> <head>' phrases of the sentence and the initiatives they mean.

        Anywhere in the sentence, a phrase whose modifiers and head all belong to one named
        initiative's name means it ("the reference centre"). Opening the sentence (its
        subject), a plain one ("the programme", "the language programme") means the one
        initiative named earlier in the section.
        """
        if not self.heads.search(sentence):  # no head noun, no phrase: skip the words
            return []
        spans = _word_spans(sentence)
        found = []
        for d, (determiner, _ds, _de) in enumerate(spans):
            if determiner not in self.lists.reference_determiners:
                continue
            head = self._head_after(spans, d)
            if head is None:
                continue
            modifiers = {w for w, _s, _e in spans[d + 1:head]}
            proper = any(sentence[s].isupper() for _w, s, _e in spans[d + 1:head])
            if d == 0:
                local = determiner in self.lists.reference_section_determiners and not proper
                named = self._resolve(modifiers, earlier, part, local)
            elif modifiers:
                named = self._resolve(modifiers | {spans[head][0]}, earlier, part, False)
            else:
                named = None
            if named is not None:
                found.append((named, (spans[d][1], spans[head][2])))
        return found

    def _head_after(self, spans: list[tuple[str, int, int]], d: int) -> int | None:
        """Index of the head noun of the phrase opened by the determiner at `d`."""
        last = min(len(spans), d + self.lists.reference_max_modifiers + 2)
        for h in range(d + 1, last):
            word = spans[h][0]
            if not word[0].isalpha() or word in self.lists.reference_determiners:
                return None
            if word in self.lists.reference_heads:
                following = spans[h + 1][0] if h + 1 < len(spans) else ""
                if following in self.lists.reference_heads and h + 1 < last:
                    continue  # "the training course": the head is the last noun
                return h
        return None

    def _resolve(self, modifiers: set[str], earlier: list[_Named], part: Part, local: bool):
        """The initiative whose name holds every modifier ("the reference centre"); else,
        for a plain reference (`local`), the one initiative named earlier in the section."""
        if modifiers:
            matching = {n.name.lower(): n for n in earlier if modifiers <= n.name_words}
            if len(matching) == 1:
                return next(iter(matching.values()))
            if matching:
                return None
        if not local:
            return None
        in_section = {n.name.lower(): n for n in earlier if n.part.section == part.section}
        return next(iter(in_section.values())) if len(in_section) == 1 else None


@lru_cache(maxsize=4)
def _heads_pattern(heads: frozenset[str]) -> re.Pattern:
    alternatives = "|".join(re.escape(h) for h in sorted(heads, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _own_by_dimension(part: Part) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for code in counting_codes(part.result):
        found.setdefault(code["dimension"], []).append(code)
    return found


def _inherited(target: Part, source: dict, rule: str, span: tuple[int, int],
               sentence: tuple[int, int], how: str) -> dict:
    origin: Part = source["_from"]
    source_code = {k: v for k, v in source.items() if k != "_from"}
    evidence = target.text[span[0]:span[1]]
    quoted = origin.text.strip()
    if len(quoted) > SOURCE_TEXT_CHARS:
        quoted = quoted[:SOURCE_TEXT_CHARS - 1].rstrip() + "…"
    inherited = {"segment_id": origin.segment_id, "order": origin.order,
                 "rule": source_code.get("rule"), "evidence": source_code.get("text"),
                 "text": quoted}
    return {
        "code": source_code["code"], "dimension": source_code["dimension"],
        "start": span[0], "end": span[1], "text": evidence, "rule": rule,
        "negated": False, "hypothetical": False,
        "planned": bool(source_code.get("planned")), "kind": "dimension", "counts": True,
        "problem": False, "codebook_version": source_code.get("codebook_version"),
        "sentence": target.text[sentence[0]:sentence[1]], "sentence_start": sentence[0],
        "sentence_end": sentence[1], "cues": [],
        "reason": (f"inherited from {how}: ¶{origin.order} {quoted!r} "
                   f"({source_code['code']}, {source_code.get('rule') or 'rule'})"),
        "inherited": inherited,
        "_source": dict(source),
    }


def context_codings(parts: list[Part], matcher: CueMatcher,
                    lists: ContextWords | None = None) -> dict[int, list[dict]]:
    """The codings each segment inherits, by segment id (offsets relative to its text).

    `parts` are one interview's current segments in document order (`parts_from_layout`);
    the rules run in order (table rows, list lead-ins, references), so a name cell that
    inherited its row's dimensions passes them on to the sentences that name it.
    """
    lists = lists or load_context_words()
    for part in parts:
        part.inherited = []
    interview = _Interview(parts, matcher, lists)
    interview.table_rows()
    interview.list_lead_ins()
    interview.references()
    out: dict[int, list[dict]] = {}
    for part in parts:
        if part.inherited:
            out[part.segment_id] = [{k: v for k, v in c.items() if k != "_source"}
                                    for c in part.inherited]
    return out
