"""The run manifest (outputs/manifest.json and runs.manifest) and what changed since the last run.

A PI regenerating tables after a batch of interviews or decisions needs to know which
inputs produced them and what moved. The manifest records input hashes, the codebook,
package versions, counts, output hashes and problems; it also keeps a snapshot of the
interviews, the last audit-log event and every aggregate table cell, so the next run can
say which interviews are new, changed or retired, who decided what since, and which cells
moved. It is the only data file that carries timestamps.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from pipeline.errors import Problem
from pipeline.hashing import file_sha256
from pipeline.report.incremental import RECORD_FORMAT, distribution_version, relative_path
from pipeline.store.schema import (
    actors,
    codebook_versions,
    codings,
    decisions,
    events,
    initiatives,
    interviews,
    partnerships,
    review_imports,
    runs,
    segments,
)

MANIFEST_NAME = "manifest.json"
CHANGES_NAME = "changes.md"
MANIFEST_FORMAT = 1
# distribution names whose versions make a run reproducible
PACKAGES = ("cityqda", "spacy", "spacy-lookups-data", "python-docx", "openpyxl",
            "python-calamine", "SQLAlchemy", "matplotlib")
STDERR_CELL_LINES = 20
KEY_COLUMNS_MAX = 2


def _file_entry(study, path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        return {"path": relative_path(study, path), "sha256": None, "missing": True}
    return {"path": relative_path(study, path), "sha256": file_sha256(path)}


def package_versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        found[name] = distribution_version(name)
    return found


# What the counts count, written into every manifest beside them (a key with <...> names a
# family). The store's counts cover every interview and city; the aggregate's count what the
# datasets and tables count; the others, what this run's stages did. A coding is one
# coder's (or the rules') coding record, so a passage two coders coded alike is two codings
# but one coded passage, as the datasets, tables and city reports count it.
COUNT_NOTES = {
    "interviews_<status>": "interviews in the store by status (active, retired)",
    "segments_current": "current segments in the store, of every interview (retired ones "
                        "included)",
    "codings_<status>": "coding records in the store by derived status, every interview "
                        "and segment (retired ones included); a passage several coders "
                        "coded alike is one record per coder",
    "decisions": "review decisions in the store, one per coder and coding",
    "<entity>_<status>": "actors, initiatives and partnerships in the store by review "
                         "status, planned and existing ones, every city",
    "aggregate_coded_passages": "rows of coded_long: accepted passages of active "
                                "interviews' current segments, each once however many "
                                "coders coded it alike (the city reports' review box "
                                "counts the same way)",
    "aggregate_segments": "rows of coded_wide: the current segments of active interviews, "
                          "coded or not",
    "aggregate_interviews": "active interviews in the tables (the interviewees table's "
                            "total)",
    "aggregate_initiatives": "the total of initiatives_by_dimension's distinct_initiatives: "
                             "confirmed existing initiatives with a dimension, each once "
                             "per city (initiatives_confirmed also counts planned ones and "
                             "ones with no dimension)",
    "aggregate_partnerships": "the total of partnerships_by_type: confirmed existing "
                              "partnerships, each once per city (planned ones are listed "
                              "apart, not counted)",
    "ingest_<outcome>": "transcript files by what this run's ingest did with them "
                        "(ingested, unchanged, updated, renamed, missing, failed...)",
    "code_<count>": "what this run's coding did: interviews and segments it looked at, "
                    "segments coded, codings new, updated or no longer produced (absent "
                    "when nothing needed coding)",
    "reviews_<outcome>": "returned workbooks in reviews/inbox this run imported or refused",
    "report_cities": "city reports this run wrote (the cross-city summary not counted)",
}


def _interview_snapshot(conn: Connection) -> dict[str, dict]:
    rows = conn.execute(select(interviews.c.id, interviews.c.file, interviews.c.path,
                               interviews.c.version, interviews.c.status,
                               interviews.c.sha256).order_by(interviews.c.id))
    return {str(r.id): {"file": r.file, "path": r.path, "version": r.version,
                        "status": r.status, "sha256": r.sha256} for r in rows}


def coding_status_counts(conn: Connection, interview_ids: list[int] | None = None) -> Counter:
    """How many codings have each derived status (pipeline.coding.decisions): codings
    nobody decided on are counted by SQLite (suggested while produced, superseded after,
    merged when folded into another); only decided ones are derived one by one, so an
    unreviewed 150,000-coding study costs one grouped query, not 150,000 derivations."""
    return sum(_status_counts_by_interview(conn, interview_ids).values(), Counter())


def _status_counts_by_interview(conn: Connection,
                                interview_ids: list[int] | None = None) -> dict[int, Counter]:
    """coding_status_counts per interview, of all interviews or of the ones given."""
    if interview_ids is None:
        return _status_counts_of(conn, lambda query: query)
    counts: dict[int, Counter] = {}
    for start in range(0, len(interview_ids), ID_CHUNK):
        chunk = interview_ids[start:start + ID_CHUNK]
        counts.update(_status_counts_of(
            conn, lambda query, chunk=chunk: query.where(codings.c.interview_id.in_(chunk))))
    return counts


def _status_counts_of(conn: Connection, restrict) -> dict[int, Counter]:
    from pipeline.coding.decisions import derive_status

    counts: dict[int, Counter] = defaultdict(Counter)
    merged = codings.c.merged_into.is_not(None)
    decided_ids = select(decisions.c.coding_id)
    for interview_id, produced, is_merged, n in conn.execute(restrict(
            select(codings.c.interview_id, codings.c.produced, merged, func.count())
            .where(codings.c.id.not_in(decided_ids))
            .group_by(codings.c.interview_id, codings.c.produced, merged))):
        counts[interview_id][derive_status(bool(produced), (), bool(is_merged))] += n
    decided: dict[int, list] = defaultdict(list)
    for coding_id, role, decision in conn.execute(restrict(
            select(decisions.c.coding_id, decisions.c.role, decisions.c.decision)
            .join(codings, codings.c.id == decisions.c.coding_id)
            .order_by(decisions.c.time, decisions.c.id))):
        decided[coding_id].append((role, decision))
    if decided:
        for coding_id, interview_id, produced, is_merged in conn.execute(restrict(
                select(codings.c.id, codings.c.interview_id, codings.c.produced, merged)
                .where(codings.c.id.in_(decided_ids)))):
            counts[interview_id][derive_status(bool(produced), decided[coding_id],
                                               bool(is_merged))] += 1
    return dict(counts)


# Per interview, what its codings' statuses are derived from (see
# pipeline.store.interview_states): its codings, their decisions and its in-place change
# counter. An interview whose state is the one the previous run recorded keeps the status
# counts recorded with it.
CODING_STATE_SOURCES = ("codings", "decisions", "interview_changes")
COUNTS_CACHE = "manifest-coding-counts.json"
COUNTS_CACHE_FORMAT = 1
ID_CHUNK = 500  # ids per IN list, well under SQLite's variable limit


def _coding_states(conn: Connection, memory=None) -> dict[int, str]:
    """`memory`: the run's RunMemory, which has them when the report stage read them
    from the same store."""
    from pipeline.report.content import read_interview_states

    states = (memory.interview_states(conn, CODING_STATE_SOURCES) if memory is not None
              else read_interview_states(conn, CODING_STATE_SOURCES))
    return {interview_id: "/".join(",".join(map(str, part)) if part else "None"
                                   for part in parts)
            for interview_id, parts in states.items()}


def _counts_cache_path(study) -> Path:
    from pipeline.nlp.build_cache import study_cache_dir

    return study_cache_dir(study.root) / COUNTS_CACHE


def _cached_counts(study, previous: dict) -> dict[str, list]:
    """Interview id (text) -> [state, status counts] as a run recorded them, or nothing
    when that run's store is not the one the previous run left (its change counters
    differ, or it is a later run: the store was restored from a backup) or the package
    changed (the status rule)."""
    from pipeline.report.incremental import package_state

    try:
        data = json.loads(_counts_cache_path(study).read_text(encoding="utf-8"))
        if (data.get("format") == COUNTS_CACHE_FORMAT
                and 0 < data.get("run_id", 0) <= (previous.get("run_id") or 0)
                and data.get("data_versions") == previous.get("data_versions")
                and data.get("package") == package_state()):
            return dict(data["interviews"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        pass
    return {}


def _save_counts(study, run_id: int, versions: dict, interviews_counts: dict) -> None:
    from pipeline.report.incremental import package_state

    text = json.dumps({"format": COUNTS_CACHE_FORMAT, "run_id": run_id,
                       "data_versions": versions, "package": package_state(),
                       "interviews": interviews_counts}, ensure_ascii=False)
    try:
        atomic_write_text(_counts_cache_path(study), text)
    except OSError:
        pass  # a cache: the next run counts every interview


def _coding_counts(ctx, conn: Connection, versions: dict) -> Counter:
    """coding_status_counts, counted only for the interviews whose codings changed since
    the previous run (see CODING_STATE_SOURCES); the rest come from the previous run's
    record in .cityqda-cache. Saves this run's record."""
    memory = getattr(ctx, "memory", None)
    previous = memory.previous_manifest if memory is not None else {}
    cached = _cached_counts(ctx.study, previous or {})
    states = _coding_states(conn, memory)
    stale = [interview_id for interview_id, state in sorted(states.items())
             if (cached.get(str(interview_id)) or [None])[0] != state]
    fresh = _status_counts_by_interview(conn, stale) if stale else {}
    stale_ids = set(stale)
    record = {}
    total: Counter = Counter()
    for interview_id, state in sorted(states.items()):
        counts = (fresh.get(interview_id, Counter()) if interview_id in stale_ids
                  else Counter(cached[str(interview_id)][1]))
        total.update(counts)
        record[str(interview_id)] = [state, dict(sorted(counts.items()))]
    _save_counts(ctx.study, ctx.run_id, versions, record)
    return total


