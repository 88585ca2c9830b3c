"""`cityqda status [--json]`: interviews in the store, problems in the folder, totals."""

from __future__ import annotations

import click

from pipeline.cli.output import emit_json


@click.command("status")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object on stdout: interviews, problems, totals.")
@click.pass_obj
def command(obj, as_json):
    """Show every interview with its metadata and warnings, and what ingest would change.

    Problems (failed, skipped, duplicate, missing, not yet ingested) come from looking at
    the transcripts folder now; nothing is written.
    """
    from pipeline.ingest.status import status_lines, status_report
    from pipeline.store import open_study_store

    study = obj.study()
    store = open_study_store(study)
    try:
        report = status_report(study, store)
    finally:
        store.close()
    if as_json:
        emit_json(report)
    else:
        for line in status_lines(report):
            click.echo(line)
