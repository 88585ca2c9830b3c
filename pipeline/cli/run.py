"""`cityqda run`: the whole flow on the study, with a report on stderr.

The run module (SQLAlchemy, the store) is imported when the command runs, not when
`cityqda --help` lists it.
"""

import click

from pipeline.cli.output import info


@click.command("run")
@click.option("--no-import", "no_import", is_flag=True,
              help="Do not import workbooks waiting in reviews/inbox/.")
@click.option("--no-pdf", "no_pdf", is_flag=True,
              help="Write the city reports as DOCX only, even when LibreOffice is installed.")
@click.pass_obj
@click.pass_context
def command(ctx, obj, no_import, no_pdf):
    """Run every stage on the study and say where each output is.

    A stage whose inputs did not change since the last run is skipped ("unchanged,
    skipped"), and only outputs whose content changed are written again; a deleted or
    edited output is written again. The `times:` line gives each stage's wall and CPU seconds.
    """
    from pipeline.run import RunOptions, exit_code, run_study

    study = obj.study()
    result = run_study(study, RunOptions(import_reviews=not no_import, pdf=not no_pdf))
    for line in result.stage_lines:
        info(line)
    for problem in result.problems:
        info(problem.render())
    for name, path in sorted(result.outputs.items()):
        info(f"output {name}: {path}")
    errors = sum(p.spec.level == "error" for p in result.problems)
    warnings = len(result.problems) - errors
    info(f"run {result.run_id}: {'failed' if result.failed else 'ok'} "
         f"({errors} error(s), {warnings} warning(s)); store {study.store_path}")
    ctx.exit(exit_code(result))
