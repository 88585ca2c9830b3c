"""Skipping what did not change when `cityqda run` is run again.

A PI reruns the whole study after every batch of interviews or decisions, so a rerun must
cost what changed, not what exists. Two levels, both keyed by fingerprints (SHA-256 of a
canonical JSON of everything that decides an output):

- a *stage* (code, agreement, aggregate, report) records the fingerprint of its inputs:
  the store's change counters (`data_versions`, raised by triggers on every write: exact,
  where counts and maximum ids miss in-place updates), the hashes of the study files it
  reads (cityqda.toml, register, codebook, actor registry, cities/*.md), its options and
  the cityqda version. When the previous run's record has the same fingerprint and each of
  its output files is still there with the hash it had, the stage does nothing and says
  "unchanged, skipped"; its outputs, counts and problems are carried over from that record
  so the manifest and the change report stay complete;
- inside a stage that does run, an output *part* (one city report with its PDF, one table
  file) records the fingerprint of the content it was written from; a part whose content is
  unchanged and whose file is intact is not rewritten. Content fingerprints leave out only
  what may differ without changing the content's meaning (the report footer's run number:
  a kept report names the run that last wrote it).

Records live in the run's manifest (`stages`, in runs.manifest and outputs/manifest.json);
the previous record is the latest earlier run's. A deleted or edited output, a changed
option or a new cityqda version simply means the work is done again, so a record can only
cost time, never correctness. Output hashes are reused from the record when a file's size
and modification time are unchanged (what make and git trust too).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import hashlib
import json
import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pipeline import __version__
from pipeline.errors import Problem
from pipeline.hashing import file_sha256

RECORD_FORMAT = 1


def fingerprint(*parts) -> str:
    """SHA-256 of the parts as canonical JSON (dataclasses as dicts, order kept)."""
    text = json.dumps(parts, ensure_ascii=False, default=_jsonable, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _jsonable(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # one level; json.dumps walks the rest (asdict deep-copies everything first)
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, Path):
        return value.as_posix()
    return repr(value)


def data_versions(conn: Connection) -> dict[str, int]:
    """The store's change counters (one per tracked table, see migrations m0003 and
    m0006: `data_versions` is a view since m0006)."""
    from pipeline.store.schema import data_versions as table

    return {row.table_name: row.version
            for row in conn.execute(select(table.c.table_name, table.c.version)
                                    .order_by(table.c.table_name))}


def study_files(study) -> list[Path]:
    """The study files the downstream stages read (besides the store)."""
    from pipeline.nlp.registry import registry_path_for

    paths = [study.root / "cityqda.toml", study.path("register"), study.path("codebook"),
             registry_path_for(study)]
    cities = study.path("cities")
    if cities.is_dir():
        paths += sorted(cities.glob("*.md"))
    return paths


@contextlib.contextmanager
def old_objects_frozen():
    """Leave the objects made before this block out of the garbage collector's full passes
    while it runs (gc.freeze). In a rerun the process holds millions of objects from the
    earlier stages (tables, rows, the codebook); each full pass over them cost 0.07-0.09
    CPU s at N = 1,000, and one or two fell inside the report or manifest. Nothing made
    before is released meanwhile; after the block they are collected as before."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


_PACKAGE_STATE: list[str] = []
PACKAGE_DATA = ("*.py", "*.yaml", "*.json")
DEPENDENCIES = ("spacy", "spacy-lookups-data", "python-docx", "openpyxl", "matplotlib",
                "SQLAlchemy", "pyarrow")


def package_state() -> str:
    """One hash of cityqda's own code and package data and of the versions of the
    libraries that shape outputs: a changed coder, table or report layout (even under the
    same version number, as while developing) is a changed input. About 10 ms, once."""
    if not _PACKAGE_STATE:
        root = Path(__file__).resolve().parents[1]
        digest = hashlib.sha256()
        for pattern in PACKAGE_DATA:
            for path in sorted(root.rglob(pattern)):
                digest.update(path.relative_to(root).as_posix().encode("utf-8"))
                digest.update(path.read_bytes())
        for name in DEPENDENCIES:
            digest.update(f"{name}={distribution_version(name) or '-'}".encode())
        _PACKAGE_STATE.append(digest.hexdigest())
    return _PACKAGE_STATE[0]


