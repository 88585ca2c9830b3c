"""Give every block a role, a guide section and a question; cut the answers into segments.

Roles: ``title`` and ``metadata`` (the top of the transcript, see `metadata.read_top`),
``heading`` (opens a guide section), ``question`` (the interviewer's question),
``table_header`` (a header row of a table), ``answer`` and ``empty``.

- A heading is a paragraph in a Heading style (or with an outline level), or a short,
  wholly bold paragraph that the interview's guide recognises (`Guide.match_section`:
  case, punctuation, numbering and small wording changes absorbed). A styled heading the
  guide does not know still opens a section, under its own wording, with a warning.
- A question is a paragraph starting with ``Q:`` (or ``Question 3.``), or one that is
  wholly bold or wholly italic and not long.
- Everything else is an answer: when in doubt a paragraph is an answer, because a missed
  answer is lost evidence while a question coded by mistake is visible in review.

Each non-empty answer (paragraph, list item, table cell) is a segment; its span is the
block trimmed of surrounding white space and of an ``A:`` prefix, so ``plain[start:end]``
is the segment text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from pipeline.errors import Problem

SHORT_HEADING_WORDS = 8
LONG_QUESTION_WORDS = 80

_QUESTION_PREFIX = re.compile(r"^\s*(?:q|question)\s*\d{0,3}\s*[:.)\-\u2013]\s*", re.I)
# "A:", "Answer:", and numbered like the questions ("A1.", "A 2:", "Answer 3)")
_ANSWER_PREFIX = re.compile(r"^\s*(?:a|answer)\s*(?::|\d{1,3}\s*[:.)])\s*", re.I)
_INLINE_ANSWER = re.compile(r"\s(?:a|answer)\s*:\s+", re.I)


@dataclass
class Paragraph:
    """One block of the transcript with the role it was given."""

    index: int
    order: int  # 1-based position among all blocks
    role: str
    kind: str
    start: int
    end: int
    text: str
    section: str | None = None
    question: str | None = None
    part: int = 0  # 1 for an answer following "A:" inside a "Q:" paragraph
    heading: str | None = None  # the section's heading as written

    @property
    def is_segment(self) -> bool:
        return self.role == "answer" and bool(self.text)


@dataclass
class Structure:
    paragraphs: list[Paragraph]
    warnings: list[Problem] = field(default_factory=list)

    @cached_property
    def segments(self) -> list[Paragraph]:
        return [p for p in self.paragraphs if p.is_segment]


class SectionMatcher:
    """Matches headings against the interview's guide, then against the other guides."""

    def __init__(self, guides: dict, guide_id: str | None):
        self.guides = guides or {}
        self.guide = self.guides.get(guide_id) if guide_id else None
        self._cache: dict[str, tuple[str | None, bool]] = {}

    def match(self, heading: str) -> tuple[str | None, bool]:
        """(section title or None, whether the interview's own guide knows it)."""
        if heading not in self._cache:
            result: tuple[str | None, bool] = (None, False)
            if self.guide is not None:
                section = self.guide.match_section(heading)
                if section is not None:
                    result = (section.title, True)
            if result[0] is None:
                for guide in self.guides.values():
                    if guide is self.guide:
                        continue
                    section = guide.match_section(heading)
                    if section is not None:
                        result = (section.title, self.guide is None)
                        break
            self._cache[heading] = result
        return self._cache[heading]

    def is_short_bold(self, block) -> bool:
        text = block.text.strip()
        return (block.table is None and block.bold and 0 < len(text.split()) <= SHORT_HEADING_WORDS
                and not text.endswith("?"))

    def is_section_heading(self, block) -> bool:
        """A block that certainly opens a guide section (ends the metadata region)."""
        if block.table is not None or not block.text.strip():
            return False
        if block.heading_level is not None or self.is_short_bold(block):
            return self.match(block.text.strip())[0] is not None
        return False


def _trim(plain: str, start: int, end: int) -> tuple[int, int]:
    while start < end and plain[start].isspace():
        start += 1
    while end > start and plain[end - 1].isspace():
        end -= 1
    return start, end


