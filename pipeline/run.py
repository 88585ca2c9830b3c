"""`cityqda run`: every stage of the flow, in order, on one study.

Each stage is a plain function `stage(ctx) -> None` that adds problems and output paths to
the shared `RunContext`. A stage's input failures do not stop the later stages (the other
files still go through); they make the run exit 1. Stages are listed in `STAGES`; each issue
that adds a stage adds it here and to the run test.

A rerun costs what changed: code, agreement, aggregate and report skip themselves when
nothing they read changed since the previous run, and rewrite only the outputs whose
content changed (pipeline.report.incremental, records kept in the run's manifest). Each
stage's wall and CPU seconds are reported (`times:` line) so users see where time goes.
Stage modules are imported when their stage runs, which keeps `cityqda --help` light.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import update

from pipeline.coding.tagger_process import start_tagger_process, stop_tagger_processes
from pipeline.errors import EXIT_INPUT, EXIT_OK, CityQDAError, Problem
from pipeline.package_data import trust_package_data
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
    memory: object = None  # pipeline.report.incremental.RunMemory
    tables: dict | None = None  # the aggregate tables, when the aggregate stage built them
    scope: object = None  # the aggregate stage's scope of all rounds, with its tables
    register: object = None  # the register as the register stage read it, when valid
    seconds: dict[str, tuple[float, float]] = field(default_factory=dict)  # wall, CPU
    refused: set[str] = field(default_factory=set)  # stages that stopped with an error

    @property
    def failed(self) -> bool:
        return any(p.spec.level == "error" for p in self.problems)


def _cache_dir(ctx: RunContext) -> Path:
    from pipeline.nlp.build_cache import study_cache_dir

    return study_cache_dir(ctx.study.root)


def stage_validate_guides(ctx: RunContext) -> None:
    from pipeline.ingest.guides import validate_guides

    problems = validate_guides(ctx.study.path("guides"), ctx.study.vocabularies,
                               cache_dir=_cache_dir(ctx))  # kept between runs
    ctx.problems.extend(problems)
    errors = sum(p.spec.level == "error" for p in problems)
    ctx.stage_lines.append(f"guides: {ctx.study.path('guides')} "
                           f"({'valid' if not errors else f'{errors} error(s)'})")


def stage_validate_register(ctx: RunContext) -> None:
    """Validate the register; a valid one is kept for the later stages (aggregate reads
    it again otherwise: a second second at N = 1,000)."""
    from pipeline.ingest.register import read_register

    path = ctx.study.path("register")
    register, problems = read_register(path, ctx.study.vocabularies,
                                       cache_dir=_cache_dir(ctx))  # kept between runs
    ctx.problems.extend(problems)
    errors = sum(p.spec.level == "error" for p in problems)
    if not errors and register is not None:
        ctx.register = register
    ctx.stage_lines.append(f"register: {path} "
                           f"({'valid' if not errors else f'{errors} error(s)'})")


def stage_ingest(ctx: RunContext) -> None:
    """Ingest the transcripts folder; per-interview warnings stay in `cityqda status`."""
    from pipeline.ingest.ingest import ingest_study

    report = ingest_study(ctx.study, ctx.store, keep_all=False,
                          register=ctx.register)  # read once per run
    for outcome in report.outcomes:
        ctx.problems.extend(outcome.to_act_on())
    counts = report.counts()
    for name, count in counts.items():
        ctx.counts[f"ingest_{name}"] = count
    warned = report.warned
    line = f"ingest: {ctx.study.path('transcripts')}: {report.summary()}"
    if warned:
        line += f"; {warned} interview(s) with warnings (see `cityqda status`)"
    ctx.stage_lines.append(line)


# What decides whether `code` has work: the segments, their coding state and the codebook
# history (besides the study files and the package). Review tables (decisions, manual
# codings, exports, memos, entity decisions, the audit log) are left out: coding never
# starts from them, so importing workbooks does not cost the next run a tagger build.
CODE_INPUT_TABLES = ("codebook_changes", "codebook_versions", "interview_versions",
                     "interviews", "segment_coding", "segments")


def stage_code(ctx: RunContext) -> None:
    """Code the segments that need it (a broken codebook codes nothing: its problems are
    the run's).

    Coding is idempotent: run again on the store it left, with the same codebook, registry
    and coder, it finds no work. So the fingerprint recorded is the one *after* coding, and
    a run that finds the same one (nothing ingested, edited or retired since) skips the
    stage without loading spaCy, the codebook or the registry. A coding run with problems
    (segments changed meanwhile) is not recorded: the next run retries them."""
    from pipeline.report.incremental import memory_of

    memory = memory_of(ctx)
    if memory.unchanged_or_fingerprint(ctx, "code", tables=CODE_INPUT_TABLES) is None:
        return
    from pipeline.code_study import code_study

    report = code_study(ctx.study, ctx.store, run_id=ctx.run_id,
                        meanwhile=later_stage_imports())
    ctx.problems.extend(report.problems)
    for name, count in report.counts().items():
        ctx.counts[f"code_{name}"] = count
    ctx.stage_lines.extend(report.lines())
    ctx.stage_lines.append(report.summary())
    if not report.problems:
        with ctx.store.read() as conn:
            after = memory.stage_fingerprint(conn, "code", tables=CODE_INPUT_TABLES)
        memory.record("code", after, outputs={}, counts={}, problems=[], lines=[])


# What the stages after `code` import in a rerun, imported while `code` waits for the
# tagger process (later_stage_imports).
LATER_STAGE_MODULES = ("pipeline.review.agreement", "pipeline.aggregate.aggregate",
                       "pipeline.aggregate.cache", "pipeline.store.interview_states",
                       "pyarrow", "pyarrow.parquet", "concurrent.futures.thread",
                       "pipeline.report.report", "pipeline.report.content")


def later_stage_imports() -> list[Callable[[], None]]:
    """Imports of the later stages (numpy, pyarrow, the report's modules), for `code` to
    run while its tagger is being built in the other process, so this process's core is
    not left idle. Not the report's chart drawer: a third busy process would slow the
    build being waited for."""
    return [functools.partial(_import_quietly, name) for name in LATER_STAGE_MODULES]


def _import_quietly(name: str) -> None:
    import importlib

    try:
        importlib.import_module(name)
    except Exception:  # noqa: BLE001 - the stage that imports it reports the failure
        pass


def stage_import_reviews(ctx: RunContext) -> None:
    from pipeline.review.inbox import stage_import_reviews as stage

    stage(ctx)


def stage_agreement(ctx: RunContext) -> None:
    from pipeline.review.agreement import stage_agreement as stage

    stage(ctx)


def _outputs_held_back(ctx: RunContext, name: str) -> bool:
    """When coding was refused (a broken codebook codes nothing), the datasets and reports
    are not rewritten: new interviews would show no codes and the outputs would mix the
    refused state with the last good one. outputs/ keeps the last good run's files."""
    if "code" not in ctx.refused:
        return False
    ctx.stage_lines.append(f"{name}: not run, because coding was refused (errors above); "
                           "outputs/ still holds the last good run's files")
    return True


def stage_aggregate(ctx: RunContext) -> None:
    if _outputs_held_back(ctx, "aggregate"):
        return
    from pipeline.aggregate.aggregate import stage_aggregate as stage
    from pipeline.report.report import start_chart_drawer

    start_chart_drawer(ctx)  # matplotlib is imported on the other core meanwhile
    stage(ctx)


def stage_report(ctx: RunContext) -> None:
    if _outputs_held_back(ctx, "report"):
        return
    from pipeline.report.report import stage_report as stage

    stage(ctx)


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


def _memory(study: Study, store: Store, run_id: int):
    from pipeline.report.incremental import RunMemory
    from pipeline.report.manifest import load_manifest, previous_run_id

    with store.read() as conn:
        previous = load_manifest(conn, previous_run_id(conn, run_id))
    return RunMemory(study, previous)


def _timed(ctx: RunContext, name: str, action: Callable[[], None]) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        action()
    finally:
        ctx.seconds[name] = (time.perf_counter() - wall, time.process_time() - cpu)


def times_line(seconds: dict[str, tuple[float, float]]) -> str:
    """`times: ingest 0.40 s (0.31 CPU), code 2.10 s (1.20 CPU), ...`: wall seconds, and
    the CPU seconds of this process (PDF conversion and tagging workers run in other
    processes), which say more than wall time on a busy machine."""
    parts = [f"{name} {wall:.2f} s ({cpu:.2f} CPU)" for name, (wall, cpu) in seconds.items()]
    wall = sum(w for w, _c in seconds.values())
    cpu = sum(c for _w, c in seconds.values())
    return f"times: {', '.join(parts)}; total {wall:.2f} s wall, {cpu:.2f} s CPU"


def run_study(study: Study, options: RunOptions | None = None) -> RunContext:
    started = time.perf_counter(), time.process_time()
    start_tagger_process(study)  # builds the tagger meanwhile when coding looks small
    try:
        store = open_study_store(study)
        try:
            ctx = RunContext(study, store, options or RunOptions(), _start_run(store))
            ctx.memory = _memory(study, store, ctx.run_id)
            trust_package_data(_cache_dir(ctx))  # its data files' schema check, once
            ctx.seconds["open"] = (time.perf_counter() - started[0],
                                   time.process_time() - started[1])
            for name, stage in STAGES:
                try:
                    _timed(ctx, name, lambda stage=stage: stage(ctx))
                except CityQDAError as exc:
                    ctx.problems.extend(exc.problems)
                    ctx.refused.add(name)
            _timed(ctx, "manifest", lambda: _finish_run(ctx))
            ctx.stage_lines.append(times_line(ctx.seconds))
            return ctx
        finally:
            store.close()
    finally:
        stop_tagger_processes()  # when no stage took it


def exit_code(ctx: RunContext) -> int:
    return EXIT_INPUT if ctx.failed else EXIT_OK
