"""`cityqda qdpx check FILE`: validate a REFI-QDA file against the official schemas."""

import click

from pipeline.cli.output import emit_json, info


@click.group("qdpx")
def group():
    """Work with REFI-QDA files (.qdpx projects, .qdc codebooks) from any QDA tool."""


@group.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--schemas", "schema_dir", type=click.Path(file_okay=False, path_type=str),
              help="Folder holding the official Project.xsd and Codebook.xsd (default: "
                   "$CITYQDA_REFI_QDA_SCHEMAS, else ../shared/refi-qda of a source checkout).")
@click.option("--json", "as_json", is_flag=True,
              help="Print {file, kind, valid, errors, warnings, problems} as JSON on stdout.")
@click.pass_context
def check_command(ctx, file, schema_dir, as_json):
    """Check FILE (.qdpx, .qde or .qdc) against the REFI-QDA schema and explain each error.

    Exit 0 when the file is valid (warnings allowed), 1 when it is not.
    """
    from pipeline.exchange.validate import check_file

    report = check_file(file, schema_dir=schema_dir)
    for problem in report.problems:
        info(problem.render())
    errors = len(report.errors)
    warnings = len(report.problems) - errors
    verdict = "valid" if report.valid else "NOT valid"
    info(f"{file}: {verdict} REFI-QDA {report.kind or 'file'}, {errors} error(s), "
         f"{warnings} warning(s)")
    if as_json:
        emit_json(report.as_dict())
    ctx.exit(0 if report.valid else 1)
