"""`cityqda actors validate|export`: check the actor registry; write the reviewed one back."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from pipeline.cli.output import emit_json, info
from pipeline.errors import CityQDAError


@click.group("actors")
def group():
    """The actor registry: organisations recognised by name, with category and sector."""


@group.command("validate")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True,
              help="Print {file, actors, problems} as one JSON object on stdout.")
@click.pass_obj
@click.pass_context
def validate_command(ctx, obj, file, as_json):
    """Check a registry: schema, unique ids, known parents, names unique within a city.

    FILE defaults to the study's registry (with --project), else the packaged one. Exit 1
    when there is an error; warnings alone exit 0.
    """
    from pipeline.nlp.registry import CATEGORIES, check_registry, registry_path_for

    study = obj.study_or_none()
    path = registry_path_for(study, file)
    if file is not None and not path.exists():
        raise CityQDAError("CQ006", path=str(path))
    categories = study.vocabularies["categories"] if study is not None else CATEGORIES
    problems = check_registry(path, categories)
    for problem in problems:
        info(problem.render())
    errors = sum(p.spec.level == "error" for p in problems)
    count = 0
    if not errors:
        from pipeline.nlp.registry import load_registry

        count = len(load_registry(path, categories).actors)
    info(f"actor registry {path}: {count} actor(s), {errors} error(s), "
         f"{len(problems) - errors} warning(s)")
    if as_json:
        emit_json({"file": str(path), "actors": count,
                   "problems": [p.as_dict() for p in problems]})
    ctx.exit(1 if errors else 0)


@group.command("export")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=str),
              help="Write the registry to this file (default: standard output).")
@click.pass_obj
def export_command(obj, out_file):
    """Write the study's registry with the actors confirmed in review merged in.

    Confirmed actors update their entry or become new ones, names merged into an actor
    become its aliases; rejected and undecided ones change nothing. Commit the result as the
    study's codebooks/actors.yaml.
    """
    from pipeline.nlp.registry import export_study_registry

    study = obj.study()
    text, problems = export_study_registry(study, study.vocabularies["categories"])
    for problem in problems:
        info(problem.render())
    if out_file is None:
        sys.stdout.write(text)
        return
    write_text_atomically(Path(out_file), text)
    info(f"actor registry written to {out_file}")


def write_text_atomically(path: Path, text: str) -> None:
    """All of the file or none of it (a temporary file renamed into place)."""
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(temp, path)
    except OSError as exc:
        if "temp" in locals() and os.path.exists(temp):
            os.unlink(temp)
        raise CityQDAError("CQ310", path=str(path), problem=exc.strerror or str(exc)) from exc
