"""`cityqda restore LOG`: replay an audit log into the study's (rebuilt) store."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.output import info


@click.command("restore")
@click.argument("log", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True,
              help="Replay even though the store already holds decisions.")
@click.pass_obj
def command(obj, log, force):
    """Replay decisions, added codings, memos, entity decisions, metadata overrides and
    retirements from a JSON Lines log.

    Write the log with `cityqda review log --format jsonl --out LOG`; rebuild the store from
    the transcripts and the codebook with `cityqda run --no-import`; then restore. Every
    event is matched by stable identities, never by row ids; all of it or nothing is written.
    """
    from pipeline.review.restore import restore_log
    from pipeline.store import open_study_store

    study = obj.study()
    store = open_study_store(study)
    try:
        report = restore_log(study, store, log, force=force)
    finally:
        store.close()
    for problem in report.warnings:
        info(problem.render())
    for line in report.lines():
        info(line)
