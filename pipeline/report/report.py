"""`cityqda report`: a coded summary per city (DOCX, and PDF when LibreOffice is there) and a
cross-city summary, regenerated from the store after every batch of interviews or decisions.

A report is something a PI sends out, so it cites interviews by pseudonym only (organisation
and position only with `identify`, which writes separate `-identified` files), marks every
unreviewed finding, states how passages were chosen, and says in its footer which codebook
version and run it reflects. Equal store content gives byte-identical DOCX files.

In `cityqda run` a report whose inputs did not change (the city's input signature from the
store, its table rows, opening text, settings and the package; pipeline.report.incremental)
and whose files are intact is kept, not read, rewritten or converted again: after one
changed interview only its city's content is read, and only its report, the cross-city
summary and their PDFs are made. The summary needs every city's figures; those of kept
cities come from a small cache (.cityqda-cache/report-figures.json, keyed by the report's
fingerprint; without it the content is read again), charts drawn before come from
.cityqda-cache/report-charts (pipeline.report.chart), and every city's entity digest from
.cityqda-cache/report-entities.json (`kept_entity_digests`), so only the written city's
entity rows are read. A kept report's footer names the run
that last wrote it. Cities are read and written one at a time, so memory does not grow
with the number of cities; with enough of them, by one forked worker per core
(`_cities_done`), with the same bytes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from pipeline import __version__
from pipeline.errors import CityQDAError, Problem
from pipeline.report.content import (
    PASSAGE_RULE,
    SIGNATURE_STATE_SOURCES,
    UNREVIEWED,
    CityContent,
    InitiativeEntry,
    StudyReader,
)
from pipeline.report.docx_writing import (
    add_box,
    add_grid,
    add_heading,
    add_markdown,
    add_paragraph,
    add_picture,
    add_runs,
    new_document,
    save_deterministic,
    set_footer,
)
from pipeline.xlsx_determinism import os_error_path

REPORTS_FOLDER = "reports"
SUMMARY_STEM = "cross-city-summary"
CITY_WIDE_LIMIT = 7  # tables with more columns are shown one row at a time (portrait page)
SUMMARY_WIDE_LIMIT = 15  # landscape page
PDF_TIMEOUT_SECONDS = 600
RATING_LABELS = {"practicality": "Practicality", "innovation": "Innovation",
                 "successfulness": "Successfulness", "transferability": "Transferability",
                 "sustainability": "Sustainability", "strategic_fit": "Strategic fit"}
PARTNERSHIP_TYPE_LABELS = {"public_private": "Public and private",
                           "third_actor_private": "Third actor and private",
                           "third_actor_public": "Third actor and public", "other": "Other"}
VERDICT_LABELS = {"good_practice": "good practice", "promising_practice": "promising practice"}


@dataclass
class ReportResult:
    outputs: dict[str, Path] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    cities: list[str] = field(default_factory=list)
    pdf_note: str | None = None
    parts: dict[str, str] = field(default_factory=dict)  # output key -> content fingerprint
    kept: int = 0  # reports left as they were (content unchanged)

    def lines(self) -> list[str]:
        docx = [p for k, p in self.outputs.items() if not k.endswith("_pdf")]
        pdfs = [p for k, p in self.outputs.items() if k.endswith("_pdf")]
        folder = docx[0].parent if docx else None
        line = (f"report: {len(self.cities)} city report(s) and a cross-city summary in "
                f"{folder}" if folder else "report: nothing written")
        line += f"; {len(pdfs)} PDF(s)" if pdfs else ""
        if self.kept:
            line += f"; {len(docx) - self.kept} written, {self.kept} unchanged and kept"
        return [line] + ([f"report: {self.pdf_note}"] if self.pdf_note else [])


# --- small formatting helpers -----------------------------------------------------------

def slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-") or "city"


def label_of(identifier: str | None) -> str:
    if not identifier:
        return "not recorded"
    return identifier.replace("_", " ").capitalize()


def format_cell(table, column: str, value) -> str:
    """How an aggregate table cell is written in a report (tests use the same function)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if table.number_formats.get(column, "").endswith("%"):
            return f"{value:.0%}"
        return f"{value:g}"
    return str(value)


def _per_city(table) -> bool:
    return bool(table.columns) and table.columns[0] == "city"


def city_rows(table, city: str) -> list[list] | None:
    """The table's rows for one city, or None when the table is not per city."""
    if not _per_city(table):
        return None
    return [row for row in table.rows if row[0] == city]


def rows_by_city(tables: dict) -> dict[str, dict[str, list[list]]]:
    """City -> table name -> its `city_rows`, in one pass over each per-city table (not
    one pass per city: 166 cities times every row at N = 1,000)."""
    grouped: dict[str, dict[str, list[list]]] = {}
    for name in sorted(tables):
        if _per_city(tables[name]):
            for row in tables[name].rows:
                grouped.setdefault(row[0], {}).setdefault(name, []).append(row)
    return grouped


def rows_of_city(tables: dict, grouped: dict, city: str) -> dict[str, list[list] | None]:
    """One city's `city_rows` of every table, from `rows_by_city`."""
    found = grouped.get(city, {})
    return {name: found.get(name, []) if _per_city(tables[name]) else None
            for name in sorted(tables)}


def _marks(review_status: str) -> str:
    if review_status == "disputed":
        return " [disputed]"
    return " [unreviewed]" if review_status in UNREVIEWED else ""


# --- sections ---------------------------------------------------------------------------

