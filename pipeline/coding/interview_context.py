"""The study coder's context rules in `code`: whole interviews tagged, inherited codings added.

A passage's inherited codings depend on the rest of its interview (`section_context`), so
whenever any segment of an interview has work (a new or changed text, a new fingerprint, a
move after a re-ingest, a deleted neighbour), every current segment of that interview is
tagged: the context is always computed from all current segments, never from a mix of fresh
and stored results. The segments tagged only for the context then go back to what they were
(moved, refreshed or untouched: the tally and the fingerprints stay as without context), but
keep their outputs, so the writer reconciles their codings with the same identity-preserving
upsert as a re-code: an inherited coding whose source changed is stopped or updated like any
other, its decisions kept. Their own codings are the same as stored (same text, same
fingerprint), so only inherited codings can change there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields

from sqlalchemy import bindparam, select

from pipeline.coding.reconcile import SegmentWork
from pipeline.coding.section_context import (
    CueMatcher,
    context_codings,
    parts_from_layout,
)
from pipeline.store.schema import interviews, segments


@dataclass
class ContextWork(SegmentWork):
    """A segment tagged only for its interview's context: `restore` holds its own (tag,
    refresh) flags, put back once the context is computed."""

    restore: tuple[bool, bool] | None = None


@dataclass(frozen=True)
class StoredState:
    """A segment's `segment_coding` row (what it was last coded from)."""

    sha256: str
    start: int
    end: int
    version: int
    fingerprint: str
    codebook_version: str


STRUCTURE = (select(segments.c.id, segments.c.ord, segments.c.kind, segments.c.section,
                    segments.c.text)
             .where(segments.c.interview_id == bindparam("interview"),
                    segments.c.status == "current")
             .order_by(segments.c.ord, segments.c.id))
LAYOUT = select(interviews.c.paragraphs, interviews.c.plain_text).where(
    interviews.c.id == bindparam("interview"))
INTERVIEW_OF = select(segments.c.interview_id).where(segments.c.id == bindparam("segment"))


def context_work(items: list[SegmentWork]) -> list[SegmentWork]:
    """Every current segment of one interview (in order), all to be tagged: the items
    without tagging work of their own (moved only, refreshed, or no work at all) become
    ContextWork holding their own flags, put back by `add_context`; the writer then
    reconciles their codings as for any re-code. `code_study.interview_work` reads them."""
    whole = []
    for item in items:
        if not item.tag:
            values = {f.name: getattr(item, f.name) for f in fields(item)}
            item = ContextWork(**values, restore=(item.tag, item.refresh))
            item.tag, item.refresh = True, False
        whole.append(item)
    return whole


def add_context(store, codebook, items: list[SegmentWork]) -> None:
    """Append to each tagged item's outputs the codings it inherits from its interview;
    then give the items tagged only for the context their own flags back."""
    try:
        _add_context(store, codebook, items)
    finally:
        for item in items:
            if isinstance(item, ContextWork) and item.restore is not None:
                item.tag, item.refresh = item.restore
                item.restore = None


def _add_context(store, codebook, items: list[SegmentWork]) -> None:
    tagged = [item for item in items if item.tag and item.outputs is not None]
    if not tagged:
        return
    with store.read() as conn:
        interview = conn.execute(INTERVIEW_OF, {"segment": tagged[0].segment_id}).scalar()
        if interview is None:
            return
        layout_row = conn.execute(LAYOUT, {"interview": interview}).first()
        rows = conn.execute(STRUCTURE, {"interview": interview}).all()
    by_id = {item.segment_id: item for item in tagged}
    segment_rows = []
    for row in rows:
        item = by_id.get(row.id)
        result = None
        if item is not None:
            result = dict(item.result or {}, codes=item.outputs)
        segment_rows.append({"id": row.id, "ord": row.ord, "kind": row.kind,
                             "section": row.section, "text": row.text, "result": result})
    layout = json.loads(layout_row.paragraphs or "[]") if layout_row is not None else []
    plain = (layout_row.plain_text or "") if layout_row is not None else ""
    parts = parts_from_layout(layout, plain, segment_rows)
    extra = context_codings(parts, CueMatcher.from_codebook(codebook))
    for segment_id, codings in extra.items():
        item = by_id.get(segment_id)
        if item is not None:
            item.outputs = list(item.outputs) + codings
