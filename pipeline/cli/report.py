"""`cityqda report`: coded summaries per city and across cities (see pipeline.report.report)."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.output import emit_json, info


@click.command("report")
@click.option("--city", "cities", multiple=True, metavar="NAME",
              help="Only this city (repeat for several); default every city with interviews.")
@click.option("--round", "round_", metavar="R", help="Only the interviews of this round.")
@click.option("--identify", is_flag=True,
              help="Also show organisations and positions (written to separate "
                   "'-identified' files; check consent before sharing).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the reports (default: the study's outputs/reports).")
@click.option("--no-pdf", "no_pdf", is_flag=True,
              help="Do not convert the reports to PDF even when LibreOffice is installed.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the files written as one JSON object on stdout.")
@click.pass_obj
@click.pass_context
def command(ctx, obj, cities, round_, identify, out, no_pdf, as_json):
    """Write one Word report per city and a cross-city summary.

    Interviews are cited by pseudonym; unreviewed findings are marked; the footer names
    the codebook version and the run. An unchanged store gives byte-identical DOCX files.
    A PDF of each report is made when LibreOffice (soffice) is installed.
    """
    from pipeline.report.report import report_study
    from pipeline.store import open_study_store

    study = obj.study()
    store = open_study_store(study)
    try:
        result = report_study(study, store, cities=list(cities) or None, round=round_,
                              identify=identify, out=out, pdf=not no_pdf)
    finally:
        store.close()
    for line in result.lines():
        info(line)
    for problem in result.problems:
        info(problem.render())
    if as_json:
        emit_json({"cities": result.cities,
                   "outputs": {k: str(v) for k, v in sorted(result.outputs.items())}})
    ctx.exit(1 if any(p.spec.level == "error" for p in result.problems) else 0)
