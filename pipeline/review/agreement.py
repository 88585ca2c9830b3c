"""Agreement between coders who reviewed the same segments, read from the store.

The unit of every figure is named in the report. A coder *marks a code present on a segment*
when they accepted a coding of that code there, added a manual coding of it, or changed a
coding to it; the code is *absent* for that coder when they reviewed the segment (it was in a
workbook of theirs that came back, or they decided some coding on it) and did not mark it. A
coder whose only word on the code there is `discuss` has no rating for it (missing, not 0).
Adjudicators are left out: their rulings settle disputes and are not independent ratings.

Two units are reported: segment × code presence (the headline) and interview × code presence
(a code is present in an interview for a coder who marked it on any segment of it they saw).
Each is reported pooled over all codes, per dimension (a dimension is present when any of
its codes is) and per code, over all units and over the units marked present by anyone.
The statistics come from `agreement_stats`; bootstrap intervals resample units with a fixed
seed, so the same store always gives the same report.
"""

from __future__ import annotations

import io
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pipeline.errors import CityQDAError
from pipeline.review.agreement_stats import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    AgreementResult,
    RatingTable,
    agreement,
    pairwise_agreement,
)
from pipeline.store.schema import (
    codings,
    decisions,
    review_export_rows,
    review_exports,
    review_imports,
    segments,
)
from pipeline.xlsx_determinism import os_error_path

UNITS = {"segment": "segment × code presence", "interview": "interview × code presence"}
SUBSETS = {"all": "all units", "present": "units marked present by anyone"}
LEVELS = ("pooled", "dimension", "code")
HEADLINE = ("segment", "pooled", "all")
HEADLINE_NAME = ("Krippendorff's alpha (nominal) on segment × code presence, pooled over all "
                 "codes, all units")
NO_OVERLAP = "no segment was reviewed by two or more coders"
DEFAULT_OUT = "agreement.xlsx"
STATISTICS = ("prevalence", "percent_agreement", "cohen_kappa", "krippendorff_alpha")


@dataclass
class ReviewRatings:
    """What each coder saw and marked, as read from the store."""

    seen: dict[str, set[int]] = field(default_factory=dict)  # coder -> segment ids
    marked: dict[str, set[tuple[int, str]]] = field(default_factory=dict)  # (segment, code)
    undecided: dict[str, set[tuple[int, str]]] = field(default_factory=dict)  # discuss only
    group_of: dict[str, str] = field(default_factory=dict)  # code -> dimension or kind
    interview_of: dict[int, int] = field(default_factory=dict)  # segment -> interview
    suggested: dict[int, set[str]] = field(default_factory=dict)  # segment -> codes coded

    @property
    def coders(self) -> list[str]:
        return sorted(self.seen)

    def overlap(self) -> list[int]:
        """Segments two or more coders reviewed."""
        count: dict[int, int] = defaultdict(int)
        for units in self.seen.values():
            for segment_id in units:
                count[segment_id] += 1
        return sorted(s for s, n in count.items() if n >= 2)


def _imported_export_ids(conn: Connection) -> set[str]:
    return set(conn.execute(select(review_imports.c.export_id).distinct()).scalars())


