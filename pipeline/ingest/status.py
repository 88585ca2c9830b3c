"""`cityqda status`: what the store holds, and what the transcripts folder would change.

The `problems` part comes from a dry run of ingest over the study's transcripts folder:
failed and skipped files, duplicates, missing transcripts, and files new or changed
since the last ingest. Failures are never written to the store (a failed file leaves it
untouched), so they are found again by looking, not remembered.
"""

from __future__ import annotations

import json

from sqlalchemy import func, select

from pipeline.ingest.ingest import FileOutcome, ingest_study
from pipeline.store import Store
from pipeline.store.schema import interview_notes, interviews, segments
from pipeline.vocabulary import METADATA_FIELDS

PENDING = {"ingested": "new", "new_version": "changed", "renamed": "renamed",
           "updated": "to be updated (register or guide changed)"}


def interview_entry(row, segment_count: int, note_count: int) -> dict:
    """One interview in DESIGN.md's `status --json` shape (extra keys come last)."""
    metadata = json.loads(row.metadata or "{}")
    entry = {
        "id": row.id, "file": row.file, "path": row.path, "sha256": row.sha256,
        "version": row.version, "status": row.status, "segments": segment_count,
        "warnings": json.loads(row.warnings or "[]"),
    }
    for name in METADATA_FIELDS:
        state = metadata.get(name) or {}
        entry[name] = state.get("value")
        entry[f"{name}_raw"] = state.get("raw")
        entry[f"{name}_source"] = state.get("source")
    entry["retired_reason"] = row.retired_reason
    entry["purged"] = bool(row.purged)
    entry["notes"] = note_count
    return entry


def _problem_entry(outcome: FileOutcome) -> dict:
    problem = outcome.problems[0] if outcome.problems else None
    entry = {"path": outcome.path, "outcome": outcome.outcome,
             "interview_id": outcome.interview_id}
    if outcome.outcome in PENDING:
        entry.update(code="CQ135", level="warning",
                     message=f"{PENDING[outcome.outcome]} since the last ingest",
                     hint="Run `cityqda ingest`.")
    elif problem is not None:
        entry.update(code=problem.code, level=problem.spec.level, message=problem.message,
                     hint=problem.hint)
    return entry


def status_report(study, store: Store) -> dict:
    with store.read() as conn:
        rows = conn.execute(select(interviews).order_by(interviews.c.path, interviews.c.id)).all()
        counts = dict(conn.execute(
            select(segments.c.interview_id, func.count())
            .where(segments.c.status == "current").group_by(segments.c.interview_id)).all())
        notes = dict(conn.execute(
            select(interview_notes.c.interview_id, func.count())
            .group_by(interview_notes.c.interview_id)).all())
        from pipeline.code_study import orphaned_by_interview

        orphaned = orphaned_by_interview(conn)  # codings on retired segments, kept
    entries = [interview_entry(r, counts.get(r.id, 0), notes.get(r.id, 0)) for r in rows]
    for entry in entries:
        entry["orphaned_codings"] = orphaned.get(entry["id"], 0)

    problems: list[dict] = []
    found = ignored = 0
    if study.path("transcripts").is_dir():
        report = ingest_study(study, store, dry_run=True)
        ignored = report.ignored
        found = sum(1 for o in report.outcomes if o.outcome != "missing")
        for problem in report.problems:
            problems.append({"path": problem.file, "outcome": "failed"
                             if problem.spec.level == "error" else "warning",
                             "interview_id": None, "code": problem.code,
                             "level": problem.spec.level, "message": problem.message,
                             "hint": problem.hint})
        for outcome in report.outcomes:
            if outcome.outcome != "unchanged":
                problems.append(_problem_entry(outcome))

    by_outcome: dict[str, int] = {}
    for problem in problems:
        by_outcome[problem["outcome"]] = by_outcome.get(problem["outcome"], 0) + 1
    active = [e for e in entries if e["status"] == "active" and not e["purged"]]
    totals = {
        "interviews": len(entries),
        "active": len(active),
        "retired": sum(e["status"] == "retired" for e in entries),
        "purged": sum(e["purged"] for e in entries),
        "segments": sum(e["segments"] for e in active),
        "warnings": sum(len(e["warnings"]) for e in active),
        "interviews_with_warnings": sum(bool(e["warnings"]) for e in active),
        "files": found,
        "ignored": ignored,
        "problems": len(problems),
        "failed": by_outcome.get("failed", 0),
        "skipped": by_outcome.get("skipped", 0),
        "duplicates": by_outcome.get("duplicate", 0),
        "missing": by_outcome.get("missing", 0),
        "pending": sum(by_outcome.get(k, 0) for k in PENDING),
        "orphaned_codings": sum(orphaned.values()),
    }
    return {"interviews": entries, "problems": problems, "totals": totals}


def status_lines(report: dict) -> list[str]:
    """The human-readable status: one line per interview, then problems and totals."""
    lines = []
    for entry in report["interviews"]:
        state = "purged" if entry["purged"] else entry["status"]
        facts = [f"v{entry['version']}", state, f"{entry['segments']} segments"]
        for name in ("city", "stakeholder_category", "interview_date"):
            if entry.get(name):
                facts.append(str(entry[name]))
        if entry["warnings"]:
            facts.append(f"{len(entry['warnings'])} warning(s): "
                         + ", ".join(sorted({w['code'] for w in entry['warnings']})))
        if entry.get("orphaned_codings"):
            facts.append(f"{entry['orphaned_codings']} orphaned coding(s)")
        lines.append(f"{entry['id']:>5}  {entry['path']}  ({'; '.join(facts)})")
        for warning in entry["warnings"]:  # what each code means and what to do, as run says
            lines.append(f"         {warning['code']}: {warning.get('message', '')}".rstrip())
            if warning.get("hint"):
                lines.append(f"           → {warning['hint']}")
    if report["problems"]:
        lines.append("")
        lines.append("problems:")
        for problem in report["problems"]:
            lines.append(f"  {problem['outcome']:<11} {problem['path']}: "
                         f"{problem.get('code', '')} {problem.get('message', '')}".rstrip())
    totals = report["totals"]
    lines.append("")
    lines.append("totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    return lines
