"""`cityqda review export|import|log`: review workbooks and the audit log."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipeline.cli.output import info
from pipeline.errors import CityQDAError


@click.group("review")
def group():
    """Review codings in Excel: export a workbook per coder, import it, show the log."""


@group.command("export")
@click.option("--coder", required=True, help="Coder id declared in cityqda.toml.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Workbook to write (default reviews/outbox/<study>-<coder>-<export>.xlsx).")
@click.option("--city", "cities", multiple=True, help="Only this city (repeatable).")
@click.option("--round", "rounds", multiple=True, help="Only this register round (repeatable).")
@click.option("--category", "categories", multiple=True,
              help="Only this stakeholder category (repeatable).")
@click.option("--code", "codes", multiple=True,
              help="Only codings of this code or dimension and the codes below it "
                   "(repeatable).")
@click.option("--dimension", "dimensions", multiple=True, help="Same as --code (repeatable).")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(["suggested", "accepted", "rejected", "disputed",
                                 "superseded"]),
              help="Only codings with this derived status (repeatable).")
@click.option("--only-unreviewed", is_flag=True,
              help="Only codings this coder has not decided yet.")
@click.option("--sample", type=click.IntRange(min=1),
              help="A random sample of N segments (the same for every coder with one seed).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --sample.")
@click.option("--protect", is_flag=True,
              help="Protect the sheets: filtering stays possible, sorting and deleting rows "
                   "do not.")
@click.pass_obj
def export_command(obj, coder, out, cities, rounds, categories, codes, dimensions, statuses,
                   only_unreviewed, sample, seed, protect):
    """Write a review workbook for one coder (an adjudicator gets the disputed codings)."""
    from pipeline.review.export import export_review
    from pipeline.review.rows import ReviewFilters
    from pipeline.store import open_study_store

    study = obj.study()
    study.coder(coder)
    filters = ReviewFilters(cities=cities, rounds=rounds, categories=categories,
                            codes=codes + dimensions, statuses=statuses)
    store = open_study_store(study)
    try:
        result = export_review(study, store, coder, out=out, filters=filters, sample=sample,
                               seed=seed, only_unreviewed=only_unreviewed, protect=protect)
    finally:
        store.close()
    info(f"wrote {result.path} ({result.kind} export {result.export_id} for {coder}): "
         f"{result.rows} coding(s), {result.segments} segment(s), "
         f"{result.interviews} interview(s)")


@group.command("import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--skip-stale", is_flag=True,
              help="Leave stale rows as they are in the store and import the rest.")
@click.option("--coder", help="Refuse workbooks that were not exported for this coder.")
@click.pass_obj
@click.pass_context
def import_command(ctx, obj, files, dry_run, skip_stale, coder):
    """Import returned review workbooks: all of them, or nothing when any has a problem.

    Problems are listed on stderr and in <workbook>.problems.csv next to each workbook.
    """
    from pipeline.review.workbook import start_prefetch

    start_prefetch(files)  # parse the big sheets on the second core while the rest loads
    from pipeline.review.importer import import_reviews, problems_path
    from pipeline.store import open_study_store

    study = obj.study()
    store = open_study_store(study)
    try:
        report = import_reviews(study, store, list(files), dry_run=dry_run,
                                skip_stale=skip_stale, coder=coder)
    except CityQDAError as exc:
        info(exc.render())
        for path in files:
            if problems_path(path).exists():
                info(f"problems listed in {problems_path(path)}")
        info("nothing was imported")
        ctx.exit(exc.exit_code)
    finally:
        store.close()
    for problem in report.problems:
        info(problem.render())
    for line in report.lines():
        info(line)


@group.command("log")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text",
              show_default=True, help="text for people; jsonl for `cityqda restore`.")
@click.option("--coder", help="Only this coder's events.")
@click.option("--all", "all_kinds", is_flag=True,
              help="Every event, also automatic ones (re-codes, renames), not only human work.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of stdout.")
@click.pass_obj
def log_command(obj, fmt, coder, all_kinds, out):
    """The audit log: every decision, comment, added coding and memo, oldest first."""
    from pipeline.review.audit import log_lines, write_log_file
    from pipeline.store import open_study_store

    study = obj.study()
    store = open_study_store(study)
    try:
        with store.read() as conn:
            lines = log_lines(conn, fmt=fmt, coder=coder, all_kinds=all_kinds)
            if out:
                count = write_log_file(lines, out)
            else:
                if hasattr(sys.stdout, "reconfigure"):
                    sys.stdout.reconfigure(encoding="utf-8")
                sys.stdout.writelines(lines)
    finally:
        store.close()
    if out:
        info(f"wrote {count} event(s) to {out}")
