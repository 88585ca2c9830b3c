"""`cityqda code`: code every segment that needs it into the store (see pipeline.code_study)."""

from __future__ import annotations

import click

from pipeline.cli.output import emit_json, info, progress


@click.command("code")
@click.option("--all", "recode_all", is_flag=True,
              help="Code every segment again, even those coded with the same codebook "
                   "(decisions are kept either way).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the report's counts as one JSON object on stdout.")
@click.pass_obj
@click.pass_context
def command(ctx, obj, recode_all, as_json):
    """Code new and changed segments with the study's codebook.

    Only segments whose text or matching rules changed are coded; decisions on codings
    that still apply are kept, the rest are flagged for review. A progress bar shows on a
    terminal; the report goes to stderr. Exit 1 when the codebook is broken or contradicts
    the store (nothing is coded then).
    """
    from pipeline.code_study import code_study
    from pipeline.store import open_study_store

    study = obj.study()
    store = open_study_store(study)
    try:
        report = code_study(study, store, recode_all=recode_all,
                            progress=lambda items, n: progress(items, "code", n))
    finally:
        store.close()
    for line in report.lines():
        info(line)
    for problem in report.problems:
        info(problem.render())
    info(report.summary())
    if as_json:
        emit_json({"run_id": report.run_id, "codebook": report.codebook_id,
                   "codebook_version": report.codebook_version,
                   "changes": [c.line() for c in report.changes], **report.counts()})
    ctx.exit(1 if report.failed else 0)
