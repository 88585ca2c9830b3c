"""Interview metadata from four places, ranked, with every disagreement reported.

Sources, strongest first: an override recorded with `cityqda interview set`, a two-column
``label | value`` table at the top of the transcript, ``Label: value`` lines at the top
(before the first section heading), the document's core properties, and the register row
for the file. The strongest source wins; every other source that says something different
is a warning naming both values, so nobody has to wonder which one was used.

Values keep their wording (``<field>_raw``) beside the canonical value: vocabulary ids for
category, mode and guide, ISO dates, register city names. Labels and values are matched
through `pipeline.vocabulary` (data, not code). Nothing is guessed from the body text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import takewhile

from pipeline.errors import Problem
from pipeline.vocabulary import (
    METADATA_FIELDS,
    canonical,
    field_for_label,
    guide_for_category,
    normalise_label,
)

SOURCES = ("override", "table", "lines", "properties", "register")
DERIVED = "derived"  # a value worked out from another field (guide from category...)
VOCABULARY_FIELDS = {"stakeholder_category": "categories", "mode": "modes",
                     "interview_guide": "guides"}
# field -> register row attributes, the value as written first
REGISTER_COLUMNS = {"city": ("city_raw", "city"), "country": ("country",),
                    "organisation": ("organisation",), "position": ("position",),
                    "stakeholder_category": ("category_raw", "category"),
                    "interview_date": ("interview_date",), "mode": ("mode_raw", "mode"),
                    "language": ("language",), "interviewer": ("interviewer",)}
SOURCE_NAMES = {"override": "override (interview set)", "table": "metadata table",
                "lines": "Field: value lines", "properties": "document properties",
                "register": "register", DERIVED: "derived value"}
METADATA_WARNING_CODES = frozenset({"CQ120", "CQ121", "CQ122", "CQ124", "CQ125", "CQ127",
                                    "CQ128", "CQ129"})

_PLAIN_ARGUMENT = re.compile(r"[\w.,/\\:+@%=-]+")


def command_argument(text: str) -> str:
    """`text` as one argument of a command a hint suggests, so a file name with spaces can
    be copied into bash, PowerShell or cmd as it is: double quotes only when needed."""
    if _PLAIN_ARGUMENT.fullmatch(text):
        return text
    return '"' + text.replace('"', '\\"') + '"'


_LABEL_LINE = re.compile(r"^\s*([^:\n\uff1a]{1,60}?)\s*[:\uff1a]\s*(.*?)\s*$", re.S)
_PAIR_SEPARATORS = re.compile(r"\s*(?:;|\||\t|\n)\s*")


# --- reading Field: value text -----------------------------------------------------------


def parse_label_line(text: str) -> tuple[str, str] | None:
    """(field, value) when `text` is ``Label: value`` with a known label; else None."""
    match = _LABEL_LINE.match(text)
    if not match:
        return None
    label = match.group(1).strip().strip("*").strip()
    field_name = field_for_label(label)
    if field_name is None:
        return None
    return field_name, match.group(2).strip()


def parse_pairs(text: str) -> list[tuple[str, str]] | None:
    """All (field, value) pairs of ``Label: v; Label: v`` text, or None if any piece is not.

    A piece without a colon continues the previous value ("Position: head; deputy").
    """
    if not text or not text.strip():
        return None
    whole = parse_label_line(text)
    pieces = [p for p in _PAIR_SEPARATORS.split(text.strip()) if p]
    pairs: list[tuple[str, str]] = []
    for piece in pieces:
        pair = parse_label_line(piece)
        if pair is not None:
            pairs.append(pair)
        elif pairs and ":" not in piece:
            field_name, value = pairs[-1]
            pairs[-1] = (field_name, f"{value}; {piece}")
        else:
            return [whole] if whole and len(pieces) == 1 else None
    return pairs or None


# --- dates -----------------------------------------------------------------------------

MONTHS = {name: number for number, names in enumerate([
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
    ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
    ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
    ("december", "dec")], start=1) for name in names}
_MONTH = "(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_ORDINAL = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\b", re.I)
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$")
_NUMERIC = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})$")
# Day, month name, year: "14 March 2024", "14th of March 2024", and as spreadsheets show a
# date (Excel's d-mmm-yy): "14-Mar-24", "14/Mar/2024", "14.Mar.24". A two-digit year after a
# named month can only be the year, so it is no less certain than four digits.
_DATE_SEP = r"(?:\s*[-/.]\s*|\s+)"
_DAY_MONTH_YEAR = re.compile(
    rf"^(\d{{1,2}})(?:\s+of\s+|{_DATE_SEP}){_MONTH}(?:{_DATE_SEP}|(?<=\.))(\d{{4}}|\d{{2}})$",
    re.I)
_MONTH_DAY_YEAR = re.compile(rf"^{_MONTH}\s+(\d{{1,2}})\s+(\d{{4}})$", re.I)
_MONTH_YEAR = re.compile(rf"^{_MONTH}\s+(\d{{4}})$", re.I)
_YEAR_MONTH = re.compile(r"^(\d{4})[-/.](\d{1,2})$")


@dataclass(frozen=True)
class ParsedDate:
    iso: str | None
    ambiguous: bool = False


def _iso(year: int, month: int, day: int | None = None) -> str | None:
    try:
        if day is None:
            date(year, month, 1)
            return f"{year:04d}-{month:02d}"
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _full_year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < 70 else 1900
    return year


def parse_date(value) -> ParsedDate:
    """An ISO date (or ISO year-month) for the common ways dates are written.

    Numeric dates whose day and month could swap (03/04/2021) are read day-first, as in
    most of the study's countries, and flagged ambiguous.
    """
    if isinstance(value, datetime):
        return ParsedDate(value.date().isoformat())
    if isinstance(value, date):
        return ParsedDate(value.isoformat())
    if value is None:
        return ParsedDate(None)
    text = " ".join(str(value).replace(",", " ").split())
    text = _ORDINAL.sub(r"\1", text)
    match = _ISO.match(text)
    if match:
        return ParsedDate(_iso(int(match.group(1)), int(match.group(2)), int(match.group(3))))
    match = _NUMERIC.match(text)
    if match:
        first, second, year = int(match.group(1)), int(match.group(2)), \
            _full_year(match.group(3))
        if first > 12:
            return ParsedDate(_iso(year, second, first))
        if second > 12:
            return ParsedDate(_iso(year, first, second))
        return ParsedDate(_iso(year, second, first), ambiguous=first != second)
    match = _DAY_MONTH_YEAR.match(text)
    if match:
        return ParsedDate(_iso(_full_year(match.group(3)), MONTHS[match.group(2).lower()],
                               int(match.group(1))))
    match = _MONTH_DAY_YEAR.match(text)
    if match:
        return ParsedDate(_iso(int(match.group(3)), MONTHS[match.group(1).lower()],
                               int(match.group(2))))
    match = _MONTH_YEAR.match(text)
    if match:
        return ParsedDate(_iso(int(match.group(2)), MONTHS[match.group(1).lower()]))
    match = _YEAR_MONTH.match(text)
    if match:
        return ParsedDate(_iso(int(match.group(1)), int(match.group(2))))
    return ParsedDate(None)


# --- candidates from the document --------------------------------------------------------


@dataclass
class Candidates:
    """What each source says, per field, as written: {field: {source: raw}}."""

    values: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, source: str, field_name: str, raw) -> None:
        if raw is None:
            return
        if isinstance(raw, (date, datetime)):
            raw = raw.isoformat()[:10] if isinstance(raw, date) else raw.date().isoformat()
        raw = " ".join(str(raw).split())
        if not raw:
            return
        self.values.setdefault(field_name, {}).setdefault(source, raw)

    def without(self, source: str) -> Candidates:
        return Candidates({f: {s: v for s, v in by.items() if s != source}
                           for f, by in self.values.items()
                           if any(s != source for s in by)})

    def to_json(self) -> dict:
        return {f: dict(sorted(by.items(), key=lambda kv: SOURCES.index(kv[0])))
                for f, by in sorted(self.values.items())}

    @classmethod
    def from_json(cls, data: dict | None) -> Candidates:
        return cls({f: dict(by) for f, by in (data or {}).items()})


def _table_pairs(rows: list[list[str]]) -> list[tuple[str, str]] | None:
    """Label/value pairs of a two-column table, or None when it is not a metadata table."""
    pairs = []
    known = 0
    for cells in rows:
        if len(cells) > 2:
            return None
        if len(cells) < 2:
            continue
        label = cells[0].strip().rstrip(":\uff1a").strip()
        field_name = field_for_label(label)
        if field_name is not None:
            known += 1
            pairs.append((field_name, cells[1].strip()))
    return pairs if known else None


def properties_candidates(properties: dict[str, str], candidates: Candidates,
                          register=None, vocabularies: dict | None = None) -> None:
    """Core properties: ``Label: value`` pairs anywhere; keywords/category/subject as values.

    A keyword (or the category or subject property) that is a known category, mode or
    register city is read as that field; other free text is left alone.
    """
    for name in ("comments", "keywords", "subject", "title", "category"):
        text = properties.get(name)
        if not text:
            continue
        pairs = parse_pairs(text)
        if pairs:
            for field_name, value in pairs:
                candidates.add("properties", field_name, value)
            continue
        if name == "title" or name == "comments":
            continue
        items = re.split(r"\s*[;,]\s*", text) if name == "keywords" else [text]
        for item in items:
            if not item.strip():
                continue
            if canonical("categories", item, vocabularies):
                candidates.add("properties", "stakeholder_category", item)
            elif canonical("modes", item, vocabularies):
                candidates.add("properties", "mode", item)
            elif register is not None and register.canonical_city(item):
                candidates.add("properties", "city", item)


def register_candidates(row, candidates: Candidates) -> None:
    if row is None:
        return
    for field_name, attributes in REGISTER_COLUMNS.items():
        value = next((getattr(row, a, None) for a in attributes if getattr(row, a, None)),
                     None)
        candidates.add("register", field_name, value)


def _opens_top_or_section(blocks, start: int, is_section_heading) -> bool:
    """Whether the next non-empty block is more metadata or a guide section heading."""
    for block in blocks[start:]:
        if not block.text.strip():
            continue
        if block.table is not None:
            return False
        return is_section_heading(block) or parse_pairs(block.text) is not None
    return False


@dataclass
class MetadataBlock:
    """The title and metadata blocks at the top of a transcript, and what they say."""

    roles: dict[int, str]  # block index -> "title" | "metadata"
    end: int  # index of the first block after the top region


def read_top(blocks, candidates: Candidates, is_section_heading) -> MetadataBlock:
    """Find the title and metadata block at the top and add what it says to `candidates`.

    The top region ends at the first section heading, or at the first paragraph that is
    neither empty, a title, a metadata table, nor a known ``Label: value`` line. A title is
    a short styled (Title, Heading, bold) paragraph that opens no guide section: before
    the metadata, or after it when a section heading or more metadata follows (else it is
    an unknown section heading). Only known labels count, so an answer that happens to
    contain a colon is never metadata.
    """
    roles: dict[int, str] = {}
    tentative: list[int] = []
    found = False
    index = 0
    while index < len(blocks):
        block = blocks[index]
        text = block.text.strip()
        if block.table is not None:
            root = block.table_root
            members = list(takewhile(lambda b, root=root: b.table_root == root,
                                     blocks[index:]))
            rows: dict[int, list[str]] = {}
            for member in members:
                if member.table == block.table:
                    rows.setdefault(member.row, []).append(member.text)
            pairs = _table_pairs([rows[r] for r in sorted(rows)])
            if not pairs:
                break
            for field_name, value in pairs:
                candidates.add("table", field_name, value)
            for member in members:
                roles[member.index] = "metadata"
            found = True
            index += len(members)
            continue
        if not text:
            index += 1
            continue
        if is_section_heading(block):
            break
        pairs = parse_pairs(block.text)
        if pairs:
            for field_name, value in pairs:
                candidates.add("lines", field_name, value)
            roles[block.index] = "metadata"
            found = True
            index += 1
            continue
        styled = block.title or block.heading_level is not None or block.bold
        words = len(text.split())
        if styled and words <= 20 and not text.endswith("?") and (
                not found or _opens_top_or_section(blocks, index + 1, is_section_heading)):
            roles[block.index] = "title"  # after the metadata too: "Summary of the ..."
        elif found:
            break
        elif len(tentative) < 2 and words <= 15 and not text.endswith(("?", ".")):
            tentative.append(block.index)
        else:
            break
        index += 1
    if found:
        for position in tentative:
            roles[position] = "title"
    else:
        roles = {i: r for i, r in roles.items() if r == "title"}
        index = (min(tentative) if tentative else index)
    return MetadataBlock(roles, index)


# --- resolution --------------------------------------------------------------------------


@dataclass
class Resolved:
    """Per field: value (canonical), raw (as written) and source; plus the warnings."""

    fields: dict[str, dict]
    warnings: list[Problem]

    def value(self, field_name: str):
        return self.fields.get(field_name, {}).get("value")


def _interpret(field_name: str, raw: str, register, vocabularies) -> tuple[str | None, dict]:
    """(canonical value or None, facts about the reading)."""
    vocabulary = VOCABULARY_FIELDS.get(field_name)
    if vocabulary:
        return canonical(vocabulary, raw, vocabularies), {}
    if field_name == "interview_date":
        parsed = parse_date(raw)
        return parsed.iso, {"ambiguous": parsed.ambiguous}
    if field_name == "city":
        if register is not None and getattr(register, "cities", None):
            found = register.canonical_city(raw)
            return found, {"checked": True}
        return raw, {}
    return raw, {}


def _same(field_name: str, a: tuple, b: tuple) -> bool:
    value_a, raw_a = a
    value_b, raw_b = b
    if value_a is not None and value_b is not None:
        if field_name in VOCABULARY_FIELDS or field_name in ("interview_date", "city"):
            return value_a == value_b
        return normalise_label(value_a) == normalise_label(value_b)
    return normalise_label(raw_a) == normalise_label(raw_b)


def resolve(candidates: Candidates, *, file: str, name: str | None = None, register=None,
            register_row=None, vocabularies: dict | None = None) -> Resolved:
    """Pick the strongest source per field and report every disagreement and doubt."""
    warnings: list[Problem] = []
    fields: dict[str, dict] = {}
    hint_file = command_argument(file)
    for field_name in METADATA_FIELDS:
        by_source = candidates.values.get(field_name, {})
        ranked = [(s, by_source[s]) for s in SOURCES if s in by_source]
        if not ranked:
            continue
        readings = [(s, raw, *_interpret(field_name, raw, register, vocabularies))
                    for s, raw in ranked]
        source, raw, value, facts = readings[0]
        if field_name in VOCABULARY_FIELDS and value is None:
            if field_name == "stakeholder_category":
                warnings.append(Problem("CQ121", {
                    "file": hint_file, "value": raw, "source": SOURCE_NAMES[source],
                    "known": ", ".join((vocabularies or {}).get("categories", [])
                                       or _default_vocab("categories"))}, file=file))
            else:
                vocabulary = VOCABULARY_FIELDS[field_name]
                warnings.append(Problem("CQ129", {
                    "file": hint_file, "field": field_name, "value": raw,
                    "source": SOURCE_NAMES[source],
                    "known": ", ".join((vocabularies or {}).get(vocabulary, [])
                                       or _default_vocab(vocabulary))}, file=file))
        if field_name == "interview_date":
            if value is None:
                warnings.append(Problem("CQ128", {"file": hint_file, "value": raw,
                                                  "source": SOURCE_NAMES[source]}, file=file))
            elif facts.get("ambiguous"):
                warnings.append(Problem("CQ127", {"file": hint_file, "value": raw,
                                                  "source": SOURCE_NAMES[source],
                                                  "iso": value}, file=file))
        if field_name == "city" and facts.get("checked") and value is None:
            warnings.append(Problem("CQ122", {"file": hint_file, "value": raw,
                                              "source": SOURCE_NAMES[source]}, file=file))
            value = raw
        for other_source, other_raw, other_value, _ in readings[1:]:
            if field_name == "city" and other_value is None:
                other_value = other_raw
            if not _same(field_name, (value, raw), (other_value, other_raw)):
                warnings.append(Problem("CQ124", {
                    "file": hint_file, "field": field_name, "winner": raw,
                    "winner_source": SOURCE_NAMES[source], "other": other_raw,
                    "other_source": SOURCE_NAMES[other_source]}, file=file))
        fields[field_name] = {"value": value, "raw": raw, "source": source}

    _derive(fields, register)
    document_sources = {s for by in candidates.values.values() for s in by}
    if not document_sources - {"override"}:
        warnings.insert(0, Problem("CQ120", {"file": hint_file, "name": name or file}, file=file))
    if register is not None and register_row is None:
        warnings.append(Problem("CQ125", {"file": hint_file, "name": name or file}, file=file))
    return Resolved(fields, warnings)


def _default_vocab(name: str) -> list[str]:
    from pipeline.study import DEFAULT_VOCABULARIES

    return DEFAULT_VOCABULARIES[name]


def _derive(fields: dict[str, dict], register) -> None:
    category = fields.get("stakeholder_category", {}).get("value")
    if "interview_guide" not in fields and category:
        try:
            guide = guide_for_category(category)
        except KeyError:
            guide = None
        if guide:
            fields["interview_guide"] = {"value": guide, "raw": None, "source": DERIVED}
    city = fields.get("city", {}).get("value")
    if "country" not in fields and city and register is not None:
        for entry in getattr(register, "cities", None) or []:
            if entry.name == city and getattr(entry, "country", None):
                fields["country"] = {"value": entry.country, "raw": entry.country,
                                     "source": "register"}
                break


def interpret_override(field_name: str, value: str, register=None,
                       vocabularies: dict | None = None) -> tuple[str | None, str | None]:
    """(canonical value, problem) for a value a person typed for `interview set`."""
    canonical_value, facts = _interpret(field_name, value, register, vocabularies)
    if field_name in VOCABULARY_FIELDS and canonical_value is None:
        return None, "is not a known value"
    if field_name == "interview_date":
        if canonical_value is None:
            return None, "is not a date"
        if facts.get("ambiguous"):
            return None, "is ambiguous (day and month could swap)"
    return canonical_value, None
