"""`cityqda guides validate|show`: check and print the interview guides."""

from pathlib import Path

import click

from pipeline.cli.output import emit_json, info
from pipeline.errors import CityQDAError


def _source(obj, folder: str | None, fallback_to_defaults: bool):
    """(guides folder, study vocabularies or None): --folder, else the study, else defaults."""
    study = obj.study_or_none()
    vocabularies = study.vocabularies if study is not None else None
    if folder is not None:
        return Path(folder), vocabularies
    if study is not None:
        return study.path("guides"), vocabularies
    if fallback_to_defaults:
        from pipeline.ingest.guides import default_guides_dir

        return default_guides_dir(), None
    obj.study()  # raises CQ001, naming `cityqda init` and --folder's alternative --project
    raise AssertionError("unreachable")


def _summary(problems) -> tuple[int, int]:
    errors = sum(p.spec.level == "error" for p in problems)
    return errors, len(problems) - errors


@click.group("guides")
def group():
    """Check and print the semi-structured interview guides (YAML)."""


@group.command("validate")
@click.option("--folder", type=click.Path(file_okay=False, path_type=str),
              help="Guides folder to check (default: the study's [paths] guides).")
@click.option("--json", "as_json", is_flag=True,
              help="Print {folder, guides, problems} as one JSON object on stdout.")
@click.pass_obj
@click.pass_context
def validate_command(ctx, obj, folder, as_json):
    """Check every guide against the schema and the study's vocabularies."""
    from pipeline.ingest.guides import check_guides
    from pipeline.study import DEFAULT_VOCABULARIES

    path, vocabularies = _source(obj, folder, fallback_to_defaults=False)
    guides, problems = check_guides(path, vocabularies or DEFAULT_VOCABULARIES)
    for problem in problems:
        info(problem.render())
    errors, warnings = _summary(problems)
    info(f"guides {path}: {len(guides)} guide(s), {errors} error(s), {warnings} warning(s)")
    if as_json:
        emit_json({"folder": str(path), "guides": list(guides),
                   "problems": [p.as_dict() for p in problems]})
    ctx.exit(1 if errors else 0)


def _render_tree(guide) -> list[str]:
    lines = [f"{guide.id}: {guide.title}",
             f"  categories: {', '.join(guide.categories)}"]
    for s_index, section in enumerate(guide.sections, start=1):
        lines.append(f"  {s_index}. {section.title}")
        if section.aliases:
            lines.append(f"     (also: {'; '.join(section.aliases)})")
        if section.note:
            lines.append(f"     [{section.note}]")
        for q_index, question in enumerate(section.questions, start=1):
            lines.append(f"     {s_index}.{q_index} {question.text}")
            if question.note:
                lines.append(f"         [{question.note}]")
            for probe in question.probes:
                lines.append(f"         - {probe}")
    return lines


@group.command("show")
@click.argument("guide_id", required=False)
@click.option("--folder", type=click.Path(file_okay=False, path_type=str),
              help="Guides folder (default: the study's, else the package defaults).")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: the guide, or {\"guides\": [...]} for all.")
@click.pass_obj
def show_command(obj, guide_id, folder, as_json):
    """Print one guide (GUIDE_ID) or all of them as a tree of sections and questions."""
    from pipeline.ingest.guides import load_guides

    path, vocabularies = _source(obj, folder, fallback_to_defaults=True)
    guides = load_guides(path, vocabularies)
    if guide_id is not None:
        if guide_id not in guides:
            raise CityQDAError("CQ911", guide=guide_id, known=", ".join(guides))
        selected = [guides[guide_id]]
    else:
        selected = list(guides.values())
    if as_json:
        if guide_id is not None:
            emit_json(selected[0].to_dict())
        else:
            emit_json({"guides": [g.to_dict() for g in selected]})
        return
    blocks = ["\n".join(_render_tree(g)) for g in selected]
    click.echo("\n\n".join(blocks))
