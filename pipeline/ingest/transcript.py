"""Everything ingest learns from one transcript, without touching the store.

`analyse` reads the DOCX, finds the title and metadata block, ranks the metadata sources,
picks the guide, assigns roles and cuts segments. It is a pure function of the file's
bytes, the register, the guides and the overrides, so ingest can run it before opening a
write transaction (a file that fails costs nothing) and `status` can run it as a dry run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.errors import Problem
from pipeline.ingest.docx_reader import DocxContent, read_docx
from pipeline.ingest.metadata import (
    Candidates,
    Resolved,
    properties_candidates,
    read_top,
    register_candidates,
    resolve,
)
from pipeline.ingest.structure import SectionMatcher, Structure, assign_roles


@dataclass
class IngestSettings:
    """What every file of one ingest shares."""

    guides: dict = field(default_factory=dict)
    register: object | None = None  # pipeline.ingest.register.Register
    vocabularies: dict | None = None


@dataclass
class Transcript:
    content: DocxContent
    candidates: Candidates  # what the document itself says (table, lines, properties)
    metadata: Resolved
    structure: Structure
    guide_id: str | None
    left_out: list[Problem] = field(default_factory=list)

    @property
    def warnings(self) -> list[Problem]:
        return [*self.metadata.warnings, *self.structure.warnings, *self.left_out]


def register_row(settings: IngestSettings, file_name: str, path: str | None = None):
    if settings.register is None:
        return None
    return settings.register.row_for_file(file_name, path)


def resolve_metadata(document: Candidates, overrides: dict[str, str], settings: IngestSettings,
                     *, file_name: str, display: str) -> Resolved:
    """Rank overrides, the document's own sources and the register row for one file."""
    combined = Candidates()
    for field_name, value in sorted(overrides.items()):
        combined.add("override", field_name, value)
    for field_name, by_source in document.values.items():
        for source, raw in by_source.items():
            combined.add(source, field_name, raw)
    row = register_row(settings, file_name, display)
    register_candidates(row, combined)
    return resolve(combined, file=display, name=file_name, register=settings.register,
                   register_row=row,
                   vocabularies=settings.vocabularies)


def guide_of(metadata: Resolved, settings: IngestSettings) -> str | None:
    guide = metadata.value("interview_guide")
    return guide if guide in settings.guides else None


def analyse(data: bytes, *, file_name: str, display: str, settings: IngestSettings,
            overrides: dict[str, str] | None = None) -> Transcript:
    """Read and interpret one transcript; raises CityQDAError when it cannot be read."""
    content = read_docx(data, display)
    document = Candidates()
    any_guide = SectionMatcher(settings.guides, None)
    top = read_top(content.blocks, document, any_guide.is_section_heading)
    properties_candidates(content.properties, document, settings.register,
                          settings.vocabularies)
    metadata = resolve_metadata(document, overrides or {}, settings, file_name=file_name,
                                display=display)
    guide_id = guide_of(metadata, settings)
    matcher = SectionMatcher(settings.guides, guide_id)
    structure = assign_roles(content.blocks, content.plain, top.roles, matcher, file=display,
                             top_end=top.end)
    left_out = [Problem("CQ134", {"file": display, "what": what}, file=display)
                for what in content.left_out]
    return Transcript(content, document, metadata, structure, guide_id, left_out)