def _header_rows(blocks) -> set[tuple[int, int]]:
    """(table, row) of header rows: marked as such, or a wholly bold first row."""
    rows: dict[tuple[int, int], list] = {}
    sizes: dict[int, int] = {}
    for block in blocks:
        if block.table is not None:
            rows.setdefault((block.table, block.row), []).append(block)
            sizes[block.table] = max(sizes.get(block.table, 0), block.row)
    headers = set()
    for (table, row), cells in rows.items():
        if any(c.header_row for c in cells):
            headers.add((table, row))
        elif row == 1 and sizes[table] > 1 and len(cells) > 1 and \
                all(c.bold for c in cells if c.text.strip()) and \
                any(c.text.strip() for c in cells):
            headers.add((table, row))
    return headers


def _unknown_section(file: str, heading: str, matcher: SectionMatcher) -> Problem:
    guide = matcher.guide
    if guide is None:
        known = ", ".join(sorted(matcher.guides))
        sections = "see `cityqda guides show`"
    else:
        known = Path(guide.file).name if guide.file else guide.id
        sections = "; ".join(section.title for section in guide.sections)
    return Problem("CQ123", {"file": file, "heading": heading,
                             "guide": guide.id if guide is not None else "any",
                             "known": known, "sections": sections}, file=file)


def assign_roles(blocks, plain: str, top_roles: dict[int, str], matcher: SectionMatcher,
                 *, file: str, top_end: int = 0) -> Structure:
    paragraphs: list[Paragraph] = []
    warnings: list[Problem] = []
    warned: set[str] = set()
    headers = _header_rows(blocks)
    section: str | None = None
    heading_text: str | None = None
    question: str | None = None

    for block in blocks:
        start, end = _trim(plain, block.start, block.end)
        text = plain[start:end]
        entries: list[tuple[str, int, int, str | None]] = []  # role, start, end, question
        role = top_roles.get(block.index)
        styled_heading = block.table is None and (
            block.heading_level is not None or (block.title and block.index >= top_end))
        heading = None
        if role is None and text and (styled_heading or matcher.is_short_bold(block)):
            title, own = matcher.match(text)
            if title is not None or styled_heading:
                heading = title or text
                if (title is None or not own) and matcher.guides and text not in warned:
                    warned.add(text)
                    warnings.append(_unknown_section(file, text, matcher))
        prefix = _QUESTION_PREFIX.match(text) if role is None and heading is None else None
        if role is not None:
            entries.append((role, start, end, None))
        elif not text:
            entries.append(("empty", start, end, None))
        elif heading is not None:
            section, heading_text, question = heading, text, None
            entries.append(("heading", start, end, None))
        elif prefix:
            asked = text[prefix.end():]
            inline = _INLINE_ANSWER.search(asked)
            if inline:
                question = asked[:inline.start()].strip() or None
                entries.append(("question", start, start + prefix.end() + inline.start(),
                                question))
                answer_start, answer_end = _trim(plain, start + prefix.end() + inline.end(), end)
                if answer_end > answer_start:
                    entries.append(("answer", answer_start, answer_end, question))
            else:
                question = asked.strip() or text
                entries.append(("question", start, end, question))
        elif block.table is not None and (block.table, block.row) in headers:
            entries.append(("table_header", start, end, question))
        elif (block.bold or block.italic) and len(text.split()) <= LONG_QUESTION_WORDS:
            question = text
            entries.append(("question", start, end, question))
        else:
            answer = _ANSWER_PREFIX.match(text)
            if answer and answer.end() < len(text):
                start, end = _trim(plain, start + answer.end(), end)
            entries.append(("answer", start, end, question))
        for part, (entry_role, entry_start, entry_end, entry_question) in enumerate(entries):
            paragraphs.append(Paragraph(
                block.index, block.index + 1, entry_role, block.kind, entry_start, entry_end,
                plain[entry_start:entry_end], section if role is None else None,
                entry_question, part, heading_text if role is None else None))

    if not plain.strip():
        warnings.append(Problem("CQ126", {"file": file}, file=file))
    return Structure(paragraphs, warnings)
