"""`cityqda interview set|retire`: metadata overrides and the interview's life cycle."""

from __future__ import annotations

import click

from pipeline.cli.output import emit_json, info


@click.group("interview")
def group():
    """Correct an interview's metadata, or retire it."""


def _actor(obj, by):
    if by is None:
        return "cli"
    return obj.study().coder(by).id


@group.command("set")
@click.argument("interview")
@click.argument("field")
@click.argument("value", required=False)
@click.option("--clear", is_flag=True, help="Remove the override of FIELD instead.")
@click.option("--by", help="Coder id recorded in the audit log.")
@click.pass_obj
def set_command(obj, interview, field, value, clear, by):
    """Record VALUE for FIELD of INTERVIEW (file name, path or id).

    The override outranks the transcript, its properties and the register, and survives
    every re-ingest. FIELD is a metadata field (city, country, stakeholder_category,
    organisation, position, interview_date, mode, language, interviewer, interview_guide)
    or a label such as "Organization".
    """
    from pipeline.ingest.interviews import set_override
    from pipeline.store import open_study_store

    if clear == (value is not None):
        raise click.UsageError("give either VALUE or --clear")
    study = obj.study()
    store = open_study_store(study)
    try:
        state = set_override(study, store, interview, field, None if clear else value,
                             actor=_actor(obj, by))
    finally:
        store.close()
    info(f"interview {state['interview_id']} ({state['path']}): {state['field']} = "
         f"{state['value']!r} (from {state['source']})")
    if state["restructure"]:
        info("its guide changed: `cityqda ingest` (or `cityqda run`) matches its sections "
             "to the new guide")


@group.command("retire")
@click.argument("interview")
@click.option("--reason", help="Why (kept in the audit log); required to retire or purge.")
@click.option("--undo", is_flag=True, help="Bring a retired interview back.")
@click.option("--purge", is_flag=True,
              help="Also remove its text, notes and metadata (withdrawn consent); the audit "
                   "log keeps anonymous events. Cannot be undone.")
@click.option("--yes", is_flag=True,
              help="Purge without asking first (scripts); otherwise --purge asks.")
@click.option("--by", help="Coder id recorded in the audit log.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.pass_obj
def retire_command(obj, interview, reason, undo, purge, yes, by, as_json):
    """Retire INTERVIEW (file name, path or id): it leaves exports and tables, nothing is
    deleted, and --undo brings it back."""
    from pipeline.ingest.interviews import retire
    from pipeline.store import open_study_store

    if undo and purge:
        raise click.UsageError("--undo and --purge exclude each other")
    study = obj.study()
    if purge and not yes:  # nothing else in cityqda deletes what people wrote
        click.confirm(f"Remove the text, notes and metadata of interview {interview} for "
                      "good (it cannot be undone)?", abort=True, err=True)
    store = open_study_store(study)
    try:
        result = retire(study, store, interview, reason=reason, undo=undo, purge=purge,
                        actor=_actor(obj, by))
    finally:
        store.close()
    if as_json:
        emit_json(result)
    state = "purged" if result["purged"] else result["status"]
    info(f"interview {result['interview_id']}: {state}")