def add_result_table(document, table, rows: list[list], *, wide_limit: int,
                     heading_level: int = 2) -> None:
    """An aggregate table with its title, rows as given, and notes. A table wider than
    `wide_limit` columns is shown as one two-column block (column, value) per row."""
    add_heading(document, table.title, level=heading_level)
    if not rows:
        add_paragraph(document, "No rows.", italic=True)
    elif len(table.columns) <= wide_limit:
        add_grid(document, list(table.columns),
                 [[format_cell(table, c, v) for c, v in zip(table.columns, row, strict=True)]
                  for row in rows], caption=f"Table {table.name}")
    else:
        for index, row in enumerate(rows, start=1):
            add_grid(document, ["column", "value"],
                     [[c, format_cell(table, c, v)] for c, v in
                      zip(table.columns, row, strict=True)],
                     caption=f"Table {table.name}, row {index} of {len(rows)}")
    for note in table.notes:
        add_paragraph(document, note, italic=True)


def review_box_lines(coding_counts: dict[str, int],
                     entity_counts: dict[str, dict[str, int]]) -> list[str]:
    def n(key):
        return coding_counts.get(key, 0)

    undecided = n("suggested")
    disputed = n("disputed")
    lines = [f"Coded passages: {n('accepted')} accepted, {n('rejected')} rejected, "
             f"{disputed} disputed, {undecided} undecided (suggested, nobody has reviewed "
             f"them), {n('superseded')} superseded. A passage several coders coded alike "
             f"counts once, as in the datasets; coders made {n('decisions')} decisions on "
             "them."]
    for name, counts in sorted(entity_counts.items()):
        lines.append(f"{name.capitalize()}: {counts.get('confirmed', 0)} confirmed, "
                     f"{counts.get('suggested', 0)} undecided, {counts.get('disputed', 0)} "
                     f"disputed, {counts.get('rejected', 0)} rejected.")
    pending = undecided + disputed + sum(c.get("suggested", 0) + c.get("disputed", 0)
                                         for c in entity_counts.values())
    if pending:
        lines.append("Findings nobody has confirmed yet are marked [unreviewed] and disputed "
                     "ones [disputed]; the tables count only accepted codings and confirmed "
                     "initiatives and partnerships.")
    else:
        lines.append("Everything shown here has been reviewed.")
    return lines


def _interviews_section(document, content: CityContent, identify: bool) -> None:
    add_heading(document, "Interviews", level=1)
    header = ["pseudonym", "category", "date", "mode"]
    if identify:
        header += ["organisation", "position"]
    rows = []
    for ref in content.interviews:
        row = [ref.pseudonym, label_of(ref.category), ref.date or "", label_of(ref.mode)]
        if identify:
            row += [ref.organisation or "", ref.position or ""]
        rows.append(row)
    add_grid(document, header, rows, font_size=9)
    if not identify:
        add_paragraph(document, "Interviews are cited by pseudonym; organisations and "
                      "positions are left out (consent).", italic=True)


def _passage_paragraph(document, passage, unreviewed_coding: bool) -> None:
    paragraph = add_paragraph(document, style="Quote")
    add_runs(paragraph, [(f"“{passage.text}”", "i"),
                         (f" ({passage.pseudonym}, ¶{passage.order})", "")])
    if unreviewed_coding:
        add_runs(paragraph, [(" [unreviewed]", "b")])


def _initiative_paragraphs(document, entry: InitiativeEntry, dimension: str) -> None:
    paragraph = add_paragraph(document, style="List Bullet")
    add_runs(paragraph, [(entry.name, "b")])
    extra = []
    if entry.status and entry.status != "existing":
        extra.append(entry.status)
    if entry.verdict:
        extra.append(VERDICT_LABELS.get(entry.verdict, entry.verdict))
    if extra:
        add_runs(paragraph, [(f" ({', '.join(extra)})", "")])
    marks = _marks(entry.review_status)
    if marks:
        add_runs(paragraph, [(marks, "b")])
    add_paragraph(document, "Actors: " + ("; ".join(entry.actors) or "none recorded"))
    passages = entry.passages.get(dimension, [])
    for passage in passages:
        _passage_paragraph(document, passage, not passage.accepted)
    if not passages:
        add_paragraph(document, "No passage to quote under the rule below.", italic=True)


def _dimensions_section(document, content: CityContent, dimensions: list[str],
                        labels: dict[str, str], chart: bytes) -> None:
    add_heading(document, "Initiatives by dimension", level=1)
    add_picture(document, chart)
    add_paragraph(document, "Initiatives per dimension: confirmed (solid) and unreviewed "
                  "(hatched). An initiative counts in every dimension it has.", italic=True)
    for dimension in dimensions:
        add_heading(document, labels.get(dimension, label_of(dimension)), level=2)
        entries = content.in_dimension(dimension)
        if not entries:
            add_paragraph(document, "No initiative found in this dimension.", italic=True)
        for entry in entries:
            _initiative_paragraphs(document, entry, dimension)


def _partnerships_section(document, content: CityContent, types: list[str]) -> None:
    add_heading(document, "Partnerships by type", level=1)
    if not content.partnerships:
        add_paragraph(document, "No partnership found.", italic=True)
        return
    known = list(types) + sorted({p.type or "" for p in content.partnerships} - set(types))
    for type_id in known:
        entries = [p for p in content.partnerships if (p.type or "") == type_id]
        if not entries:
            continue
        add_heading(document, PARTNERSHIP_TYPE_LABELS.get(type_id, label_of(type_id or None)),
                             level=2)
        for entry in entries:
            paragraph = add_paragraph(document, style="List Bullet")
            add_runs(paragraph, [(" + ".join(entry.parties) or "parties not recorded", "")])
            if entry.status and entry.status != "existing":
                add_runs(paragraph, [(f" ({entry.status})", "")])
            marks = _marks(entry.review_status)
            if marks:
                add_runs(paragraph, [(marks, "b")])