def review_ratings(conn: Connection, coders: Iterable[str] | None = None) -> ReviewRatings:
    """Read the coders' marks and the segments they reviewed (role `coder` only)."""
    wanted = set(coders) if coders is not None else None
    ratings = ReviewRatings()

    def keep(coder: str) -> bool:
        return wanted is None or coder in wanted

    coding_rows = {}
    # codings folded into another by a codebook merge carry their decisions over there
    for row in conn.execute(select(codings.c.id, codings.c.segment_id, codings.c.code,
                                   codings.c.dimension, codings.c.kind,
                                   codings.c.interview_id)
                            .where(codings.c.merged_into.is_(None))):
        coding_rows[row.id] = row
        ratings.interview_of[row.segment_id] = row.interview_id
        group = row.dimension or row.kind
        ratings.group_of.setdefault(row.code, group)
    decided_on: dict[tuple[str, int, str], set[str]] = defaultdict(set)
    for row in conn.execute(select(decisions.c.coding_id, decisions.c.coder,
                                   decisions.c.decision, decisions.c.corrected_code)
                            .where(decisions.c.role == "coder")):
        coding = coding_rows.get(row.coding_id)
        if coding is None or not keep(row.coder):
            continue
        ratings.seen.setdefault(row.coder, set()).add(coding.segment_id)
        decided_on[(row.coder, coding.segment_id, coding.code)].add(row.decision)
        if row.decision == "change" and row.corrected_code:
            decided_on[(row.coder, coding.segment_id, row.corrected_code)].add("accept")
    for (coder, segment_id, code), found in decided_on.items():
        if "accept" in found:
            ratings.marked.setdefault(coder, set()).add((segment_id, code))
        elif found == {"discuss"}:
            ratings.undecided.setdefault(coder, set()).add((segment_id, code))

    imported = _imported_export_ids(conn)
    if imported:
        segment_of = dict(conn.execute(select(codings.c.id, codings.c.segment_id)).all())
        query = (select(review_exports.c.coder, review_export_rows.c.entity,
                        review_export_rows.c.entity_id)
                 .join(review_exports, review_exports.c.id == review_export_rows.c.export_id)
                 .where(review_exports.c.role == "coder",
                        review_export_rows.c.export_id.in_(sorted(imported)),
                        review_export_rows.c.entity.in_(("codings", "segments"))))
        for coder, entity, entity_id in conn.execute(query):
            if not keep(coder):
                continue
            if entity == "segments":
                segment_id = entity_id
            else:
                segment_id = segment_of.get(entity_id)
                if segment_id is None:
                    continue
            ratings.seen.setdefault(coder, set()).add(segment_id)

    missing = sorted({s for units in ratings.seen.values() for s in units}
                     - set(ratings.interview_of))
    for start in range(0, len(missing), 500):
        for segment_id, interview_id in conn.execute(
                select(segments.c.id, segments.c.interview_id)
                .where(segments.c.id.in_(missing[start:start + 500]))):
            ratings.interview_of[segment_id] = interview_id
    for row in coding_rows.values():
        ratings.suggested.setdefault(row.segment_id, set()).add(row.code)
    return ratings


@dataclass(frozen=True)
class AgreementRow:
    unit: str  # segment | interview
    level: str  # pooled | dimension | code
    group: str  # "" for pooled; the dimension (or challenge) for dimension and code rows
    code: str  # "" unless level == code
    subset: str  # all | present
    result: AgreementResult

    def as_dict(self) -> dict:
        return {"unit": UNITS[self.unit], "unit_key": self.unit, "level": self.level,
                "group": self.group or None, "code": self.code or None,
                "subset": SUBSETS[self.subset], "subset_key": self.subset,
                **self.result.as_dict()}


