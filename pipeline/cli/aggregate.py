"""`cityqda aggregate`: coded datasets and the study's tables, cross-checked (see
pipeline.aggregate.aggregate)."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.output import emit_json, info


@click.command("aggregate")
@click.option("--round", "round_", metavar="R", default=None,
              help="Tables for this round of the register only (default: all rounds). The "
                   "coded datasets always hold every round, with a round column.")
@click.option("--include-suggested", is_flag=True,
              help="Count undecided suggestions as well as accepted codings (default: "
                   "accepted only). The choice is written in every file and its name.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder for the files (default: the study's outputs/).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the files written, counts and problems as one JSON object on "
                   "stdout.")
@click.pass_obj
@click.pass_context
def command(ctx, obj, round_, include_suggested, out_dir, as_json):
    """Write the coded datasets and the study's tables, and cross-check them.

    \b
    Datasets (CSV UTF-8 with BOM, XLSX, and Parquet when pyarrow is installed):
      coded_long-<selection>.*  one row per coding, with metadata, segment and evidence
      coded_wide-<selection>.*  one row per segment, a 0/1 column per dimension and code
    Tables (one XLSX with a sheet each, and a CSV each in a folder of the same name):
      tables-<selection>-<all-rounds|round-R>: response rates, interviewees, initiatives
      and actors by dimension, partnerships by type (and planned ones), challenges, good
      and promising practices, and an overview of each practice.

    <selection> is `accepted` or `accepted-and-suggested`. The same store gives
    byte-identical files. A failing cross-check (interviews vs register, tables vs the
    confirmed initiatives and partnerships) is reported on stderr and makes the exit code
    1; the files are written anyway so the fault can be traced.
    """
    from pipeline.aggregate.aggregate import aggregate_study
    from pipeline.store import open_study_store

    study = obj.study()
    store = open_study_store(study)
    try:
        report = aggregate_study(study, store, round=round_,
                                 include_suggested=include_suggested, out=out_dir)
    finally:
        store.close()
    for line in report.lines():
        info(line)
    for problem in report.problems:
        info(problem.render())
    if as_json:
        emit_json(report.as_dict())
    ctx.exit(1 if report.failed else 0)