def _practices_section(document, content: CityContent) -> None:
    from pipeline.aggregate.tables import RATING_CRITERIA

    add_heading(document, "Good and promising practices", level=1)
    practices = [e for e in content.initiatives if e.verdict]
    if not practices:
        add_paragraph(document, "No initiative has been rated a good or promising practice "
                      "yet.", italic=True)
        return
    practices.sort(key=lambda e: (e.verdict != "good_practice", e.unreviewed,
                                  e.name.casefold(), e.id))
    header = ["initiative", "verdict", *(RATING_LABELS.get(c, c) for c in RATING_CRITERIA)]
    rows = [[entry.name + _marks(entry.review_status),
             VERDICT_LABELS.get(entry.verdict, entry.verdict),
             *(entry.ratings.get(c) or "" for c in RATING_CRITERIA)] for entry in practices]
    add_grid(document, header, rows)
    for entry in practices:
        if entry.justification:
            paragraph = add_paragraph(document)
            add_runs(paragraph, [(f"{entry.name}: ", "b"), (entry.justification, "")])


def _challenges_section(document, content: CityContent) -> None:
    add_heading(document, "Challenges", level=1)
    if not content.challenges:
        add_paragraph(document, "No challenge coded.", italic=True)
        return
    add_grid(document, ["challenge", "interviews (accepted)", "more interviews (unreviewed)"],
             [[c.label, str(c.accepted_interviews), str(c.unreviewed_interviews)]
              for c in content.challenges])


def dimension_gaps(content: CityContent, dimensions: list[str],
                   labels: dict[str, str]) -> list[str]:
    """Dimensions without a confirmed initiative, each with its unreviewed count if any."""
    gaps = []
    for dimension in dimensions:
        entries = content.in_dimension(dimension)
        if not any(not e.unreviewed for e in entries):
            label = labels.get(dimension, label_of(dimension))
            gaps.append(label + (f" ({len(entries)} unreviewed)" if entries else ""))
    return gaps


def _gaps_section(document, content: CityContent, dimensions: list[str],
                  labels: dict[str, str]) -> None:
    add_heading(document, "Dimensions with no initiative", level=1)
    gaps = dimension_gaps(content, dimensions, labels)
    if not gaps:
        add_paragraph(document, "Every dimension has at least one confirmed initiative.")
    for gap in gaps:
        add_paragraph(document, gap, style="List Bullet")


def _method_section(document, identify: bool) -> None:
    from pipeline.report.pseudonyms import __doc__ as pseudonym_rule

    add_heading(document, "How this report was made", level=1)
    add_paragraph(document, "Generated by cityqda from the project store; regenerate it "
                  "rather than edit it. Tables count accepted codings and confirmed "
                  "initiatives and partnerships only; the lists above also show unreviewed "
                  "findings, marked.")
    add_paragraph(document, PASSAGE_RULE)
    rule = " ".join((pseudonym_rule or "").split("\n\n", 1)[-1].split())
    add_paragraph(document, "Pseudonyms: " + rule)
    if identify:
        add_paragraph(document, "This copy names organisations and positions (--identify): "
                      "check the interviewees' consent before sharing it.", bold=True)


# --- documents --------------------------------------------------------------------------

@dataclass
class ReportSettings:
    study: object
    round: str | None
    identify: bool
    footer: str
    dimensions: list[str]
    labels: dict[str, str]
    partnership_types: list[str]
    charts: tuple[Path, str] | None = None  # chart cache folder and key salt (in a run)
    drawer: object = None  # pipeline.report.chart.ChartDrawer, when charts are drawn apart


@dataclass
class CityFigures:
    """What the cross-city summary shows of a city: enough to write the summary without
    the city's content (which is read and dropped one city at a time)."""
    city: str
    coding_counts: dict[str, int]
    entity_counts: dict[str, dict[str, int]]
    confirmed: list[int]  # initiatives per dimension, in the study's order
    unreviewed: list[int]
    gaps: list[str]


def city_figures(content: CityContent, settings: ReportSettings) -> CityFigures:
    confirmed, unreviewed = [], []
    for dimension in settings.dimensions:
        entries = content.in_dimension(dimension)
        confirmed.append(sum(not e.unreviewed for e in entries))
        unreviewed.append(sum(e.unreviewed for e in entries))
    return CityFigures(content.city, content.coding_counts, content.entity_counts, confirmed,
                       unreviewed, dimension_gaps(content, settings.dimensions,
                                                  settings.labels))


def chart_labels(dimensions: list[str], labels: dict[str, str]) -> list[str]:
    return [labels.get(d, label_of(d)) for d in dimensions]


def _chart_args(figures: list[CityFigures], settings: ReportSettings) -> tuple:
    """Labels, confirmed and unreviewed counts of the chart of these cities' figures."""
    confirmed = [sum(f.confirmed[i] for f in figures) for i in range(len(settings.dimensions))]
    unreviewed = [sum(f.unreviewed[i] for f in figures)
                  for i in range(len(settings.dimensions))]
    return chart_labels(settings.dimensions, settings.labels), confirmed, unreviewed


