"""What people do to interviews by hand: override metadata, retire, bring back, purge.

Overrides live in their own table and outrank every other source at each ingest, so a
correction survives any number of re-ingests. Retiring is reversible. Purging (consent
withdrawn) removes the interview's text, notes, metadata and the values in its audit
events, and anonymises its file name; the events themselves stay, so the record of what
happened remains without what was said. The file's hash is kept so the same file is
recognised, and refused, if it is dropped into the folder again.
"""

from __future__ import annotations

import importlib
import unicodedata
from pathlib import Path

from sqlalchemy import delete, insert, select, update

from pipeline.errors import CityQDAError
from pipeline.ingest.ingest import load_settings, recompute_metadata
from pipeline.ingest.metadata import VOCABULARY_FIELDS, interpret_override
from pipeline.store import Store, record_event
from pipeline.store.schema import (
    events,
    interview_notes,
    interview_versions,
    interviews,
    metadata_overrides,
    segments,
)
from pipeline.vocabulary import METADATA_FIELDS, field_for_label

# Stages that keep text taken from segments (coding evidence, mention texts, comments) add
# one "module:function" line here; purge calls each as function(conn, interview_id,
# segment_ids) inside its transaction, so withdrawn consent removes their copies too.
PURGE_HOOKS: list[str] = ["pipeline.coding.decisions:purge_interview_codings"]


def find_interview(conn, ref: str, root: Path):
    """The interview a user means by an id, a path or a file name (CQ140 / CQ141)."""
    text = unicodedata.normalize("NFC", str(ref).strip())
    if text.isdigit():
        row = conn.execute(select(interviews).where(interviews.c.id == int(text))).first()
        if row is not None:
            return row
    keys = {text, Path(text).as_posix()}
    candidate = Path(text)
    if not candidate.is_absolute():
        candidate = Path.cwd() / candidate
    try:
        keys.add(unicodedata.normalize(
            "NFC", candidate.resolve().relative_to(root.resolve()).as_posix()))
    except ValueError:
        keys.add(unicodedata.normalize("NFC", candidate.resolve().as_posix()))
    row = conn.execute(select(interviews).where(interviews.c.path.in_(sorted(keys)))).first()
    if row is not None:
        return row
    name = Path(text).name.casefold()
    matches = [r for r in conn.execute(select(interviews).order_by(interviews.c.id))
               if r.file.casefold() == name]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise CityQDAError("CQ141", ref=ref,
                           matches=", ".join(f"{r.id} ({r.path})" for r in matches))
    raise CityQDAError("CQ140", ref=ref)


def metadata_field(name: str) -> str:
    if name in METADATA_FIELDS:
        return name
    found = field_for_label(name)
    if found is None:
        raise CityQDAError("CQ142", field=name, known=", ".join(METADATA_FIELDS))
    return found


def set_override(study, store: Store, ref: str, field_name: str, value: str | None, *,
                 actor: str = "cli") -> dict:
    """Record (or, with value None, clear) an override; returns the field as now resolved."""
    field_name = metadata_field(field_name)
    settings, _problems = load_settings(study)
    if value is not None:
        value = " ".join(value.split())
        if not value:
            raise CityQDAError("CQ143", field=field_name, value=value, problem="is empty",
                               advice="Give a value, or use --clear to remove the override.")
        _canonical, problem = interpret_override(field_name, value, settings.register,
                                                 study.vocabularies)
        if problem is not None:
            vocabulary = VOCABULARY_FIELDS.get(field_name)
            advice = (f"Use one of {', '.join(study.vocabularies.get(vocabulary, []))} (or a "
                      "wording listed in the vocabulary variants)." if vocabulary
                      else "Write the date as YYYY-MM-DD.")
            raise CityQDAError("CQ143", field=field_name, value=value, problem=problem,
                               advice=advice)
    with store.write() as conn:
        row = find_interview(conn, ref, study.root)
        if row.purged:
            raise CityQDAError("CQ144", ref=ref, state="purged",
                               problem="its metadata was removed",
                               advice="Nothing to set; a purged interview holds no data.")
        row = apply_override(conn, row, field_name, value, settings, actor=actor)
    return _field_state(row, field_name, settings.guides)


def apply_override(conn, row, field_name: str, value: str | None, settings, *,
                   actor: str, source: str = "command line"):
    """Record (value None: clear) one override in the caller's transaction and resolve the
    interview's metadata again; returns its row as now. `restore` replays overrides here."""
    old = conn.execute(select(metadata_overrides.c.value).where(
        metadata_overrides.c.interview_id == row.id,
        metadata_overrides.c.field == field_name)).scalar()
    if old == value:
        return row
    conn.execute(delete(metadata_overrides).where(
        metadata_overrides.c.interview_id == row.id,
        metadata_overrides.c.field == field_name))
    if value is not None:
        conn.execute(insert(metadata_overrides).values(
            interview_id=row.id, field=field_name, value=value))
    record_event(conn, actor=actor, kind="interview.override", entity="interviews",
                 entity_key=row.id,
                 old=None if old is None else {"field": field_name, "value": old},
                 new=None if value is None else {"field": field_name, "value": value},
                 source=source)
    overrides = dict(conn.execute(
        select(metadata_overrides.c.field, metadata_overrides.c.value)
        .where(metadata_overrides.c.interview_id == row.id)).all())
    metadata_json, warnings_json, _guide = recompute_metadata(row, overrides, settings)
    conn.execute(update(interviews).where(interviews.c.id == row.id).values(
        metadata=metadata_json, warnings=warnings_json))
    return conn.execute(select(interviews).where(interviews.c.id == row.id)).one()