@functools.cache
def distribution_version(name: str) -> str | None:
    """An installed distribution's version (None when absent); each lookup scans the
    import path, so it is done once per process (the manifest asks for most again)."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def files_state(study, paths: list[Path]) -> dict[str, str | None]:
    state = {}
    for path in paths:
        key = relative_path(study, path)
        state[key] = file_sha256(path) if Path(path).is_file() else None
    return state


def relative_path(study, path: Path, resolved_folders: dict[str, str] | None = None) -> str:
    """The path as the manifest names it: resolved, relative to the study when inside it.
    `resolved_folders` remembers what each folder resolved to (a run resolves hundreds of
    outputs in a few folders; resolving walks every component with a system call), so
    only the file itself is checked for being a link."""
    text = os.fspath(path)
    folder, name = os.path.split(text)
    if resolved_folders is None or name in ("", ".", "..") or os.path.islink(text):
        resolved = os.path.realpath(text)
    else:
        real_folder = resolved_folders.get(folder)
        if real_folder is None:
            real_folder = resolved_folders[folder] = os.path.realpath(folder or ".")
        resolved = os.path.join(real_folder, name)
    try:
        return Path(resolved).relative_to(study.root).as_posix()
    except ValueError:
        return str(path)


class RunMemory:
    """What the previous run recorded and what this run records, for one `run`."""

    def __init__(self, study, previous_manifest: dict | None):
        self.study = study
        previous = previous_manifest or {}
        self.previous_manifest = previous
        ok_format = previous.get("stages_format") == RECORD_FORMAT
        self.previous_stages: dict[str, dict] = previous.get("stages", {}) if ok_format else {}
        self.previous_outputs: dict[str, dict] = previous.get("outputs", {}) or {}
        self.previous_tables = previous.get("tables")
        self.stages: dict[str, dict] = {}
        self.skipped: set[str] = set()
        self._files: dict[str, str | None] | None = None
        self._folders: dict[str, str] = {}  # folder -> resolved, for this run
        self._states: tuple[dict, tuple, dict] | None = None  # versions, sources, states

    # --- inputs -------------------------------------------------------------------------

    def files(self) -> dict[str, str | None]:
        """Hashes of the study files, read once per run (no stage writes them)."""
        if self._files is None:
            self._files = files_state(self.study, study_files(self.study))
        return self._files

    def interview_states(self, conn: Connection, sources: tuple[str, ...]) -> dict[int, list]:
        """pipeline.store.interview_states, read once per run while the store's change
        counters stay the same: the report's input signatures and the manifest's count
        record need the same grouped queries over the codings."""
        from pipeline.report.content import read_interview_states

        versions = data_versions(conn)
        if self._states is not None and self._states[0] == versions \
                and set(sources) <= set(self._states[1]):
            known, states = self._states[1], self._states[2]
            at = [known.index(name) for name in sources]
            found = {interview_id: [parts[i] for i in at]
                     for interview_id, parts in states.items()}
            return {i: parts for i, parts in found.items() if any(p is not None for p in parts)}
        states = read_interview_states(conn, sources)
        self._states = (versions, tuple(sources), states)
        return states

    def stage_fingerprint(self, conn: Connection, stage: str, *,
                          tables: tuple[str, ...] | None = None, **options) -> str:
        """`tables`: the only change counters the stage's work depends on (None: all)."""
        versions = data_versions(conn)
        if tables is not None:
            versions = {name: versions.get(name, 0) for name in tables}
        return fingerprint(stage, __version__, package_state(), versions, self.files(),
                           options)

    # --- outputs ------------------------------------------------------------------------

    def relative(self, path: Path) -> str:
        return relative_path(self.study, path, self._folders)

    def output_sha256(self, key: str, path: Path) -> str | None:
        """The file's hash; the previous record's when size and mtime are unchanged."""
        path = Path(path)
        try:
            stat = path.stat()
        except OSError:
            return None
        before = self.previous_outputs.get(key) or {}
        if (before.get("size") == stat.st_size and before.get("mtime_ns") == stat.st_mtime_ns
                and before.get("sha256") and before.get("path") == self.relative(path)):
            return before["sha256"]
        return file_sha256(path)

    def output_entry(self, key: str, path: Path) -> dict:
        """The manifest's entry for an output: path, hash, and the size and mtime that
        let the next run trust the hash without reading the file."""
        path = Path(path)
        entry = {"path": self.relative(path), "sha256": self.output_sha256(key, path)}
        if entry["sha256"] is None:
            return {**entry, "missing": True}
        stat = path.stat()
        return {**entry, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}

    def intact(self, key: str, path: Path) -> bool:
        """The output is there with the bytes the previous run recorded for it."""
        before = self.previous_outputs.get(key) or {}
        return (bool(before.get("sha256")) and before.get("path") == self.relative(path)
                and self.output_sha256(key, path) == before["sha256"])

    # --- stage records ------------------------------------------------------------------

    def skippable(self, stage: str, stage_fingerprint: str) -> dict | None:
        """The previous record of `stage` when it can stand for this run, else None."""
        record = self.previous_stages.get(stage)
        if not record or record.get("fingerprint") != stage_fingerprint:
            return None
        for key, relative in record.get("outputs", {}).items():
            if not self.intact(key, self.study.root / relative):
                return None
        return record

    def unchanged_or_fingerprint(self, ctx, stage: str, *,
                                 tables: tuple[str, ...] | None = None,
                                 **options) -> str | None:
        """None when `stage` can be skipped (its previous record is replayed into `ctx`),
        else the fingerprint this run records for it."""
        with ctx.store.read() as conn:
            stage_fingerprint = self.stage_fingerprint(conn, stage, tables=tables, **options)
        record = self.skippable(stage, stage_fingerprint)
        if record is None:
            return stage_fingerprint
        self.replay(ctx, stage, record, stage)
        return None

    def parts(self, stage: str) -> dict[str, str]:
        """Content fingerprints of the previous run's parts of `stage` (output key -> fp)."""
        return dict((self.previous_stages.get(stage) or {}).get("parts", {}))

    def record(self, stage: str, stage_fingerprint: str | None, *, outputs: dict[str, Path],
               counts: dict[str, int], problems: list[Problem], lines: list[str],
               parts: dict[str, str] | None = None) -> None:
        if stage_fingerprint is None:
            return
        self.stages[stage] = {
            "fingerprint": stage_fingerprint,
            "outputs": {key: self.relative(path) for key, path in sorted(outputs.items())},
            "counts": dict(sorted(counts.items())),
            "problems": [problem_state(p) for p in problems],
            "lines": list(lines),
            "parts": dict(sorted((parts or {}).items())),
        }

    def replay(self, ctx, stage: str, record: dict, label: str) -> None:
        """Carry a skipped stage's outputs, counts and problems into this run."""
        outputs = {key: self.study.root / relative
                   for key, relative in record.get("outputs", {}).items()}
        ctx.outputs.update(outputs)
        ctx.counts.update(record.get("counts", {}))
        problems = [p for p in (problem_from_state(s) for s in record.get("problems", []))
                    if p is not None]
        ctx.problems.extend(problems)
        ctx.stage_lines.append(f"{label}: unchanged, skipped")
        self.stages[stage] = dict(record)
        self.skipped.add(stage)


def problem_state(problem: Problem) -> dict:
    return {"code": problem.code, "fields": {k: _plain(v) for k, v in problem.fields.items()},
            "file": problem.file, "row": problem.row, "column": problem.column,
            "sheet": problem.sheet}


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def problem_from_state(state: dict) -> Problem | None:
    from pipeline.errors import ERRORS

    if state.get("code") not in ERRORS:
        return None
    return Problem(state["code"], dict(state.get("fields") or {}), file=state.get("file"),
                   row=state.get("row"), column=state.get("column"), sheet=state.get("sheet"))


def memory_of(ctx) -> RunMemory:
    """The run's memory; a blank one (nothing to skip, nothing kept) for a stage called
    on its own, as tests do."""
    memory = getattr(ctx, "memory", None)
    if memory is None:
        memory = RunMemory(ctx.study, None)
        try:
            ctx.memory = memory
        except AttributeError:
            pass
    return memory