def _chart_for(figures: list[CityFigures], settings: ReportSettings) -> bytes:
    from pipeline.report.chart import cached_chart, dimension_chart

    if settings.charts is not None:
        return cached_chart(*settings.charts, *_chart_args(figures, settings),
                            drawer=settings.drawer)
    return dimension_chart(*_chart_args(figures, settings))


def _scope_text(settings: ReportSettings) -> str:
    scope = f"round {settings.round}" if settings.round is not None else "all rounds"
    return f"Study {settings.study.name}, {scope}. Coded summary generated by cityqda."


def opening_text(study, city: str, code: str | None) -> tuple[str | None, Problem | None]:
    """cities/<city>.md (the file's name may also be the city's slug or code, any case)."""
    folder = study.path("cities")
    if not folder.is_dir():
        return None, None
    wanted = _opening_names(city, code)
    for path in sorted(folder.glob("*.md")):
        if _opens(path, wanted):
            try:
                return path.read_text(encoding="utf-8-sig"), None
            except UnicodeDecodeError as exc:
                reason = f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at byte " \
                         f"{exc.start + 1})"
            except OSError as exc:
                reason = exc.strerror or str(exc)
            return None, Problem("CQ743", {"path": str(path), "problem": reason},
                                 file=str(path))
    return None, None


def _stray_openings(study, cities: list[str], register) -> list[Problem]:
    """CQ745 for each cities/*.md that opening_text gives to no city (a misspelt name
    would otherwise be left out of every report without a word)."""
    folder = study.path("cities")
    if not folder.is_dir() or not cities:
        return []
    wanted = set()
    for city in cities:
        wanted |= _opening_names(city, register.city_code(city) if city else None)
    return [Problem("CQ745", {"path": str(path), "example": f"{slug(cities[0])}.md",
                              "cities": ", ".join(cities)}, file=str(path))
            for path in sorted(folder.glob("*.md")) if not _opens(path, wanted)]


def _study_cities(scope) -> list[str]:
    """The cities of every active interview, whatever round or cities are reported."""
    from pipeline.aggregate.tables import city_sort_key

    return sorted({i.city for i in scope.all_interviews if i.city}, key=city_sort_key)


def _opening_names(city: str, code: str | None) -> set[str]:
    """The names a cities/*.md may have to open the city's report: the city, its slug or
    its code, any case."""
    return {city.casefold(), slug(city)} | ({code.casefold()} if code else set())


def _opens(path: Path, names: set[str]) -> bool:
    return path.stem.casefold() in names or slug(path.stem) in names


def write_city_report(path: Path, content: CityContent, settings: ReportSettings,
                      tables: dict, opening: str | None,
                      figures: CityFigures | None = None) -> None:
    document = new_document(f"{content.city}: coded summary")
    add_heading(document, f"{content.city}: coded summary", level=0)
    add_paragraph(document, _scope_text(settings), italic=True)
    if opening:
        add_markdown(document, opening)
    add_heading(document, "Review status", level=1)
    add_box(document, "Review status", review_box_lines(content.coding_counts,
                                                        content.entity_counts))
    _interviews_section(document, content, settings.identify)
    figures = figures or city_figures(content, settings)
    _dimensions_section(document, content, settings.dimensions, settings.labels,
                        _chart_for([figures], settings))
    _partnerships_section(document, content, settings.partnership_types)
    _practices_section(document, content)
    _challenges_section(document, content)
    _gaps_section(document, content, settings.dimensions, settings.labels)
    add_heading(document, "Tables", level=1)
    for name in sorted(tables, key=_table_order):
        rows = city_rows(tables[name], content.city)
        if rows is not None:
            add_result_table(document, tables[name], rows, wide_limit=CITY_WIDE_LIMIT)
    _method_section(document, settings.identify)
    set_footer(document, settings.footer)
    save_deterministic(document, path)


def write_summary(path: Path, figures: list[CityFigures], settings: ReportSettings,
                  tables: dict, city_files: dict[str, Path]) -> None:
    document = new_document("Cross-city summary", landscape=True)
    add_heading(document, "Cross-city summary", level=0)
    add_paragraph(document, _scope_text(settings), italic=True)
    add_heading(document, "Review status", level=1)
    coding_counts: dict[str, int] = {}
    entity_counts: dict[str, dict[str, int]] = {}
    for city in figures:
        for key, value in city.coding_counts.items():
            coding_counts[key] = coding_counts.get(key, 0) + value
        for name, counts in city.entity_counts.items():
            bucket = entity_counts.setdefault(name, {})
            for key, value in counts.items():
                bucket[key] = bucket.get(key, 0) + value
    add_box(document, "Review status (all cities)", review_box_lines(coding_counts,
                                                                     entity_counts))
    add_heading(document, "Initiatives by dimension", level=1)
    add_picture(document, _chart_for(figures, settings), width_cm=16)
    add_heading(document, "Dimensions with no initiative", level=1)
    for city in figures:
        add_paragraph(document, f"{city.city}: " + (", ".join(city.gaps) or "none"),
                      style="List Bullet")
    add_heading(document, "Tables", level=1)
    for name in sorted(tables, key=_table_order):
        table = tables[name]
        rows = list(table.rows) + ([list(table.totals)] if table.totals else [])
        add_result_table(document, table, rows, wide_limit=SUMMARY_WIDE_LIMIT)
    add_heading(document, "City reports", level=1)
    for city in sorted(city_files):
        add_paragraph(document, f"{city}: {city_files[city].name}", style="List Bullet")
    _method_section(document, settings.identify)
    set_footer(document, settings.footer)
    save_deterministic(document, path)


