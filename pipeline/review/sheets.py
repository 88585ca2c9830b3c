"""Sheet plugins: extra sheets of the review workbook, written and read with the codings.

The review export writes its own sheets (Instructions, Codings, Segments, Codebook,
Interviews), then every plugin's sheet; the import validates the rows of every sheet,
plugins included, before it applies anything, and applies all of it in one transaction.
A plugin is named in SHEET_PLUGINS as "module:attribute" (a class or an instance with the
SheetPlugin methods), so adding a sheet is one line here and a module of its own.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.engine import Connection

from pipeline.errors import Problem

# "module:attribute" of each plugin, in the order their sheets are written.
SHEET_PLUGINS: list[str] = [
    "pipeline.review.entity_sheets:InitiativesSheet",
    "pipeline.review.entity_sheets:ActorsSheet",
    "pipeline.review.entity_sheets:PartnershipsSheet",
]


@dataclass
class ExportRow:
    """What the export remembers of one written row (a review_export_rows record)."""

    sheet: str
    row_key: str  # the id written in the row, e.g. "C123", "A7"
    entity: str  # codings | segments | actors | initiatives | partnerships | ...
    entity_id: int
    content_sha256: str  # workbook.row_hash (core sheets) or content_hash (plugins)
    state: dict | None = None  # this coder's decision as pre-filled, if any


@dataclass
class ExportContext:
    conn: Connection
    study: Any  # pipeline.study.Study
    codebook: Any  # pipeline.codebook.model.Codebook
    coder: str
    role: str  # coder | adjudicator
    kind: str  # review | adjudication
    export_id: str
    segment_ids: set[int] = field(default_factory=set)  # segments in scope
    interview_ids: set[int] = field(default_factory=set)
    run_id: int | None = None
    protect: bool = False


@dataclass
class ImportContext:
    conn: Connection
    study: Any
    codebook: Any
    coder: str
    role: str
    export_id: str
    source: str  # "workbook <file name> export <id>", the decisions' and events' source
    # (sheet, row_key) -> {"entity", "entity_id", "content_sha256", "state"}
    export_rows: dict[tuple[str, str], dict] = field(default_factory=dict)
    export_created_at: str = ""
    dry_run: bool = False
    run_id: int | None = None
    file: str = ""  # the workbook's path, for Problems
    skip_stale: bool = False  # stale rows are skipped (listed in `stale`), not refused
    stale: list[str] = field(default_factory=list)  # row ids skipped as stale

    @property
    def export_time(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.export_created_at.replace("Z", "+00:00"))
        except ValueError:
            return None


def from_export(source: str | None, export_id: str) -> bool:
    """Whether a stored decision or memo was written by an import of this export (its
    source is the ImportContext.source of that import)."""
    return bool(source) and source.endswith(f" export {export_id}")


@runtime_checkable
class SheetPlugin(Protocol):
    sheet: str

    def write(self, wb, ctx: ExportContext) -> list[ExportRow]:
        """Add this plugin's sheet to `wb`; return one ExportRow per data row written."""

    def read(self, rows: list[dict], ctx: ImportContext) -> tuple[list, list[Problem]]:
        """Check the sheet's rows (from workbook.read_sheet_rows); return the changes to
        make and the problems found. Must not write to the store."""

    def apply(self, changes: list, ctx: ImportContext) -> int:
        """Make the changes `read` returned, inside the import's transaction; return how
        many rows changed something."""


def load_plugins(names: list[str] | None = None) -> list[SheetPlugin]:
    """Instances of the plugins in SHEET_PLUGINS (a class is instantiated without
    arguments)."""
    plugins = []
    for name in SHEET_PLUGINS if names is None else names:
        module_name, attribute = name.split(":")
        target = getattr(importlib.import_module(module_name), attribute)
        plugins.append(target() if isinstance(target, type) else target)
    return plugins
