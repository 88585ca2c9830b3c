"""`cityqda aggregate` and the run's aggregate stage: datasets, tables and cross-checks.

Everything under `outputs/` is regenerated from the store and the register, so the files
are written whole every time (each beside its target, then renamed) and their bytes depend
only on the data: two runs on the same store give identical files. What counts (accepted
codings only, or accepted plus undecided suggestions) and which rounds are in the file
names. A failing cross-check does not stop the files from being written (the team needs
them to find the fault) but is an error in the report, so the command exits 1.

In `cityqda run` the stage is skipped when nothing it reads changed since the last run, and
a file whose table content is unchanged (same fingerprint, file intact) is not rewritten
(pipeline.report.incremental): the bytes would be the same.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.aggregate.checks import cross_checks
from pipeline.aggregate.datasets import (
    WIDE_FIXED_COLUMNS,
    dataset_stream,
    rendered_datasets,
)
from pipeline.aggregate.tables import (
    TABLE_NAMES,
    build_scope,
    codebook_info,
    study_tables,
)
from pipeline.aggregate.writing import (
    DatasetWriter,
    parquet_available,
    write_csv,
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
    scope: object = field(default=None, repr=False)  # of all rounds (tables.build_scope)
    register_ok: bool = True
    parts: dict[str, str] = field(default_factory=dict)  # output key -> content fingerprint
    kept: int = 0  # files left as they were (content unchanged)
    rendered: int = 0  # interviews whose dataset rows were rendered (not from the cache)

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
                 + (f", {warnings} warning(s)" if warnings else "")
                 + (f"; {self.kept} unchanged file(s) kept" if self.kept else "")
                 + ("; no accepted coding yet, so the datasets and tables count nothing: "
                    "have coders review the suggestions (`cityqda review export --coder "
                    "ID`), or pass --include-suggested to `cityqda aggregate`"
                    if self.selection == "accepted" and self.counts.get("interviews")
                    and not self.counts.get("coded_passages") else "")]
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


_TABLE_DIGESTS: dict[int, tuple[object, str]] = {}


def _table_digest(table) -> str:
    """SHA-256 of everything in one table (rows streamed, not copied); computed once per
    table object, since its CSV, XLSX and Parquet files all ask."""
    import hashlib
    import json

    known = _TABLE_DIGESTS.get(id(table))
    if known is not None and known[0] is table:
        return known[1]
    digest = hashlib.sha256()
    head = [table.name, table.title, table.columns, table.notes, table.totals,
            sorted(table.number_formats.items())]
    digest.update(json.dumps(head, ensure_ascii=False, default=repr).encode("utf-8"))
    encode = json.JSONEncoder(ensure_ascii=False, default=repr).encode
    for row in table.rows:
        digest.update(b"\n")
        digest.update(encode(row).encode("utf-8"))
    _TABLE_DIGESTS.clear()  # only the tables of the file being written are asked twice
    _TABLE_DIGESTS[id(table)] = (table, digest.hexdigest())
    return _TABLE_DIGESTS[id(table)][1]


def table_fingerprint(kind: str, tables: list) -> str:
    """What a table file of `kind` is written from, as one SHA-256."""
    import hashlib

    digest = hashlib.sha256(kind.encode("utf-8"))
    for table in tables:
        digest.update(_table_digest(table).encode("ascii"))
    return digest.hexdigest()


KeepFile = Callable[[str, Path, str], bool]


def _write(report: AggregateReport, key: str, path: Path, writer,
           content: tuple[str, list] | None = None, keep: KeepFile | None = None) -> None:
    if content is not None and keep is not None:
        report.parts[key] = table_fingerprint(*content)
        if keep(key, path, report.parts[key]):
            report.outputs[key] = path
            report.kept += 1
            return
    try:
        writer(path)
    except OSError as exc:
        raise CityQDAError("CQ720", path=str(path), problem=exc.strerror or str(exc)) from exc
    report.outputs[key] = path


def _write_datasets(report: AggregateReport, source, out: Path, label: str,
                    keep: KeepFile | None, *, parquet_values: bool = False,
                    pool: Executor | None = None) -> Callable[[], dict[str, int]]:
    """Write both datasets as `source` yields them, interview by interview: rendered
    chunks (`rendered_datasets`), or rows (`dataset_stream`, with `parquet_values`); a
    file whose content fingerprint `keep` accepts is left as it was. The Parquet files are
    written by `pool` when given (pyarrow leaves the GIL while it encodes, so the study
    tables are built meanwhile). Returns the function that waits for them, drops the
    scratch files and gives the row counts: call it in any case, while the store's
    connection is open (pipeline.aggregate.writing.ParquetNeedsValues comes from it)."""
    kinds = ("csv", "xlsx", "parquet") if parquet_available() else ("csv", "xlsx")
    writers: list[DatasetWriter] = []
    jobs: list[tuple[Path, Future]] = []

    def finished() -> dict[str, int]:
        try:
            for path, job in jobs:
                try:
                    job.result()
                except OSError as exc:
                    raise CityQDAError("CQ720", path=str(path),
                                       problem=exc.strerror or str(exc)) from exc
        finally:
            wait([job for _path, job in jobs])
            for writer in writers:
                writer.close()
        return {writer.head.name: writer.count for writer in writers}

    target = out
    try:
        for head, flags_from in ((source.long, None),
                                 (source.wide, len(WIDE_FIXED_COLUMNS))):
            paths = {kind: out / f"{head.name}-{label}.{kind}" for kind in kinds}
            target = paths["csv"]
            writers.append(DatasetWriter(head, paths, flags_from=flags_from,
                                         parquet_values=parquet_values,
                                         shells=getattr(source, "shells", None)))
        long_writer, wide_writer = writers
        if parquet_values:
            for long_rows, wide_rows in source.chunks:
                long_writer.add(long_rows)
                wide_writer.add(wide_rows)
        else:
            for interview_id, long_chunk, wide_chunk in source.chunks:
                long_writer.add_chunk(long_chunk, tag=interview_id)
                wide_writer.add_chunk(wide_chunk, tag=interview_id)
            for writer in writers:
                writer.end_chunks()
            source.release()
        for writer in writers:
            for kind in kinds:
                key = f"{writer.head.name}_{kind}"
                target = writer.paths[kind]
                report.parts[key] = writer.fingerprint(kind)
                if keep is not None and keep(key, target, report.parts[key]):
                    report.kept += 1
                elif kind == "parquet" and pool is not None:
                    jobs.append((target, pool.submit(writer.finish, kind)))
                else:
                    writer.finish(kind)
                    if not parquet_values and kind in writer.placed:
                        source.record(writer.head.name, kind, target, writer.placed[kind])
                report.outputs[key] = target
    except OSError as exc:
        finished_quietly(finished)
        raise CityQDAError("CQ720", path=str(target), problem=exc.strerror or str(exc)) \
            from exc
    except BaseException:
        finished_quietly(finished)
        raise
    finally:
        if not parquet_values:
            source.release()
    return finished


def finished_quietly(finished: Callable[[], object]) -> None:
    """Wait for and clean up after background writes when an error is already on its
    way (theirs would only hide it)."""
    try:
        finished()
    except Exception:  # noqa: BLE001 - the error being raised says what went wrong
        pass


def _datasets(report: AggregateReport, conn, study, *, include_suggested: bool, scope,
              codebook, out: Path, keep: KeepFile | None, cache, pool: Executor,
              read_states: Callable[..., dict] | None = None
              ) -> tuple[Callable[[], dict[str, int]], dict[int, dict[str, int]]]:
    """Both datasets from rendered chunks (cached per interview in `cache`, a ChunkCache,
    when given); from rows when Parquet needs the values themselves. Returns the function
    that waits for the files and gives the row counts (see `_write_datasets`), and each
    interview's challenge counts (pipeline.aggregate.tables.challenge_counts), kept with
    the chunks so the challenges table reads only what changed."""
    from pipeline.aggregate.writing import ParquetNeedsValues

    label = file_label(include_suggested)
    source = rendered_datasets(conn, study, include_suggested=include_suggested,
                               scope=scope, codebook=codebook, cache=cache,
                               parquet=parquet_available(), read_states=read_states)
    finished = _write_datasets(report, source, out, label, keep, pool=pool)
    report.rendered = len(source.rendered)

    def counts() -> dict[str, int]:
        try:
            return finished()
        except ParquetNeedsValues:
            stream = dataset_stream(conn, study, include_suggested=include_suggested,
                                    scope=scope, codebook=codebook)
            report.rendered = len(scope.interviews)
            return _write_datasets(report, stream, out, label, keep, parquet_values=True)()

    return counts, source.challenges


def _chunk_cache(study):
    from pipeline.aggregate.cache import ChunkCache
    from pipeline.nlp.build_cache import study_cache_dir

    return ChunkCache(study_cache_dir(study.root))


def aggregate_study(study, store: Store, *, round: str | None = None,
                    include_suggested: bool = False, run_id: int | None = None,
                    out: Path | None = None,
                    register_problems: bool = True,
                    keep: KeepFile | None = None, cache: bool = True,
                    register=None,
                    read_states: Callable[..., dict] | None = None) -> AggregateReport:
    """Write the coded datasets and the study's tables into `out` (default: the study's
    outputs folder) and cross-check them; a broken register is reported (unless
    `register_problems` is False: `run` reports it in its register stage already), and the
    datasets are still written. `keep(key, path, content_fingerprint)` says when a file
    may be left as it is (`run`: same content as last time and the file intact). With
    `cache`, an interview's dataset rows are rendered again only when they changed
    (pipeline.aggregate.cache); the files are the same either way. `register`: the
    register already read (by the run's register stage), else it is read here.
    `read_states`: see pipeline.aggregate.datasets.rendered_datasets."""
    from pipeline.aggregate.tables import load_study_register
    from pipeline.ingest.register import Register

    out = Path(out) if out is not None else study.path("outputs")
    report = AggregateReport(round=None if round is None else str(round),
                             selection=file_label(include_suggested).replace("-", " "))
    register_broken = False
    try:
        register = load_study_register(study, register)
    except CityQDAError as exc:
        if round is not None:
            raise CityQDAError.from_problems(exc.problems) from exc
        register_broken = True
        if register_problems:
            report.problems.extend(exc.problems)
        register = Register(path=study.path("register"), rows=[], cities=[])
    chunk_cache = _chunk_cache(study) if cache else None
    try:
        codebook = codebook_info(study, kept=chunk_cache)
        if codebook.problem is not None:
            report.problems.append(codebook.problem)
        with store.read() as conn, ThreadPoolExecutor(max_workers=1) as pool:
            scope = build_scope(conn, study, round=round, register=register)
            all_scope = scope if round is None else build_scope(conn, study,
                                                                register=register)
            try:
                out.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CityQDAError("CQ720", path=str(out), problem=exc.strerror or str(exc)) \
                    from exc
            dataset_counts, challenge_counts = _datasets(
                report, conn, study, include_suggested=include_suggested, scope=all_scope,
                codebook=codebook, out=out, keep=keep, cache=chunk_cache, pool=pool,
                read_states=read_states)
            try:
                tables = study_tables(conn, study, scope=scope,
                                      include_suggested=include_suggested, codebook=codebook,
                                      challenge_counts=challenge_counts)
                checked = cross_checks(conn, study, tables, scope=scope)
            except BaseException:
                finished_quietly(dataset_counts)
                raise
            counts = dataset_counts()
            # an unreadable register is not an empty one: its own errors say what is wrong
            report.problems.extend(p for p in checked
                                   if not (register_broken and p.code == "CQ730"))
        if chunk_cache is not None:
            chunk_cache.commit(store)
    finally:
        if chunk_cache is not None:
            chunk_cache.close()
    label = file_label(include_suggested)
    if not parquet_available():
        report.problems.append(Problem("CQ731", {"what": "the coded datasets"}))
    tables_stem = f"tables-{label}-{scope_label(round)}"
    ordered = [tables[name] for name in TABLE_NAMES]
    _write(report, "tables_xlsx", out / f"{tables_stem}.xlsx",
           lambda p: write_xlsx(ordered, p), ("xlsx", ordered), keep)
    for table in ordered:
        _write(report, f"table_{table.name}_csv", out / tables_stem / f"{table.name}.csv",
               lambda p, t=table: write_csv(t, p), ("csv", [table]), keep)
    report.counts = {
        "coded_passages": counts["coded_long"],
        "segments": counts["coded_wide"],
        "interviews": len(scope.interviews),
        "initiatives": sum(tables["initiatives_by_dimension"].column("distinct_initiatives")),
        "partnerships": sum(tables["partnerships_by_type"].column("total")),
    }
    report.tables = tables
    report.scope = all_scope
    report.register_ok = not register_broken
    return report


def stage_aggregate(ctx) -> None:
    """The run's aggregate stage: all rounds, accepted codings, into outputs/; skipped
    when nothing it reads changed, and unchanged files are kept (see the module doc)."""
    from pipeline.aggregate.writing import parquet_available
    from pipeline.report.incremental import memory_of

    memory = memory_of(ctx)
    stage_fingerprint = memory.unchanged_or_fingerprint(ctx, "aggregate",
                                                        parquet=parquet_available())
    if stage_fingerprint is None:
        return
    previous = memory.parts("aggregate")

    def keep(key: str, path: Path, content: str) -> bool:
        return previous.get(key) == content and memory.intact(f"aggregate_{key}", path)

    report = aggregate_study(ctx.study, ctx.store, run_id=ctx.run_id,
                             register_problems=False, keep=keep,
                             register=getattr(ctx, "register", None),
                             read_states=memory.interview_states)
    ctx.problems.extend(report.problems)
    outputs = {f"aggregate_{name}": path for name, path in report.outputs.items()}
    counts = {f"aggregate_{name}": count for name, count in report.counts.items()}
    ctx.outputs.update(outputs)
    ctx.counts.update(counts)
    if report.register_ok:
        ctx.tables = report.tables
        ctx.scope = report.scope
    ctx.stage_lines.append(report.lines()[0])
    memory.record("aggregate", stage_fingerprint, outputs=outputs, counts=counts,
                  problems=report.problems, lines=report.lines()[:1], parts=report.parts)