def _table_order(name: str) -> tuple[int, str]:
    from pipeline.aggregate.tables import TABLE_NAMES

    return (TABLE_NAMES.index(name) if name in TABLE_NAMES else len(TABLE_NAMES), name)


# --- PDF --------------------------------------------------------------------------------

def convert_to_pdf(paths: list[Path]) -> tuple[dict[Path, Path], list[Problem], str | None]:
    """PDFs beside the DOCX files with LibreOffice, in one process and a private profile
    (so it neither disturbs nor waits for a LibreOffice the user has open)."""
    soffice = shutil.which("soffice")
    if soffice is None:
        return {}, [], "PDF skipped: LibreOffice (soffice) is not installed"
    made: dict[Path, Path] = {}
    problems: list[Problem] = []
    by_folder: dict[Path, list[Path]] = {}
    for path in paths:
        by_folder.setdefault(path.parent, []).append(path)
        path.with_suffix(".pdf").unlink(missing_ok=True)  # never leave a stale PDF
    with tempfile.TemporaryDirectory(prefix="cityqda-lo-") as profile:
        for folder, group in sorted(by_folder.items()):
            try:
                result = subprocess.run(
                    [soffice, "--headless", "--norestore",
                     f"-env:UserInstallation={Path(profile).as_uri()}",
                     "--convert-to", "pdf", "--outdir", str(folder), *map(str, group)],
                    capture_output=True, text=True, timeout=PDF_TIMEOUT_SECONDS,
                    env={**os.environ, "HOME": profile})
                reason = (result.stderr or result.stdout).strip().splitlines()
                reason = reason[-1] if reason else f"exit code {result.returncode}"
            except (OSError, subprocess.TimeoutExpired) as exc:
                reason = str(exc)
            for path in group:
                pdf = path.with_suffix(".pdf")
                if pdf.is_file():
                    made[path] = pdf
                else:
                    problems.append(Problem("CQ744", {"path": str(path), "problem": reason},
                                            file=str(path)))
    return made, problems, None


# --- the entry points -------------------------------------------------------------------

def _codebook_label(conn, study) -> str:
    from pipeline.hashing import file_sha256
    from pipeline.store.schema import codebook_versions

    path = study.path("codebook")
    row = None
    if path.is_file():
        row = conn.execute(select(codebook_versions.c.codebook_id, codebook_versions.c.version)
                           .where(codebook_versions.c.sha256 == file_sha256(path))).first()
    if row is None:
        row = conn.execute(select(codebook_versions.c.codebook_id, codebook_versions.c.version)
                           .order_by(codebook_versions.c.id.desc())).first()
    return f"{row.codebook_id} {row.version}" if row else "none recorded"


def _choose_cities(reader: StudyReader, wanted: list[str] | None) -> list[str]:
    known = reader.cities()
    if not wanted:
        return known
    chosen = []
    for name in wanted:
        canonical = reader.scope.register.canonical_city(name) or name
        match = next((c for c in known if c.casefold() == canonical.casefold()), None)
        if match is None:
            raise CityQDAError("CQ741", city=name, known=", ".join(known) or "(none)")
        if match not in chosen:
            chosen.append(match)
    return chosen


KeepReport = Callable[[str, Path, str], bool]


def report_study(study, store, *, cities: list[str] | None = None, round: str | None = None,
                 identify: bool = False, out: Path | None = None, pdf: bool = True,
                 run_id: int | None = None, keep: KeepReport | None = None,
                 workers: int | None = None, tables: dict | None = None,
                 register=None, drawer=None,
                 read_states: Callable[..., dict] | None = None,
                 scope=None) -> ReportResult:
    """Write the reports; returns what was written. `run_id` is the run named in the
    footer (default: the latest run in the store), so rerunning `report` on an unchanged
    store gives identical bytes. Usage problems (unknown city or round) raise before
    anything is written. `keep(key, docx_path, content_fingerprint)` says when a report
    (and its PDF, when PDFs are wanted) may be left as it is. `workers`: processes to
    write city reports in (None: one per core when there are enough cities; 0: here).
    `tables`: the study tables of all rounds when the caller has them (the run's
    aggregate stage built them from the same store), so they are not computed again;
    `register`: the register when the caller has read and validated it (a run has);
    `drawer`: a ChartDrawer started ahead (start_chart_drawer), closed here;
    `read_states(conn, sources)`: how to read pipeline.store.interview_states (a run's
    RunMemory.interview_states keeps them for the manifest); `scope`: the scope of all
    rounds (pipeline.aggregate.tables.build_scope) when the caller built it from the same
    store and register (the run's aggregate stage did), used when no round is asked for."""
    result = ReportResult()
    if drawer is None and keep is not None:
        drawer = _chart_drawer()  # imports while the store is read
    try:
        written, kept = _read_and_write(
            study, store, result, cities=cities, round=round, identify=identify, out=out,
            pdf=pdf, run_id=run_id, keep=keep, workers=workers, tables=tables,
            register=register, drawer=drawer, read_states=read_states, scope=scope)
    finally:
        if drawer is not None:
            drawer.close()
    if pdf:
        made, problems, note = convert_to_pdf(written)
        result.problems.extend(problems)
        result.pdf_note = note
        for key, path in list(result.outputs.items()):
            if path in made:
                result.outputs[f"{key}_pdf"] = made[path]
            elif key in kept and path.with_suffix(".pdf").is_file():
                result.outputs[f"{key}_pdf"] = path.with_suffix(".pdf")
    else:
        result.pdf_note = "PDF not requested"
    return result