def _store_counts(conn: Connection, coding_counts: Counter | None = None) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status, n in conn.execute(select(interviews.c.status, func.count())
                                  .group_by(interviews.c.status)):
        counts[f"interviews_{status}"] = n
    counts["segments_current"] = conn.execute(
        select(func.count()).select_from(segments).where(segments.c.status == "current")
    ).scalar_one()
    if coding_counts is None:
        coding_counts = coding_status_counts(conn)
    for status, n in sorted(coding_counts.items()):
        counts[f"codings_{status}"] = n
    counts["decisions"] = conn.execute(select(func.count()).select_from(decisions)).scalar_one()
    for name, table in (("actors", actors), ("initiatives", initiatives),
                        ("partnerships", partnerships)):
        for status, n in conn.execute(select(table.c.review_status, func.count())
                                      .group_by(table.c.review_status)):
            key = status.split(":", 1)[0]
            counts[f"{name}_{key}"] = counts.get(f"{name}_{key}", 0) + n
    return counts


def _cell_value(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def table_cells(tables: dict) -> dict[str, dict]:
    """Every cell of the aggregate tables, keyed so two runs can be compared.

    A row is named by its leading text columns, at most two (city; dimension, challenge,
    name or parties): the columns before the first that holds a number in some row. The
    other columns are the cells. A Total row (`totals`) is kept like any other row.
    """
    snapshot: dict[str, dict] = {}
    for name in sorted(tables):
        table = tables[name]
        columns = list(table.columns)
        key_count = 0
        for index in range(min(KEY_COLUMNS_MAX, len(columns) - 1)):
            if any(isinstance(row[index], (int, float)) and not isinstance(row[index], bool)
                   for row in table.rows if index < len(row)):
                break
            key_count += 1
        cells: dict[str, dict] = {}
        totals = getattr(table, "totals", None)
        for row in [*table.rows, *([totals] if totals else [])]:
            key = json.dumps([_cell_value(v) for v in row[:key_count]], ensure_ascii=False)
            values = cells.setdefault(key, {})
            for column, value in zip(columns[key_count:], row[key_count:], strict=False):
                values[column] = _cell_value(value)
        snapshot[name] = {"title": table.title, "key_columns": columns[:key_count],
                          "cells": cells}
    return snapshot


def _study_table_cells(conn: Connection, study) -> dict | None:
    """The aggregate tables' cells, or None when they cannot be computed (a broken
    register: the aggregate stage reports that problem itself)."""
    from pipeline.aggregate.tables import study_tables
    from pipeline.errors import CityQDAError

    try:
        return table_cells(study_tables(conn, study))
    except CityQDAError:
        return None


def build_manifest(ctx, conn: Connection) -> dict:
    """The manifest of the run in `ctx` as a JSON-ready dict (reads the store, writes
    nothing)."""
    study = ctx.study
    from pipeline.nlp.registry import registry_path_for

    run = conn.execute(select(runs).where(runs.c.id == ctx.run_id)).first()
    snapshot = _interview_snapshot(conn)
    codebook_entry = _file_entry(study, study.path("codebook"))
    codebook_row, refused = None, False
    if codebook_entry["sha256"]:
        codebook_row = conn.execute(
            select(codebook_versions.c.codebook_id, codebook_versions.c.version)
            .where(codebook_versions.c.sha256 == codebook_entry["sha256"])).first()
    if codebook_row is None:
        # the file was not used (refused by the code stage, or never coded yet): the
        # codings are still those of the version last recorded, if any
        codebook_row = conn.execute(
            select(codebook_versions.c.codebook_id, codebook_versions.c.version)
            .order_by(codebook_versions.c.id.desc())).first()
        refused = codebook_row is not None and bool(codebook_entry["sha256"])
    guides_dir = study.path("guides")
    guides = ([_file_entry(study, p) for p in sorted(guides_dir.glob("*.yaml"))]
              if guides_dir.is_dir() else [])
    imported = [{"file": r.file, "sha256": r.sha256, "coder": r.coder, "changes": r.changes,
                 "export_id": r.export_id}
                for r in conn.execute(select(review_imports)
                                      .where(review_imports.c.run_id == ctx.run_id)
                                      .order_by(review_imports.c.id))]
    memory = getattr(ctx, "memory", None)
    cells = _run_table_cells(ctx, conn)
    outputs = {}
    for name, path in sorted(ctx.outputs.items()):
        outputs[name] = (memory.output_entry(name, Path(path)) if memory is not None
                         else _file_entry(study, Path(path)))
    versions, store_counts = _counts_of_store(ctx, conn)
    counts = dict(sorted({**store_counts, **ctx.counts}.items()))
    return {
        "format": MANIFEST_FORMAT,
        "study": study.name,
        "run_id": ctx.run_id,
        "started_at": run.started_at if run is not None else None,
        "finished_at": run.finished_at if run is not None else None,
        "status": "failed" if ctx.failed else "ok",
        "codebook": {"id": codebook_row.codebook_id if codebook_row else None,
                     "version": codebook_row.version if codebook_row else None,
                     "sha256": codebook_entry["sha256"],
                     **({"file_not_used": True} if refused else {})},
        "packages": package_versions(),
        "inputs": {
            "transcripts": [{"interview_id": int(k), **v} for k, v in snapshot.items()],
            "register": _file_entry(study, study.path("register")),
            "guides": guides,
            "codebook": codebook_entry,
            "actor_registry": _file_entry(study, registry_path_for(study)),
            "reviews_imported": imported,
        },
        "counts": counts,
        "count_notes": COUNT_NOTES,
        "outputs": outputs,
        "problems": [p.as_dict() for p in ctx.problems],
        "last_event_id": conn.execute(select(func.max(events.c.id))).scalar_one(),
        "tables": cells,
        "seconds": {name: round(wall, 3)
                    for name, (wall, _cpu) in getattr(ctx, "seconds", {}).items()},
        "stages_format": RECORD_FORMAT,
        "data_versions": versions,
        "store_counts": store_counts,
        "stages": dict(sorted(memory.stages.items())) if memory is not None else {},
    }


def _counts_of_store(ctx, conn: Connection) -> tuple[dict, dict[str, int]]:
    """The store's change counters and its counts; the previous run's counts when the
    counters are the same (a full pass over every coding's status at N = 1,000 is most of
    what a rerun with nothing changed would cost)."""
    from pipeline.report.incremental import data_versions

    versions = data_versions(conn)
    memory = getattr(ctx, "memory", None)
    previous = memory.previous_manifest if memory is not None else {}
    if versions and previous.get("data_versions") == versions and \
            isinstance(previous.get("store_counts"), dict):
        return versions, dict(previous["store_counts"])
    return versions, _store_counts(conn, _coding_counts(ctx, conn, versions))


def _run_table_cells(ctx, conn: Connection) -> dict | None:
    """The aggregate tables' cells: from the tables the aggregate stage built, or, when
    it was skipped as unchanged, from the previous manifest (same inputs, same tables);
    computed here only when neither is at hand."""
    tables = getattr(ctx, "tables", None)
    if tables is not None:
        return table_cells(tables)
    memory = getattr(ctx, "memory", None)
    if memory is not None and "aggregate" in memory.skipped:
        return memory.previous_tables
    return _study_table_cells(conn, ctx.study)


def atomic_write_text(path: Path, text: str) -> None:
    """Write beside the target and rename, so a failure never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=".cityqda-", suffix=path.suffix,
                                         dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temp_name, 0o666 & ~mask)
        os.replace(temp_name, path)
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)


def manifest_json(manifest: dict) -> str:
    return json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def write_manifest(ctx) -> tuple[Path, dict]:
    """Build the run's manifest, store it in runs.manifest and write outputs/manifest.json;
    returns the file and the manifest.

    The run's `finished_at` and `status` must already be set. The manifest lists the
    outputs known when it is written (not itself, nor the change report written after).
    """
    with ctx.store.write() as conn:
        manifest = build_manifest(ctx, conn)
        text = manifest_json(manifest)
        conn.execute(runs.update().where(runs.c.id == ctx.run_id).values(manifest=text))
    path = ctx.study.path("outputs") / MANIFEST_NAME
    atomic_write_text(path, text)
    return path, manifest


def previous_run_id(conn: Connection, run_id: int) -> int | None:
    """The latest earlier `cityqda run` that left a manifest."""
    return conn.execute(select(func.max(runs.c.id)).where(
        runs.c.id < run_id, runs.c.command == "run",
        runs.c.manifest.is_not(None))).scalar_one()


def load_manifest(conn: Connection, run_id: int | None) -> dict | None:
    if run_id is None:
        return None
    text = conn.execute(select(runs.c.manifest).where(runs.c.id == run_id)).scalar_one_or_none()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _interviews_of(manifest: dict) -> dict[int, dict]:
    return {int(entry["interview_id"]): entry
            for entry in manifest.get("inputs", {}).get("transcripts", [])}


def _interview_lines(old: dict, new: dict) -> list[str]:
    before, after = _interviews_of(old), _interviews_of(new)
    lines = []
    for interview_id in sorted(after, key=lambda i: (after[i]["path"], i)):
        now = after[interview_id]
        was = before.get(interview_id)
        if was is None:
            state = " (retired)" if now["status"] == "retired" else ""
            lines.append(f"new interview: {now['path']}{state}")
            continue
        if now["status"] == "retired" and was["status"] != "retired":
            lines.append(f"retired interview: {now['path']}")
        elif now["status"] != "retired" and was["status"] == "retired":
            lines.append(f"reinstated interview: {now['path']}")
        if now["version"] != was["version"]:
            lines.append(f"changed interview: {now['path']} (version {was['version']} -> "
                         f"{now['version']})")
    return lines


_DECISION_KINDS = {"decision.set": "coding decision(s)",
                   "entity_decision.set": "entity decision(s)",
                   "coding.added": "coding(s) made by hand (additions and changed codes)"}


def _event_lines(conn: Connection, old: dict, new: dict) -> list[str]:
    first = old.get("last_event_id") or 0
    last = new.get("last_event_id") or 0
    counts: Counter = Counter()
    for actor, kind, n in conn.execute(
            select(events.c.actor, events.c.kind, func.count())
            .where(events.c.id > first, events.c.id <= last)
            .group_by(events.c.actor, events.c.kind)):
        label = _DECISION_KINDS.get(kind)
        if label is not None:
            counts[(actor, label)] += n
    lines = []
    for coder in sorted({actor for actor, _label in counts}):
        parts = [f"{counts[(coder, label)]} {label}" for label in _DECISION_KINDS.values()
                 if counts[(coder, label)]]
        lines.append(f"new decisions by {coder}: {', '.join(parts)}")
    if any(label == _DECISION_KINDS["coding.added"] for _coder, label in counts):
        lines.append("(an addition or a change also records the coder's accept of the coding "
                     "it makes, so these are more than the workbook rows `review import` "
                     "counts)")
    return lines


def _human_record_lines(conn: Connection, old: dict, new: dict) -> list[str]:
    """A new codebook version and what it did to the codings, and metadata corrected
    with `cityqda interview set`: changes no table cell may show."""
    lines = []
    was, now = old.get("codebook") or {}, new.get("codebook") or {}
    if now.get("file_not_used"):
        if was.get("sha256") != now.get("sha256") or not was.get("file_not_used"):
            lines.append(f"codebook: the file changed but this run did not use it (see the "
                         f"run's errors); the codings are still those of "
                         f"{now.get('id')} {_show(now.get('version'))}")
    elif was.get("version") != now.get("version") or was.get("sha256") != now.get("sha256"):
        lines.append(f"codebook: {now.get('id') or was.get('id')} "
                     f"{_show(was.get('version'))} -> {_show(now.get('version'))}")
    paths = {int(e["interview_id"]): e["path"]
             for e in new.get("inputs", {}).get("transcripts", [])}
    first, last = old.get("last_event_id") or 0, new.get("last_event_id") or 0
    for row in conn.execute(select(events.c.kind, events.c.entity_key, events.c.old,
                                   events.c.new)
                            .where(events.c.id > first, events.c.id <= last,
                                   events.c.kind.in_(("codebook.change_applied",
                                                      "interview.override")))
                            .order_by(events.c.id)):
        before = json.loads(row.old) if row.old else {}
        after = json.loads(row.new) if row.new else {}
        if row.kind == "codebook.change_applied":
            sources, targets = after.get("from") or [], after.get("to") or []
            lines.append(f"codebook change {after.get('version')}: {after.get('kind')} "
                         f"{', '.join(sources)}" + (f" -> {', '.join(targets)}" if targets
                                                    else "")
                         + f" ({after.get('codings', 0)} coding(s))")
            continue
        key = int(row.entity_key) if str(row.entity_key).isdigit() else row.entity_key
        where = paths.get(key, f"interview {key}")
        if after:
            lines.append(f"metadata corrected: {where} {after.get('field')} set to "
                         f"{after.get('value')} (override)")
        else:
            lines.append(f"metadata corrected: {where} {before.get('field')} override "
                         f"removed (was {_show(before.get('value'))})")
    return lines


def _show(value) -> str:
    return "blank" if value is None or value == "" else str(value)


def _cell_lines(old: dict, new: dict) -> list[str]:
    before, after = old.get("tables"), new.get("tables")
    if before is None or after is None:
        return []
    lines = []
    for name in sorted(set(before) | set(after)):
        was = before.get(name, {}).get("cells", {})
        now = after.get(name, {}).get("cells", {})
        title = (after.get(name) or before.get(name)).get("title") or name
        for key in sorted(set(was) | set(now)):
            label = ", ".join(_show(v) for v in json.loads(key))
            old_row, new_row = was.get(key, {}), now.get(key, {})
            for column in sorted(set(old_row) | set(new_row)):
                a, b = old_row.get(column), new_row.get(column)
                if a != b and _show(a) != _show(b):
                    lines.append(f"cell moved: {title} [{label}] {column}: {_show(a)} -> "
                                 f"{_show(b)}")
    return lines


def change_report(conn: Connection, previous_run_id: int | None, run_id: int, *,
                  manifests: tuple[dict | None, dict] | None = None) -> list[str]:
    """What changed between two runs' manifests: new, changed and retired interviews, new
    decisions per coder (audit-log events in between), and aggregate table cells that
    moved. The first line names the runs compared. `manifests`: the two manifests (old,
    new) when the caller has them (a run does: they are not read back from the store)."""
    if manifests is None:
        manifests = (load_manifest(conn, previous_run_id), load_manifest(conn, run_id) or {})
    old, new = manifests
    if old is None:
        active = sum(1 for e in _interviews_of(new).values() if e["status"] != "retired")
        return [f"changes: run {run_id} is the first run with a manifest; "
                f"{active} active interview(s), nothing to compare with"]
    body = (_interview_lines(old, new) + _human_record_lines(conn, old, new)
            + _event_lines(conn, old, new) + _cell_lines(old, new))
    if old.get("tables") is not None and new.get("tables") is None:
        body.append("table cells not compared: this run has no aggregate tables")
    head = f"changes since run {previous_run_id} (run {run_id}):"
    return [head] + (body or ["nothing changed"])


def changes_markdown(lines: list[str]) -> str:
    head, *body = lines
    return "# " + head.rstrip(":") + "\n\n" + "".join(f"- {line}\n" for line in body)


def stderr_lines(lines: list[str], changes_path: Path | None) -> list[str]:
    """The change report for stderr: cell lines beyond a screenful are summarised."""
    cells = [line for line in lines if line.startswith("cell moved:")]
    if len(cells) <= STDERR_CELL_LINES:
        shown = lines
    else:
        kept = set(cells[:STDERR_CELL_LINES])
        shown = [line for line in lines if not line.startswith("cell moved:") or line in kept]
        more = f"... and {len(cells) - STDERR_CELL_LINES} more cell(s)"
        shown.append(more + (f" (see {changes_path})" if changes_path else ""))
    return [shown[0]] + [f"  {line}" for line in shown[1:]]


def finish_manifest(ctx) -> None:
    """Manifest, then change report (printed by `run`, written to outputs/changes.md).

    An output that cannot be written is a CQ740 problem of the run, not a crash.
    """
    from pipeline.report.incremental import old_objects_frozen

    try:
        with old_objects_frozen():
            ctx.outputs["manifest"], manifest = write_manifest(ctx)
    except OSError as exc:
        ctx.problems.append(Problem("CQ740", {
            "path": str(ctx.study.path("outputs") / MANIFEST_NAME),
            "problem": exc.strerror or str(exc)}))
        return
    memory = getattr(ctx, "memory", None)
    with ctx.store.read() as conn:
        previous_id = previous_run_id(conn, ctx.run_id)
        previous = memory.previous_manifest if memory is not None else None
        if not previous or previous.get("run_id") != previous_id:
            previous = load_manifest(conn, previous_id)
        lines = change_report(conn, previous_id, ctx.run_id, manifests=(previous, manifest))
    path: Path | None = ctx.study.path("outputs") / CHANGES_NAME
    try:
        atomic_write_text(path, changes_markdown(lines))
        ctx.outputs["changes"] = path
    except OSError as exc:
        ctx.problems.append(Problem("CQ740", {"path": str(path),
                                              "problem": exc.strerror or str(exc)}))
        path = None
    ctx.stage_lines.extend(stderr_lines(lines, path))