def _field_state(row, field_name: str, guides: dict) -> dict:
    """The field as now resolved; `restructure`: the interview's guide changed (a guide
    or category override), and its sections follow at the next ingest, which reads the
    file again."""
    import json

    metadata = json.loads(row.metadata or "{}")
    state = metadata.get(field_name) or {}
    guide = (metadata.get("interview_guide") or {}).get("value")
    return {"interview_id": row.id, "path": row.path, "field": field_name,
            "value": state.get("value"), "raw": state.get("raw"),
            "source": state.get("source"),
            "restructure": (guide if guide in guides else None) != row.structure_guide}


def retire(study, store: Store, ref: str, *, reason: str | None, undo: bool = False,
           purge: bool = False, actor: str = "cli") -> dict:
    """Retire (reversible), bring back (`undo`), or purge an interview."""
    with store.write() as conn:
        row = find_interview(conn, ref, study.root)
        if undo:
            return _undo(conn, row, ref, actor)
        if not reason or not reason.strip():
            raise CityQDAError("CQ144", ref=ref, state=row.status,
                               problem="a reason is needed",
                               advice="Add --reason TEXT (it is kept in the audit log).")
        if row.purged:
            raise CityQDAError("CQ144", ref=ref, state="purged", problem="already purged",
                               advice="Nothing left to retire or purge.")
        if row.status == "retired" and not purge:
            raise CityQDAError("CQ144", ref=ref, state="retired", problem="already retired",
                               advice="Use --undo to bring it back, or --purge to remove "
                                      "its text.")
        if row.status != "retired":
            mark_retired(conn, row, reason, actor=actor)
        if purge:
            _purge(conn, row.id)
            record_event(conn, actor=actor, kind="interview.purged", entity="interviews",
                         entity_key=row.id, reason=reason.strip(), source="command line")
        return {"interview_id": row.id, "status": "retired", "purged": bool(purge)}


def _undo(conn, row, ref: str, actor: str) -> dict:
    if row.purged:
        if not row.sha256:
            raise CityQDAError("CQ144", ref=ref, state="purged",
                               problem="its file is already allowed back in",
                               advice="Run `cityqda ingest`; the file comes in as a new "
                                      "interview.")
        # The text is gone for good; forgetting the hash lets the file in as a new interview.
        conn.execute(update(interviews).where(interviews.c.id == row.id).values(sha256=""))
        record_event(conn, actor=actor, kind="interview.purge_released", entity="interviews",
                     entity_key=row.id, source="command line")
        return {"interview_id": row.id, "status": row.status, "purged": True}
    if row.status != "retired":
        raise CityQDAError("CQ144", ref=ref, state=row.status, problem="it is not retired",
                           advice="Nothing to undo.")
    mark_active(conn, row, actor=actor)
    return {"interview_id": row.id, "status": "active", "purged": False}


def mark_retired(conn, row, reason: str, *, actor: str, source: str = "command line") -> None:
    """Retire in the caller's transaction (also what `restore` replays)."""
    conn.execute(update(interviews).where(interviews.c.id == row.id).values(
        status="retired", retired_reason=reason.strip()))
    record_event(conn, actor=actor, kind="interview.retired", entity="interviews",
                 entity_key=row.id, old={"status": row.status}, new={"status": "retired"},
                 reason=reason.strip(), source=source)


def mark_active(conn, row, *, actor: str, source: str = "command line") -> None:
    """Bring a retired interview back in the caller's transaction."""
    conn.execute(update(interviews).where(interviews.c.id == row.id).values(
        status="active", retired_reason=None))
    record_event(conn, actor=actor, kind="interview.unretired", entity="interviews",
                 entity_key=row.id, old={"status": "retired"}, new={"status": "active"},
                 source=source)


def _purge(conn, interview_id: int) -> None:
    anonymous = f"(purged interview {interview_id})"
    conn.execute(update(interviews).where(interviews.c.id == interview_id).values(
        purged=1, file=anonymous, path=anonymous, plain_text=None, metadata=None,
        paragraphs=None,
        metadata_candidates=None, warnings=None, retired_reason=None))
    conn.execute(update(interview_versions)
                 .where(interview_versions.c.interview_id == interview_id)
                 .values(plain_text=None, file=anonymous, path=anonymous))
    conn.execute(update(segments).where(segments.c.interview_id == interview_id)
                 .values(text="", sha256="", question=None))
    conn.execute(delete(interview_notes).where(interview_notes.c.interview_id == interview_id))
    conn.execute(delete(metadata_overrides)
                 .where(metadata_overrides.c.interview_id == interview_id))
    segment_ids = list(conn.execute(select(segments.c.id).where(
        segments.c.interview_id == interview_id)).scalars())
    for target in PURGE_HOOKS:
        module_name, function_name = target.split(":")
        getattr(importlib.import_module(module_name), function_name)(
            conn, interview_id, segment_ids)
    # The one exception to "events are never updated": withdrawn consent. The events stay
    # (what happened, when, by whom) but lose the values (paths, metadata) they carried.
    conn.execute(update(events).where(events.c.entity == "interviews",
                                      events.c.entity_key == str(interview_id))
                 .values(old=None, new=None))
