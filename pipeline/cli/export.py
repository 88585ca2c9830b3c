"""`cityqda export ...`: data out of the store (segments here; other formats join the group)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipeline.cli.output import info
from pipeline.errors import CityQDAError


@click.group("export")
def group():
    """Export data from the store."""


@group.command("segments")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "xlsx"]), default="jsonl",
              show_default=True, help="Output format.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of stdout (required for xlsx).")
@click.option("--all-paragraphs", is_flag=True,
              help="List every paragraph with the role it was given, not only segments.")
@click.pass_obj
def segments_command(obj, fmt, out, all_paragraphs):
    """Every current segment with its interview's metadata, sorted by file and order."""
    from pipeline.ingest.export_segments import export_segments
    from pipeline.store import open_study_store

    if fmt == "xlsx" and out is None:
        raise CityQDAError("CQ145", format=fmt)
    study = obj.study()
    store = open_study_store(study)
    try:
        stream = None
        if out is None:
            if hasattr(sys.stdout, "reconfigure"):
                sys.stdout.reconfigure(encoding="utf-8")
            stream = sys.stdout
        count = export_segments(store, fmt=fmt, out=out, stream=stream,
                                all_paragraphs=all_paragraphs)
    finally:
        store.close()
    if out is not None:
        info(f"wrote {count} record(s) to {out}")


@group.command("qdpx")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: outputs/<study>.qdpx; replaced if it exists).")
@click.option("--accepted-only", is_flag=True,
              help="Only accepted codings (what the tables count). By default disputed "
                   "codings (under the coders who accepted them, with a note) and undecided "
                   "suggestions (under the user 'cityqda (unreviewed)') are included too.")
@click.pass_obj
def qdpx_command(obj, out, accepted_only):
    """The study as a REFI-QDA project (.qdpx) for NVivo, ATLAS.ti, MAXQDA, QualCoder...

    Transcripts as text sources, the codebook as a code tree, coders as users, codings as
    coded selections with their evidence and comments as notes, interviews as cases with
    their metadata, sets per city and category. The same store gives the same bytes.
    """
    from pipeline.exchange.from_store import export_qdpx
    from pipeline.store import open_study_store

    study = obj.study()
    store = open_study_store(study)
    try:
        result = export_qdpx(study, store, out=out, accepted_only=accepted_only)
    finally:
        store.close()
    for problem in result.problems:
        info(problem.render())
    for line in result.lines():
        info(line)