@dataclass
class AgreementReport:
    coders: list[str]
    overlap_segments: int
    resamples: int
    seed: int
    rows: list[AgreementRow] = field(default_factory=list)
    pairs: dict[tuple[str, str], AgreementResult] = field(default_factory=dict)
    reason: str | None = None  # why there is no report
    out: Path | None = None
    rule_quality: object | None = None  # rule_quality.RuleQuality, when asked for
    rule_outputs: dict[str, Path] = field(default_factory=dict)

    @property
    def compared(self) -> bool:
        return self.reason is None

    def row(self, unit: str, level: str, subset: str, key: str = "") -> AgreementRow | None:
        """One figure: `key` is the dimension for level "dimension", the code for "code"."""
        for row in self.rows:
            name = {"pooled": "", "dimension": row.group, "code": row.code}[row.level]
            if (row.unit, row.level, row.subset, name) == (unit, level, subset, key):
                return row
        return None

    @property
    def headline(self) -> AgreementRow | None:
        return self.row(*HEADLINE)

    def as_dict(self) -> dict:
        headline = self.headline
        return {
            "coders": self.coders,
            "overlap_segments": self.overlap_segments,
            "compared": self.compared,
            "reason": self.reason,
            "units": UNITS,
            "headline": {"name": HEADLINE_NAME, "unit": UNITS[HEADLINE[0]],
                         "statistic": "krippendorff_alpha",
                         **(headline.result.krippendorff_alpha.as_dict() if headline
                            else {"value": None, "reason": self.reason}),
                         "n_units": headline.result.n_units if headline else 0},
            "resamples": self.resamples,
            "seed": self.seed,
            "results": [row.as_dict() for row in self.rows],
            "pairs": [{"coders": list(pair), "unit": UNITS["segment"], **result.as_dict()}
                      for pair, result in sorted(self.pairs.items())],
            "output": str(self.out) if self.out else None,
            "rule_quality": self.rule_quality.as_dict() if self.rule_quality else None,
            "rule_quality_outputs": {k: str(v) for k, v in sorted(self.rule_outputs.items())},
        }

    def rule_lines(self, weakest: int = 5) -> list[str]:
        quality = self.rule_quality
        if quality is None:
            return []
        if not quality.reviewed:
            return ["rule quality: no reviewed suggestions yet"]
        lines = ["rule quality (precision = accepted / decided suggestions; weakest first):"]
        for row in quality.rule_rows()[:weakest]:
            rule, code, precision, decided = row[0], row[1], row[9], row[4]
            if precision is None:
                break
            lines.append(f"  {rule} ({code}): {precision:.2f} of {decided} decided")
        for name, path in sorted(self.rule_outputs.items()):
            if name == "xlsx":
                lines.append(f"wrote {path} (and CSV files beside it)")
        return lines

    def lines(self) -> list[str]:
        if not self.compared:
            return [f"agreement: not computed: {self.reason} "
                    f"(coders with reviews: {', '.join(self.coders) or 'none'})"]
        lines = [f"agreement: {len(self.coders)} coders ({', '.join(self.coders)}) reviewed "
                 f"{self.overlap_segments} segment(s) in common; units: "
                 f"{UNITS['segment']} (headline) and {UNITS['interview']}"]
        headline = self.headline
        if headline is not None:
            lines.append(f"headline: {HEADLINE_NAME} = "
                         f"{_figure(headline.result.krippendorff_alpha)} "
                         f"(n = {headline.result.n_units})")
        lines.append(f"{'unit':<10} {'level':<9} {'name':<28} {'subset':<8} {'n':>6} "
                     f"{'prev':>5} {'%agr':>5}  {'kappa [95% CI]':<22} alpha [95% CI]")
        for row in self.rows:
            if row.level == "code":
                continue
            r = row.result
            name = row.group if row.level == "dimension" else "(all codes)"
            lines.append(f"{row.unit:<10} {row.level:<9} {name[:28]:<28} {row.subset:<8} "
                         f"{r.n_units:>6} {_number(r.prevalence.value):>5} "
                         f"{_number(r.percent_agreement.value):>5}  "
                         f"{_figure(r.cohen_kappa):<22} {_figure(r.krippendorff_alpha)}")
        codes = sum(1 for row in self.rows if row.level == "code") // 4
        lines.append(f"per-code figures for {codes} code(s) are in the JSON and XLSX reports")
        for (a, b), r in sorted(self.pairs.items()):
            lines.append(f"pair {a} / {b}: n = {r.n_units}, kappa {_figure(r.cohen_kappa)}")
        if self.out is not None:
            lines.append(f"wrote {self.out}")
        return lines


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _figure(estimate) -> str:
    if estimate.value is None:
        return "n/a"
    if estimate.ci_low is None:
        return f"{estimate.value:.3f}"
    return f"{estimate.value:.3f} [{estimate.ci_low:.2f}, {estimate.ci_high:.2f}]"


