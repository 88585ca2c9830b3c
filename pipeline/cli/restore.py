"""`cityqda restore FILE`: put a store backup back, or replay an audit log into the store."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.output import info


@click.command("restore")
@click.argument("source", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True,
              help="Log: replay even though the store already holds decisions. Backup: put "
                   "it back even though it names another study.")
@click.pass_obj
def command(obj, source, force):
    """Put back a backup made by `cityqda backup`, or replay decisions, added codings, memos,
    entity decisions, metadata overrides and retirements from a JSON Lines log.

    FILE is told apart by its content. A backup (an SQLite file) is checked (integrity, a
    schema version this cityqda can open, the same study) and put in place only when no other
    cityqda command is running; the store it replaces is first saved to backups/ (its name is
    printed). A log is written by `cityqda review log --format jsonl --out LOG`: rebuild the
    store from the transcripts and the codebook with `cityqda run --no-import`, then restore;
    every event is matched by stable identities, never by row ids; all of it or nothing is
    written.
    """
    from pipeline.store.restore import is_sqlite_file

    study = obj.study()
    if is_sqlite_file(source):
        from pipeline.store.restore import restore_backup

        for line in restore_backup(study, source, force=force).lines():
            info(line)
        return
    from pipeline.review.restore import restore_log
    from pipeline.store import open_study_store

    store = open_study_store(study)
    try:
        report = restore_log(study, store, source, force=force)
    finally:
        store.close()
    for problem in report.warnings:
        info(problem.render())
    for line in report.lines():
        info(line)
