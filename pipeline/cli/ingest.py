"""`cityqda ingest [PATH...]`: read transcripts into the store, one report line per file."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipeline.cli.output import info, progress


@click.command("ingest")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.pass_obj
@click.pass_context
def command(ctx, obj, paths):
    """Ingest Word transcripts (default: the study's transcripts folder).

    PATH is a file or a folder, walked recursively in sorted order. Each file gets one line
    on stderr: ingested, unchanged, updated, new version, duplicate, renamed, skipped or
    failed; transcripts that vanished from the folder are reported missing. Office lock
    files (~$*) and hidden files are ignored and counted. Exit 1 when any file failed.
    """
    from pipeline.ingest.ingest import ingest_study
    from pipeline.store import open_study_store

    study = obj.study()
    store = open_study_store(study)
    held: list[str] = []  # on a terminal, lines wait until the progress bar is done
    on_terminal = sys.stderr.isatty()

    def report(outcome):
        lines = [outcome.line()]
        if outcome.outcome != "unchanged":
            lines += ["  " + p.render().replace("\n", "\n  ") for p in outcome.problems]
        if on_terminal:
            held.extend(lines)
        else:
            for line in lines:
                info(line)

    try:
        result = ingest_study(study, store, list(paths) or None, on_file=report,
                              wrap=lambda files: progress(files, "ingest", len(files)),
                              keep_all=False)
    finally:
        store.close()
    for line in held:
        info(line)
    for problem in result.problems:
        info(problem.render())
    info(result.summary())
    ctx.exit(1 if result.failed else 0)