def _tables(ratings: ReviewRatings, unit: str, codes: list[str]
            ) -> dict[tuple[str, str, str], RatingTable]:
    """Rating tables keyed (level, group, code) for one unit kind."""
    coders = ratings.coders
    overlap = set(ratings.overlap())
    seen: dict[str, set] = {}
    marked: dict[str, set] = {}
    undecided: dict[str, set] = {}
    for coder in coders:
        mine = {s for s in ratings.seen[coder] if s in overlap}
        if unit == "segment":
            seen[coder] = mine
            marked[coder] = {m for m in ratings.marked.get(coder, ()) if m[0] in mine}
            undecided[coder] = set(ratings.undecided.get(coder, ()))
        else:
            seen[coder] = {ratings.interview_of[s] for s in mine}
            marked[coder] = {(ratings.interview_of[s], c)
                             for s, c in ratings.marked.get(coder, ()) if s in mine}
            undecided[coder] = set()
    groups: dict[str, list[str]] = defaultdict(list)
    for code in codes:
        groups[ratings.group_of.get(code) or "(none)"].append(code)

    records: dict[tuple[str, str, str], list] = defaultdict(list)
    for coder in coders:
        for unit_id in sorted(seen[coder]):
            present_groups = set()
            for code in codes:
                if (unit_id, code) in marked[coder]:
                    value = 1
                    present_groups.add(ratings.group_of.get(code) or "(none)")
                elif (unit_id, code) in undecided[coder]:
                    value = None
                else:
                    value = 0
                group = ratings.group_of.get(code) or "(none)"
                records[("code", group, code)].append((unit_id, coder, value))
                records[("pooled", "", "")].append(((unit_id, code), coder, value))
            for group in groups:
                records[("dimension", group, "")].append(
                    (unit_id, coder, 1 if group in present_groups else 0))
    return {key: RatingTable.from_records(rows) for key, rows in records.items()}


def _present_only(table: RatingTable) -> RatingTable:
    present = {unit for (unit, _coder), value in table.ratings.items() if value == 1}
    return RatingTable({key: value for key, value in table.ratings.items()
                        if key[0] in present})


def compute_agreement(ratings: ReviewRatings, *, resamples: int = DEFAULT_RESAMPLES,
                      seed: int = DEFAULT_SEED) -> AgreementReport:
    """Every figure of the report from what the coders saw and marked."""
    coders = ratings.coders
    overlap = ratings.overlap()
    report = AgreementReport(coders, len(overlap), resamples, seed)
    if len(coders) < 2 or not overlap:
        report.reason = (f"fewer than two coders have reviews ({len(coders)})"
                         if len(coders) < 2 else NO_OVERLAP)
        return report
    overlap_set = set(overlap)
    codes = sorted({c for marks in ratings.marked.values() for s, c in marks
                    if s in overlap_set}
                   | {c for s in overlap for c in ratings.suggested.get(s, ())})
    order = {level: i for i, level in enumerate(LEVELS)}
    for unit in UNITS:
        tables = _tables(ratings, unit, codes)
        for (level, group, code), table in sorted(tables.items(),
                                                  key=lambda kv: (order[kv[0][0]], kv[0])):
            for subset in SUBSETS:
                chosen = table if subset == "all" else _present_only(table)
                report.rows.append(AgreementRow(unit, level, group, code, subset, agreement(
                    chosen, resamples=resamples, seed=seed)))
        if unit == "segment" and len(coders) > 2:
            report.pairs = pairwise_agreement(tables[("pooled", "", "")],
                                              resamples=resamples, seed=seed)
    return report