def _read_and_write(study, store, result: ReportResult, *, cities, round, identify, out,
                    pdf, run_id, keep, workers, tables, register, drawer,
                    read_states, scope) -> tuple[list[Path], list[str]]:
    from pipeline.aggregate.tables import build_scope, codebook_info, study_tables
    from pipeline.ingest.register import load_register
    from pipeline.report.pseudonyms import assign_pseudonyms
    from pipeline.store.schema import runs

    if register is None:
        register = load_register(study.path("register"), study.vocabularies)
    info = codebook_info(study)
    if info.problem is not None:
        result.problems.append(info.problem)
    with store.read() as conn:
        if scope is None or round is not None:
            scope = build_scope(conn, study, round=round, register=register)
        parsed = {i.id: i.metadata for i in scope.all_interviews}  # not parsed again
        reader = StudyReader(conn, study, scope, assign_pseudonyms(conn, register, parsed),
                             info.labels)
        chosen = _choose_cities(reader, cities)
        # against every city of the study, whichever cities and round this run reports
        result.problems.extend(_stray_openings(study, _study_cities(scope), register))
        if tables is None or round is not None:
            tables = study_tables(conn, study, round=round, register=register, scope=scope,
                                  codebook=info)
        if run_id is None:
            run_id = conn.execute(select(func.max(runs.c.id))).scalar_one()
        codebook_label = _codebook_label(conn, study)
        settings = ReportSettings(
            study=study, round=round, identify=identify,
            footer=(f"{study.name} · codebook {codebook_label} · run "
                    f"{run_id if run_id is not None else 'none'} · cityqda {__version__}"),
            dimensions=list(scope.dimensions), labels=info.labels,
            partnership_types=list(scope.partnership_types),
            charts=_chart_cache(study) if keep is not None else None, drawer=drawer)
        states = read_states(conn, SIGNATURE_STATE_SOURCES) if read_states else None
        digests = (kept_entity_digests(study, reader, chosen, run_id)
                   if keep is not None and run_id is not None else None)
        return _write_reports(study, store, register, reader, chosen, tables, settings,
                              result, codebook_label=codebook_label, round=round,
                              identify=identify, out=out, pdf=pdf, keep=keep,
                              workers=workers, states=states, entity_digests=digests)


def _write_reports(study, store, register, reader: StudyReader, chosen: list[str],
                   tables: dict, settings: ReportSettings, result: ReportResult, *,
                   codebook_label: str, round, identify: bool, out: Path | None, pdf: bool,
                   keep: KeepReport | None, workers: int | None,
                   states: dict | None = None,
                   entity_digests: dict | None = None) -> tuple[list[Path], list[str]]:
    """One city at a time: read its content, write (or keep) its report, keep only the
    figures the summary needs. Returns the DOCX files written and the keys kept."""
    folder = Path(out) if out is not None else study.path("outputs") / REPORTS_FOLDER
    suffix = (f"-round-{slug(str(round))}" if round is not None else "") + \
        ("-identified" if identify else "")
    written: list[Path] = []
    kept: list[str] = []
    city_files: dict[str, Path] = {}
    # What every report shares besides its own content (the footer's run number left out:
    # it names the run that wrote the file, which changes nothing else in it).
    shared = (study.name, round, identify, suffix, pdf, codebook_label, __version__,
              settings.dimensions, settings.labels, settings.partnership_types)

    def write_or_keep(key: str, path: Path, content_fingerprint: str, write) -> None:
        result.parts[key] = content_fingerprint
        result.outputs[key] = path
        if keep is not None and keep(key, path, content_fingerprint):
            kept.append(key)
            return
        write()
        written.append(path)

    from pipeline.report.incremental import package_state

    titles = {name: (tables[name].title, tables[name].columns, tables[name].notes,
                     tables[name].number_formats) for name in sorted(tables)}
    signatures = reader.input_signatures(chosen, shared, package_state(), states=states,
                                         entity_digests=entity_digests)
    grouped = rows_by_city(tables)
    cached = load_figures(study) if keep is not None else {}
    plans = []
    for city in chosen:
        code = register.city_code(city) if city else None
        opening, problem = opening_text(study, city, code)
        if problem is not None:
            result.problems.append(problem)
        key, path = f"report_{slug(city)}", folder / f"{slug(city)}{suffix}.docx"
        rows = rows_of_city(tables, grouped, city)
        part = _fingerprint("city", signatures[city], rows, titles, opening)
        result.parts[key] = part
        result.outputs[key] = path
        city_files[city] = path
        keeps = keep is not None and keep(key, path, part)
        plans.append((city, key, path, opening, part, keeps))
    todo = [plan for plan in plans if not (plan[5] and plan[4] in cached)]
    if len(todo) > 1:  # all at once (forked workers share them); one city reads its own
        reader.read_entities(None)
    figures: list[CityFigures] = []
    fresh: dict[str, CityFigures] = {}
    try:
        made = _cities_done(store, reader, todo, settings, tables, workers)
        try:
            for _city, key, path, _opening, part, keeps in plans:
                if keeps and part in cached:
                    figures.append(cached[part])
                    kept.append(key)
                    continue
                figures.append(next(made))
                fresh[part] = figures[-1]
                if keeps:
                    kept.append(key)
                else:
                    written.append(path)
        finally:
            made.close()  # stops the workers if a city failed
        path = folder / f"{SUMMARY_STEM}{suffix}.docx"
        write_or_keep("report_summary", path,
                      _fingerprint("summary", shared, figures, tables,
                                   {c: p.name for c, p in city_files.items()}),
                      lambda: write_summary(path, figures, settings, tables, city_files))
    except OSError as exc:
        raise CityQDAError("CQ740", path=os_error_path(exc, folder),
                           problem=exc.strerror or str(exc)) from exc
    if keep is not None:
        wanted = {part: (cached.get(part) or fresh[part])
                  for _c, _k, _p, _o, part, _keeps in plans}
        if wanted.keys() != cached.keys():  # else the file already holds these figures
            save_figures(study, wanted)
        from pipeline.report.chart import chart_key, prune_charts

        folder, salt = settings.charts
        prune_charts(folder, {chart_key(salt, *_chart_args(group, settings))
                              for group in [figures, *([f] for f in figures)]})
    result.cities = [f.city for f in figures]
    result.kept = len(kept)
    return written, kept


