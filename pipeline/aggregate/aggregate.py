"""`cityqda aggregate` and the run's aggregate stage: datasets, tables and cross-checks.

Everything under `outputs/` is regenerated from the store and the register, so the files
are written whole every time (each beside its target, then renamed) and their bytes depend
only on the data: two runs on the same store give identical files. What counts (accepted
codings only, or accepted plus undecided suggestions) and which rounds are in the file
names. A failing cross-check does not stop the files from being written (the team needs
them to find the fault) but is an error in the report, so the command exits 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.aggregate.checks import cross_checks
from pipeline.aggregate.datasets import coded_long, coded_wide
from pipeline.aggregate.tables import (
    TABLE_NAMES,
    build_scope,
    codebook_info,
    study_tables,
)
from pipeline.aggregate.writing import (
    parquet_available,
    write_csv,
    write_parquet,
    write_xlsx,
)
from pipeline.errors import CityQDAError, Problem
from pipeline.store import Store


@dataclass
class AggregateReport:
    outputs: dict[str, Path] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    round: str | None = None
    selection: str = "accepted"
    tables: dict = field(default_factory=dict, repr=False)  # name -> ResultTable

    @property
    def failed(self) -> bool:
        return any(p.spec.level == "error" for p in self.problems)

    def lines(self) -> list[str]:
        scope = f"round {self.round}" if self.round is not None else "all rounds"
        errors = sum(p.spec.level == "error" for p in self.problems)
        warnings = len(self.problems) - errors
        counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.counts.items())
        lines = [f"aggregate: {len(self.outputs)} file(s) ({self.selection} codings, {scope}): "
                 f"{counts}; cross-checks "
                 + ("passed" if not errors else f"failed ({errors} error(s))")
                 + (f", {warnings} warning(s)" if warnings else "")]
        lines += [f"  {path}" for _key, path in sorted(self.outputs.items())]
        return lines

    def as_dict(self) -> dict:
        return {"outputs": {k: str(v) for k, v in sorted(self.outputs.items())},
                "counts": dict(self.counts), "round": self.round,
                "selection": self.selection,
                "problems": [p.as_dict() for p in self.problems]}


def file_label(include_suggested: bool) -> str:
    return "accepted-and-suggested" if include_suggested else "accepted"


def scope_label(round: str | None) -> str:
    if round is None:
        return "all-rounds"
    safe = "".join(ch if ch.isalnum() or ch in "._" else "_" for ch in str(round))
    return f"round-{safe}"


def _write(report: AggregateReport, key: str, path: Path, writer) -> None:
    try:
        writer(path)
    except OSError as exc:
        raise CityQDAError("CQ720", path=str(path), problem=exc.strerror or str(exc)) from exc
    report.outputs[key] = path


def aggregate_study(study, store: Store, *, round: str | None = None,
                    include_suggested: bool = False, run_id: int | None = None,
                    out: Path | None = None,
                    register_problems: bool = True) -> AggregateReport:
    """Write the coded datasets and the study's tables into `out` (default: the study's
    outputs folder) and cross-check them; a broken register is reported (unless
    `register_problems` is False: `run` reports it in its register stage already), and the
    datasets are still written."""
    from pipeline.aggregate.tables import load_study_register
    from pipeline.ingest.register import Register

    out = Path(out) if out is not None else study.path("outputs")
    report = AggregateReport(round=None if round is None else str(round),
                             selection=file_label(include_suggested).replace("-", " "))
    register_broken = False
    try:
        register = load_study_register(study)
    except CityQDAError as exc:
        if round is not None:
            raise CityQDAError.from_problems(exc.problems) from exc
        register_broken = True
        if register_problems:
            report.problems.extend(exc.problems)
        register = Register(path=study.path("register"), rows=[], cities=[])
    codebook = codebook_info(study)
    if codebook.problem is not None:
        report.problems.append(codebook.problem)
    with store.read() as conn:
        scope = build_scope(conn, study, round=round, register=register)
        all_scope = scope if round is None else build_scope(conn, study, register=register)
        tables = study_tables(conn, study, scope=scope, include_suggested=include_suggested,
                              codebook=codebook)
        checked = cross_checks(conn, study, tables, scope=scope)
        # an unreadable register is not an empty one: its own errors say what is wrong
        report.problems.extend(p for p in checked
                               if not (register_broken and p.code == "CQ730"))
        datasets = [coded_long(conn, study, include_suggested=include_suggested,
                               scope=all_scope, codebook=codebook),
                    coded_wide(conn, study, include_suggested=include_suggested,
                               scope=all_scope, codebook=codebook)]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CityQDAError("CQ720", path=str(out), problem=exc.strerror or str(exc)) from exc
    label = file_label(include_suggested)
    with_parquet = parquet_available()
    for dataset in datasets:
        stem = f"{dataset.name}-{label}"
        _write(report, f"{dataset.name}_csv", out / f"{stem}.csv",
               lambda p, t=dataset: write_csv(t, p))
        _write(report, f"{dataset.name}_xlsx", out / f"{stem}.xlsx",
               lambda p, t=dataset: write_xlsx([t], p))
        if with_parquet:
            _write(report, f"{dataset.name}_parquet", out / f"{stem}.parquet",
                   lambda p, t=dataset: write_parquet(t, p))
    if not with_parquet:
        report.problems.append(Problem("CQ731", {"what": "the coded datasets"}))
    tables_stem = f"tables-{label}-{scope_label(round)}"
    ordered = [tables[name] for name in TABLE_NAMES]
    _write(report, "tables_xlsx", out / f"{tables_stem}.xlsx",
           lambda p: write_xlsx(ordered, p))
    for table in ordered:
        _write(report, f"table_{table.name}_csv", out / tables_stem / f"{table.name}.csv",
               lambda p, t=table: write_csv(t, p))
    report.counts = {
        "codings": len(datasets[0].rows),
        "segments": len(datasets[1].rows),
        "interviews": len(scope.interviews),
        "initiatives": sum(tables["initiatives_by_dimension"].column("distinct_initiatives")),
        "partnerships": sum(tables["partnerships_by_type"].column("total")),
    }
    report.tables = tables
    return report


def stage_aggregate(ctx) -> None:
    """The run's aggregate stage: all rounds, accepted codings, into outputs/."""
    report = aggregate_study(ctx.study, ctx.store, run_id=ctx.run_id,
                             register_problems=False)
    ctx.problems.extend(report.problems)
    for name, path in report.outputs.items():
        ctx.outputs[f"aggregate_{name}"] = path
    for name, count in report.counts.items():
        ctx.counts[f"aggregate_{name}"] = count
    ctx.stage_lines.append(report.lines()[0])