def agreement_report(study, store, *, coders: Iterable[str] | None = None,
                     resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                     out: Path | None = None, write: bool = True,
                     rules: bool = True) -> AgreementReport:
    """Compute the report from the study's store; write the XLSX when coders overlap.

    `out` defaults to outputs/agreement.xlsx; nothing is written when `write` is False or
    when there is nothing to compare. With `rules`, rule quality (precision and recall of
    the coding rules, pipeline.review.rule_quality) is computed as well and written to
    outputs/ when any suggestion was reviewed.
    """
    from pipeline.review.rule_quality import rule_quality, write_rule_quality

    with store.read() as conn:
        ratings = review_ratings(conn, coders)
        quality = rule_quality(conn) if rules else None
    adjudicators = {c.id for c in study.coders if c.role == "adjudicator"}
    for coder in adjudicators & set(ratings.seen):
        ratings.seen.pop(coder)  # an adjudicator's workbook rows are not independent
        ratings.marked.pop(coder, None)
        ratings.undecided.pop(coder, None)
    report = compute_agreement(ratings, resamples=resamples, seed=seed)
    report.rule_quality = quality
    target = Path(out) if out is not None else study.path("outputs") / DEFAULT_OUT
    try:
        if write and quality is not None and quality.reviewed:
            report.rule_outputs = write_rule_quality(quality, study.path("outputs"))
        if write and report.compared:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_agreement_xlsx(report, target)
            report.out = target
    except OSError as exc:
        raise CityQDAError("CQ602", path=os_error_path(exc, target),
                           problem=exc.strerror or str(exc)) from exc
    return report


SUMMARY_COLUMNS = ["item", "value"]
RESULT_COLUMNS = ["unit", "level", "dimension", "code", "subset", "n_units", "n_coders",
                  "n_ratings", "prevalence", "percent_agreement", "percent_agreement_low",
                  "percent_agreement_high", "cohen_kappa", "cohen_kappa_low",
                  "cohen_kappa_high", "krippendorff_alpha", "krippendorff_alpha_low",
                  "krippendorff_alpha_high", "undefined_resamples_alpha", "note"]
PAIR_COLUMNS = ["coder_a", "coder_b", "unit", "n_units", "percent_agreement", "cohen_kappa",
                "cohen_kappa_low", "cohen_kappa_high", "krippendorff_alpha", "note"]


def _result_cells(result: AgreementResult) -> list:
    cells = [result.n_units, result.n_coders, result.n_ratings, result.prevalence.value]
    for name in ("percent_agreement", "cohen_kappa", "krippendorff_alpha"):
        estimate = getattr(result, name)
        cells += [estimate.value, estimate.ci_low, estimate.ci_high]
    cells.append(result.krippendorff_alpha.undefined_resamples)
    notes = []
    for name in ("cohen_kappa", "krippendorff_alpha"):
        estimate = getattr(result, name)
        if estimate.value is None and estimate.reason:
            notes.append(f"{name}: {estimate.reason}")
        elif estimate.ci_low is None and estimate.ci_reason:
            notes.append(f"{name} interval: {estimate.ci_reason}")
    cells.append("; ".join(notes) or None)
    return cells


def report_tables(report: AgreementReport) -> dict[str, tuple[list[str], list[list]]]:
    """The report as sheets of plain cells (also used for the XLSX)."""
    headline = report.headline
    alpha = headline.result.krippendorff_alpha if headline else None
    summary = [
        ["headline", HEADLINE_NAME],
        ["headline value", alpha.value if alpha else None],
        ["headline 95% CI low", alpha.ci_low if alpha else None],
        ["headline 95% CI high", alpha.ci_high if alpha else None],
        ["headline units", headline.result.n_units if headline else 0],
        ["unit", UNITS["segment"] + " (headline); " + UNITS["interview"]],
        ["coders", ", ".join(report.coders)],
        ["segments reviewed by two or more coders", report.overlap_segments],
        ["bootstrap resamples", report.resamples],
        ["bootstrap seed", report.seed],
        ["present", "a coder accepted, added or changed to a coding of the code there"],
        ["absent", "the coder reviewed the segment and did not mark the code"],
        ["missing", "the coder did not review the segment, or only chose discuss"],
    ]
    results = [[UNITS[row.unit], row.level, row.group or None, row.code or None,
                SUBSETS[row.subset], *_result_cells(row.result)] for row in report.rows]
    pairs = []
    for (a, b), r in sorted(report.pairs.items()):
        cells = _result_cells(r)
        pairs.append([a, b, UNITS["segment"], r.n_units, r.percent_agreement.value,
                      r.cohen_kappa.value, r.cohen_kappa.ci_low, r.cohen_kappa.ci_high,
                      r.krippendorff_alpha.value, cells[-1]])
    return {"Summary": (SUMMARY_COLUMNS, summary), "Agreement": (RESULT_COLUMNS, results),
            "Pairs": (PAIR_COLUMNS, pairs)}


