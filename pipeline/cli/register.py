"""`cityqda register validate [FILE]`: check the contact register row by row."""

from pathlib import Path

import click

from pipeline.cli.output import emit_json, info
from pipeline.errors import CityQDAError


@click.group("register")
def group():
    """Check the contact register (one row per stakeholder contacted)."""


@group.command("validate")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True,
              help="Print {file, rows, cities, problems} as one JSON object on stdout.")
@click.pass_obj
@click.pass_context
def validate_command(ctx, obj, file, as_json):
    """Report every bad row with sheet, row and column (default FILE: the study's register).

    Exit 1 when a row has an error; warnings alone exit 0.
    """
    from pipeline.ingest.register import read_register

    study = obj.study_or_none()
    if file is None:
        path = obj.study().path("register")  # no study: CQ001
    else:
        path = Path(file)
        if not path.exists():
            raise CityQDAError("CQ006", path=str(path))
    vocabularies = study.vocabularies if study is not None else None
    transcripts = study.path("transcripts") if study is not None else None
    register, problems = read_register(path, vocabularies, transcripts)
    for problem in problems:
        info(problem.render())
    errors = sum(p.spec.level == "error" for p in problems)
    warnings = len(problems) - errors
    rows = len(register.rows) if register else 0
    cities = len(register.cities) if register else 0
    info(f"register {path}: {rows} row(s), {cities} cities, {errors} error(s), "
         f"{warnings} warning(s)")
    if as_json:
        emit_json({"file": str(path), "rows": rows, "cities": cities,
                   "problems": [p.as_dict() for p in problems]})
    ctx.exit(1 if errors else 0)