# Below this many cities to read, forking workers costs more than it saves.
MIN_PARALLEL_CITIES = 8


def _one_city(reader: StudyReader, plan: tuple, settings: ReportSettings,
              tables: dict) -> CityFigures:
    """Read one city's content, write its report unless it is kept, and return what the
    summary needs of it; the content is dropped after."""
    city, _key, path, opening, _part, keeps = plan
    content = reader.city_content(city)
    figures = city_figures(content, settings)
    if not keeps:
        write_city_report(path, content, settings, tables, opening, figures)
    return figures


def report_workers(workers: int | None, cities: int) -> int:
    """Processes to write city reports in: none (write here) unless fork is available and
    there are enough cities for it to pay."""
    if workers is None:
        workers = (os.cpu_count() or 1) if cities >= MIN_PARALLEL_CITIES else 0
    if workers < 2 or cities < 2 or not _fork_allowed():
        return 0
    return min(workers, cities)


def _fork_allowed() -> bool:
    import multiprocessing
    import sys

    return (sys.platform.startswith("linux")
            and "fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon)


def _chart_drawer(labels: list[str] | None = None):
    """A ChartDrawer (pipeline.report.chart) when matplotlib is not imported here yet and
    a process can be forked; else None (charts are drawn here)."""
    import sys

    if "matplotlib.figure" in sys.modules or not _fork_allowed():
        return None
    from pipeline.report.chart import ChartDrawer

    try:
        return ChartDrawer(labels)
    except OSError:
        return None


def _cities_done(store, reader: StudyReader, todo: list[tuple], settings: ReportSettings,
                 tables: dict, workers: int | None):
    """Each planned city's figures, in order. With workers, forked processes (sharing
    the reader's study-wide state read here, copy-on-write) read and write the cities,
    each with its own database connection; the bytes are those of the one-process path.
    The cross-city summary, the figures cache and the run memory stay with the caller."""
    count = report_workers(workers, len(todo))
    if not count:
        for plan in todo:
            yield _one_city(reader, plan, settings, tables)
        return
    import multiprocessing

    from pipeline.report.chart import load_matplotlib

    if settings.drawer is not None:  # the workers draw; a forked copy of it would not work
        settings.drawer.close()
        settings.drawer = None
    load_matplotlib()  # imported once here, not once per worker
    global _WORKER_JOB
    _WORKER_JOB = (reader, todo, settings, tables, store)
    try:
        with multiprocessing.get_context("fork").Pool(
                count, initializer=type(store).in_forked_worker, initargs=(store,)) as pool:
            yield from pool.imap(_worker_city, range(len(todo)), chunksize=1)
    finally:
        _WORKER_JOB = None


_WORKER_JOB: tuple | None = None  # (reader, todo, settings, tables, store), for forked workers


def _worker_city(index: int) -> CityFigures:
    reader, todo, settings, tables, store = _WORKER_JOB
    with store.read() as conn:
        reader.conn = conn
        return _one_city(reader, todo[index], settings, tables)


FIGURES_CACHE = "report-figures.json"
FIGURES_FORMAT = 1
ENTITIES_CACHE = "report-entities.json"
# What a city's entity digest is read from (StudyReader.entity_digests).
ENTITY_TABLES = ("actors", "initiative_actors", "initiatives", "partnership_parties",
                 "partnerships")


def kept_entity_digests(study, reader: StudyReader, cities: list[str],
                        run_id: int) -> dict[str, str]:
    """StudyReader.entity_digests of the cities, kept in .cityqda-cache from the previous
    run when the entity tables' change counters, the spellings' cities and the package
    are what they were: a rerun after a changed interview then reads no entity rows but
    the changed city's (~0.1 s at N = 1,000). The record names the run that wrote it and
    is used only by the next run in the same store (a store restored from a backup, then
    changed as many times, has the same counters but other rows)."""
    import json

    from pipeline.report.incremental import data_versions, package_state
    from pipeline.report.manifest import atomic_write_text
    from pipeline.store.schema import runs

    versions = data_versions(reader.conn)
    key = _fingerprint("entities", [versions.get(name) for name in ENTITY_TABLES],
                       sorted(reader.entity_cities().items(), key=repr), package_state())
    previous_run = reader.conn.execute(select(func.max(runs.c.id))
                                       .where(runs.c.id < run_id)).scalar()
    path = _figures_path(study).with_name(ENTITIES_CACHE)
    digests = None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if (previous_run is not None and data.get("run_id") == previous_run
                and data.get("key") == key and set(cities) <= set(data["digests"])):
            digests = {city: str(data["digests"][city]) for city in cities}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        pass
    if digests is None:
        digests = reader.entity_digests(cities)
    try:
        atomic_write_text(path, json.dumps({"key": key, "run_id": run_id,
                                            "digests": digests}, ensure_ascii=False))
    except OSError:
        pass  # a cache: the next run reads every entity
    return digests


def _chart_cache(study) -> tuple[Path, str]:
    from pipeline.nlp.build_cache import study_cache_dir
    from pipeline.report.chart import CHART_CACHE
    from pipeline.report.incremental import package_state

    return study_cache_dir(study.root) / CHART_CACHE, package_state()


def _figures_path(study) -> Path:
    from pipeline.nlp.build_cache import study_cache_dir

    return study_cache_dir(study.root) / FIGURES_CACHE


def load_figures(study) -> dict[str, CityFigures]:
    """Figures of the reports a run kept, by the report's fingerprint: a kept city's
    content is not read again, but the summary still shows its figures. A missing or
    unreadable cache only means the content is read."""
    import json

    try:
        data = json.loads(_figures_path(study).read_text(encoding="utf-8"))
        if data.get("format") != FIGURES_FORMAT:
            return {}
        return {part: CityFigures(**values) for part, values in data["figures"].items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def save_figures(study, figures: dict[str, CityFigures]) -> None:
    import json

    path = _figures_path(study)
    # vars(), not dataclasses.asdict: the fields are plain JSON values already, and
    # asdict deep-copies every list and dict (most of the time this took)
    text = json.dumps({"format": FIGURES_FORMAT,
                       "figures": {part: vars(f) for part, f in sorted(figures.items())}},
                      ensure_ascii=False, sort_keys=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=".cityqda-", suffix=".json", dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temp, 0o666 & ~mask)  # mkstemp makes private files
        os.replace(temp, path)
    except OSError:
        pass  # a cache: the next run reads the content instead


def _fingerprint(*parts) -> str:
    from pipeline.report.incremental import fingerprint

    return fingerprint(*parts)


def _stage_options(ctx) -> dict:
    """The options the report stage's fingerprint records: whether LibreOffice is there
    decides the outputs too."""
    return {"pdf": ctx.options.pdf, "soffice": bool(ctx.options.pdf and shutil.which("soffice"))}


def start_chart_drawer(ctx) -> None:
    """Before the aggregate stage of a rerun: when the report stage will have work (its
    fingerprint is not the previous run's), fork the ChartDrawer now, so that matplotlib
    (about 0.6 s) is imported on the other core while aggregate runs instead of while the
    report waits for its first chart. Not in a run without a previous report (a full
    run's city workers draw) nor when nothing the report reads changed."""
    from pipeline.report.incremental import memory_of

    memory = memory_of(ctx)
    before = memory.previous_stages.get("report")
    if not before or not before.get("parts"):
        return
    with ctx.store.read() as conn:
        now = memory.stage_fingerprint(conn, "report", **_stage_options(ctx))
    if now != before.get("fingerprint"):
        from pipeline.aggregate.tables import codebook_info

        dimensions = list(ctx.study.vocabularies["dimensions"])  # as build_scope has them
        ctx.chart_drawer = _chart_drawer(chart_labels(dimensions,
                                                      codebook_info(ctx.study).labels))


def _take_chart_drawer(ctx):
    """The drawer start_chart_drawer left on the run, now the caller's to close."""
    drawer = getattr(ctx, "chart_drawer", None)
    if drawer is not None:
        ctx.chart_drawer = None
    return drawer


def stage_report(ctx) -> None:
    """`cityqda run`: every city's report and the summary, footer naming the run that
    wrote it; skipped when nothing it reads changed, and a city whose report content is
    unchanged keeps its files (see the module doc)."""
    from pipeline.report.incremental import memory_of

    memory = memory_of(ctx)
    options = _stage_options(ctx)
    want_pdf = options["soffice"]
    drawer = _take_chart_drawer(ctx)
    stage_fingerprint = memory.unchanged_or_fingerprint(ctx, "report", **options)
    if stage_fingerprint is None:
        if drawer is not None:
            drawer.close()
        return
    previous = memory.parts("report")

    def keep(key: str, path: Path, content: str) -> bool:
        if previous.get(key) != content or not memory.intact(key, path):
            return False
        return not want_pdf or memory.intact(f"{key}_pdf", path.with_suffix(".pdf"))

    from pipeline.report.incremental import old_objects_frozen

    try:
        with old_objects_frozen():
            result = report_study(ctx.study, ctx.store, run_id=ctx.run_id,
                                  pdf=ctx.options.pdf, keep=keep, tables=ctx.tables,
                                  register=ctx.register, drawer=drawer,
                                  read_states=memory.interview_states,
                                  scope=ctx.scope)
    except CityQDAError as exc:  # e.g. a broken register, already reported by its stage
        seen = {p.render() for p in ctx.problems}
        ctx.problems.extend(p for p in exc.problems if p.render() not in seen)
        ctx.stage_lines.append("report: not written (see the errors)")
        return
    ctx.problems.extend(result.problems)
    ctx.outputs.update(result.outputs)
    ctx.counts["report_cities"] = len(result.cities)
    ctx.stage_lines.extend(result.lines())
    memory.record("report", stage_fingerprint, outputs=result.outputs,
                  counts={"report_cities": len(result.cities)}, problems=result.problems,
                  lines=result.lines(), parts=result.parts)