def write_tables_xlsx(tables: dict[str, tuple[list[str], list[list]]], path: Path) -> None:
    """Sheets of plain cells as an XLSX whose bytes depend only on the cells."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING

    from pipeline.xlsx_determinism import write_ooxml_zip

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, (columns, rows) in tables.items():
        sheet = workbook.create_sheet(title)
        sheet.append(columns)
        for row in rows:
            sheet.append(row)
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = TYPE_STRING  # never a formula
        sheet.freeze_panes = "A2"
        for index, column in enumerate(columns, start=1):
            letter = sheet.cell(row=1, column=index).column_letter
            sheet.column_dimensions[letter].width = max(10, min(60, len(column) + 2))
    workbook.properties.creator = "cityqda"
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as package:
        parts = {info.filename: package.read(info) for info in package.infolist()}
    write_ooxml_zip(path, parts)


def write_agreement_xlsx(report: AgreementReport, path: Path) -> None:
    write_tables_xlsx(report_tables(report), path)


# What the agreement report and rule quality read. Until a decision or a review import is
# stored, nothing is compared and nothing written, whatever the codings are: so the run's
# stage then depends on the review tables only, and recoding an interview does not make
# the next run read every coding again (30 s at N = 1,000 under load).
REVIEW_TABLES = ("decisions", "review_export_rows", "review_exports", "review_imports")
AGREEMENT_TABLES = (*REVIEW_TABLES, "codings", "segments")


def _has_reviews(conn: Connection) -> bool:
    return any(conn.execute(select(table.c.id).limit(1)).first() is not None
               for table in (decisions, review_imports))


def stage_agreement(ctx) -> None:
    """`run` stage: the agreement report when two or more coders overlap, else why not.
    Skipped when nothing it reads changed since the last run and its files are intact
    (pipeline.report.incremental): the same store gives the same report."""
    from pipeline.report.incremental import memory_of

    memory = memory_of(ctx)
    with ctx.store.read() as conn:
        reviewed = _has_reviews(conn)
    stage_fingerprint = memory.unchanged_or_fingerprint(
        ctx, "agreement", tables=AGREEMENT_TABLES if reviewed else REVIEW_TABLES)
    if stage_fingerprint is None:
        return
    if reviewed:
        report = agreement_report(ctx.study, ctx.store)
    else:  # what agreement_report finds in a store nobody reviewed, without reading it
        report = compute_agreement(ReviewRatings())
    outputs = {}
    if report.out is not None:
        outputs["agreement"] = report.out
    for name, path in report.rule_outputs.items():
        outputs[f"rule_quality_{name}"] = path
    ctx.outputs.update(outputs)
    lines = []
    headline = report.headline
    if report.compared and headline is not None:
        lines.append(
            f"agreement: {', '.join(report.coders)} on {report.overlap_segments} segment(s); "
            f"{HEADLINE_NAME} = {_figure(headline.result.krippendorff_alpha)}; "
            f"wrote {report.out}")
    else:
        lines.append(f"agreement: not computed: {report.reason}")
    quality = report.rule_quality
    if quality is not None and quality.reviewed:
        lines.append(f"agreement: rule quality of {len(quality.rules)} rule(s) "
                     f"written to {report.rule_outputs.get('xlsx')}")
    ctx.stage_lines.extend(lines)
    memory.record("agreement", stage_fingerprint, outputs=outputs, counts={}, problems=[],
                  lines=lines)
