"""`cityqda codebook validate|show|export`: check, print and export the codebook.

The codebook comes from FILE or --codebook, else from the study (`--project`), else from the
package defaults. Later issues add `diff`, `import` and `--format qdc` here; the logic lives
in `pipeline.codebook`.
"""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.output import emit_json, info


def resolve_codebook_path(obj, given: str | None) -> tuple[Path, tuple[str, ...] | None]:
    """(codebook path, the study's dimensions or None): given, else the study, else default."""
    from pipeline.codebook import default_codebook_path

    study = obj.study_or_none()
    dimensions = tuple(study.vocabularies["dimensions"]) if study is not None else None
    if given is not None:
        return Path(given), dimensions
    if study is not None:
        return study.path("codebook"), dimensions
    return default_codebook_path(), None


def _load(obj, given):
    from pipeline.codebook import DIMENSION_ORDER, load_codebook

    path, dimensions = resolve_codebook_path(obj, given)
    return load_codebook(path, dimensions or DIMENSION_ORDER)


@click.group("codebook")
def group():
    """Check, print and export the codebook (codes, rules, cue lists)."""


@group.command("validate")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True,
              help="Print {file, version, problems} as one JSON object on stdout.")
@click.pass_obj
@click.pass_context
def validate_command(ctx, obj, file, as_json):
    """Check FILE (default: the study's codebook) and list every problem with its place.

    In a study whose store holds codings of this codebook, also check that it can follow
    them: a new version for changed matching, and a `changes` entry for every coded code
    renamed, merged, split or retired (what `cityqda run` would otherwise refuse).
    """
    from pipeline.codebook import DIMENSION_ORDER, check_codebook

    path, dimensions = resolve_codebook_path(obj, file)
    problems = check_codebook(path, dimensions or DIMENSION_ORDER)
    if not problems:
        problems = _history_problems(obj.study_or_none(), path, dimensions or DIMENSION_ORDER)
    for problem in problems:
        info(problem.render())
    info(f"codebook {path}: {len(problems)} problem(s)")
    if as_json:
        emit_json({"file": str(path), "valid": not problems,
                   "problems": [dict(p.as_dict(), path=p.fields.get("yaml_path"),
                                     line=p.fields.get("line")) for p in problems]})
    ctx.exit(1 if problems else 0)


def _history_problems(study, path: Path, dimensions) -> list:
    """What `code` would refuse in this study's store (CQ401-CQ403: a version reused with
    other matching content, a coded code gone without a `changes` entry, a code id reused),
    so a codebook that validates also codes. Reads the store only; none without a study, a
    store, or a version of this codebook (its id) coded in it."""
    if study is None or not study.store_path.is_file():
        return []
    from sqlalchemy import select

    from pipeline.codebook import load_codebook
    from pipeline.coding.versions import CodebookSource, check_against_store
    from pipeline.errors import CityQDAError
    from pipeline.store import open_study_store
    from pipeline.store.schema import codebook_versions

    source = CodebookSource.read(load_codebook(path, dimensions))
    store = open_study_store(study)
    try:
        with store.read() as conn:
            if conn.execute(select(codebook_versions.c.id).where(
                    codebook_versions.c.codebook_id == source.codebook.id)).first() is None:
                return []
            check_against_store(conn, source)
    except CityQDAError as exc:
        return list(exc.problems)
    finally:
        store.close()
    return []


@group.command("show")
@click.option("--codebook", "codebook_file", type=click.Path(dir_okay=False, path_type=str),
              help="Codebook file (default: the study's, else the packaged one).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole codebook as JSON.")
@click.pass_obj
def show_command(obj, codebook_file, as_json):
    """Print the code tree (dimensions, subcodes, challenges) and the rules."""
    from pipeline.codebook.present import codebook_dict, render_tree

    codebook = _load(obj, codebook_file)
    if as_json:
        emit_json(codebook_dict(codebook))
    else:
        click.echo("\n".join(render_tree(codebook)))


@group.command("export")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "qdc"]), required=True,
              help="xlsx: sheets Codes, Rules, Cues; csv: one row per code; qdc: REFI-QDA "
                   "codebook (code tree) for NVivo, ATLAS.ti, MAXQDA, QualCoder.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="File to write (replaced if it exists).")
@click.option("--codebook", "codebook_file", type=click.Path(dir_okay=False, path_type=str),
              help="Codebook file (default: the study's, else the packaged one).")
@click.pass_obj
def export_command(obj, fmt, out, codebook_file):
    """Write the codebook as a file coders can read: definitions, criteria, examples, patterns."""
    from pipeline.codebook.present import export_csv, export_xlsx

    codebook = _load(obj, codebook_file)
    if fmt == "qdc":
        from pipeline.exchange.from_codebook import export_qdc

        for problem in export_qdc(codebook, out):
            info(problem.render())
    else:
        from pipeline.review.rule_quality import study_codebook_quality

        study = obj.study_or_none()  # with a reviewed store, how each code's rules did
        quality = study_codebook_quality(study) if study is not None else None
        (export_xlsx if fmt == "xlsx" else export_csv)(codebook, out, quality=quality)
    info(f"wrote {out} ({len(codebook.codes)} codes, version {codebook.version})")


@group.command("diff")
@click.argument("old", type=click.Path(dir_okay=False, path_type=str))
@click.argument("new", type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the differences as one JSON object.")
@click.pass_obj
@click.pass_context
def diff_command(ctx, obj, old, new, as_json):
    """List what changed from codebook OLD to NEW: declared changes (renamed, merged, split,
    retired), codes, patterns, rules, cues, wording. Exit 1 when NEW could not follow OLD
    (matching content changed under the same version, codes dropped without a change)."""
    from pipeline.codebook.diff import diff_files

    _path, dimensions = resolve_codebook_path(obj, None)
    result = diff_files(old, new, dimensions)
    if as_json:
        emit_json(result.as_dict())
    else:
        click.echo("\n".join(result.lines()))
    for problem in result.problems:
        info(f"problem: {problem}")
    ctx.exit(1 if result.problems else 0)


@group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=str),
              help="Draft codebook YAML to write (default: FILE with .yaml).")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@click.option("--json", "as_json", is_flag=True,
              help="Print {file, out, codes, problems} as one JSON object on stdout.")
@click.pass_obj
def import_command(obj, file, out, force, as_json):
    """Turn a REFI-QDA codebook (.qdc, or the code tree of a .qdpx project) from another
    tool into a draft cityqda codebook.

    Names, hierarchy and descriptions carry over; patterns, colours, notes and sets cannot,
    and each loss is listed. The draft needs patterns (and the study's dimensions) before
    `cityqda code` can use it.
    """
    from pipeline.codebook import DIMENSION_ORDER
    from pipeline.codebook.from_qdc import import_qdc

    path, dimensions = resolve_codebook_path(obj, None)
    result = import_qdc(file, out, dimensions=dimensions or DIMENSION_ORDER,
                        reference_path=path, force=force)
    for problem in result.problems:
        info(problem.render())
    for line in result.lines():
        info(line)
    if as_json:
        emit_json({"file": str(result.source), "out": str(result.out), "codes": result.codes,
                   "problems": [p.as_dict() for p in result.problems]})
