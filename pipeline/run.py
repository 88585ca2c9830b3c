"""`cityqda run`: every stage of the flow, in order, on one study.

Each stage is a plain function `stage(ctx) -> None` that adds problems and output paths to
the shared `RunContext`. A stage's input failures do not stop the later stages (the other
files still go through); they make the run exit 1. Stages are listed in `STAGES`; each issue
that adds a stage adds it here and to the run test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import update

from pipeline.aggregate.aggregate import stage_aggregate
from pipeline.errors import EXIT_INPUT, EXIT_OK, CityQDAError, Problem
from pipeline.report.report import stage_report
from pipeline.review.agreement import stage_agreement
from pipeline.review.inbox import stage_import_reviews
from pipeline.store import Store, open_study_store, utc_now
from pipeline.store.schema import runs
from pipeline.study import Study


@dataclass
class RunOptions:
    import_reviews: bool = True
    pdf: bool = True  # PDF copies of the reports when LibreOffice is installed


@dataclass
class RunContext:
    study: Study
    store: Store
    options: RunOptions
    run_id: int
    problems: list[Problem] = field(default_factory=list)
    outputs: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    stage_lines: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(p.spec.level == "error" for p in self.problems)


def stage_validate_guides(ctx: RunContext) -> None:
    from pipeline.ingest.guides import validate_guides

    problems = validate_guides(ctx.study.path("guides"), ctx.study.vocabularies)
    ctx.problems.extend(problems)
    errors = sum(p.spec.level == "error" for p in problems)
    ctx.stage_lines.append(f"guides: {ctx.study.path('guides')} "
                           f"({'valid' if not errors else f'{errors} error(s)'})")


def stage_validate_register(ctx: RunContext) -> None:
    from pipeline.ingest.register import validate_register

    path = ctx.study.path("register")
    problems = validate_register(path, ctx.study.vocabularies)
    ctx.problems.extend(problems)
    errors = sum(p.spec.level == "error" for p in problems)
    ctx.stage_lines.append(f"register: {path} "
                           f"({'valid' if not errors else f'{errors} error(s)'})")


def stage_ingest(ctx: RunContext) -> None:
    """Ingest the transcripts folder; per-interview warnings stay in `cityqda status`."""
    from pipeline.ingest.ingest import KEPT_PROBLEMS, ingest_study

    report = ingest_study(ctx.study, ctx.store, keep_all=False)
    for outcome in report.outcomes:
        if outcome.outcome in KEPT_PROBLEMS:
            ctx.problems.extend(outcome.problems)
    counts = report.counts()
    for name, count in counts.items():
        ctx.counts[f"ingest_{name}"] = count
    warned = report.warned
    line = f"ingest: {ctx.study.path('transcripts')}: {report.summary()}"
    if warned:
        line += f"; {warned} interview(s) with warnings (see `cityqda status`)"
    ctx.stage_lines.append(line)


def stage_code(ctx: RunContext) -> None:
    """Code the segments that need it (a broken codebook codes nothing: its problems are
    the run's)."""
    from pipeline.code_study import code_study

    report = code_study(ctx.study, ctx.store, run_id=ctx.run_id)
    ctx.problems.extend(report.problems)
    for name, count in report.counts().items():
        ctx.counts[f"code_{name}"] = count
    ctx.stage_lines.extend(report.lines())
    ctx.stage_lines.append(report.summary())


STAGES: list[tuple[str, Callable[[RunContext], None]]] = [
    ("guides", stage_validate_guides),
    ("register", stage_validate_register),
    ("ingest", stage_ingest),
    ("code", stage_code),
    ("import_reviews", stage_import_reviews),
    ("agreement", stage_agreement),
    ("aggregate", stage_aggregate),
    ("report", stage_report),
]


def _start_run(store: Store) -> int:
    with store.write() as conn:
        result = conn.execute(runs.insert().values(command="run", started_at=utc_now(),
                                                   status="running"))
        return int(result.inserted_primary_key[0])


def _finish_run(ctx: RunContext) -> None:
    """Close the run, then write its manifest (also into runs.manifest) and the change
    report since the previous run (pipeline.report.manifest)."""
    from pipeline.report.manifest import finish_manifest

    with ctx.store.write() as conn:
        conn.execute(update(runs).where(runs.c.id == ctx.run_id).values(
            finished_at=utc_now(), status="failed" if ctx.failed else "ok"))
    finish_manifest(ctx)
    if ctx.failed:
        with ctx.store.write() as conn:
            conn.execute(update(runs).where(runs.c.id == ctx.run_id).values(status="failed"))


def run_study(study: Study, options: RunOptions | None = None) -> RunContext:
    store = open_study_store(study)
    try:
        ctx = RunContext(study, store, options or RunOptions(), _start_run(store))
        for _name, stage in STAGES:
            try:
                stage(ctx)
            except CityQDAError as exc:
                ctx.problems.extend(exc.problems)
        _finish_run(ctx)
        return ctx
    finally:
        store.close()


def exit_code(ctx: RunContext) -> int:
    return EXIT_INPUT if ctx.failed else EXIT_OK
