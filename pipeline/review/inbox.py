"""The `import_reviews` stage of `cityqda run`: workbooks coders dropped in reviews/inbox/.

Each workbook is imported on its own, so one bad workbook does not hold back the others; a
workbook already imported (same bytes) is skipped, which makes re-runs idempotent. A refused
workbook stays in the inbox with its `<name>.problems.csv` beside it.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from pipeline.errors import CityQDAError
from pipeline.store.schema import review_imports


def inbox_workbooks(folder: Path) -> list[Path]:
    """Workbooks in the inbox, by name; Excel's lock files (~$...) left out."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in (".xlsx", ".xlsm")
                  and not p.name.startswith(("~$", ".~lock", ".")))


def stage_import_reviews(ctx) -> None:
    from pipeline.hashing import file_sha256

    folder = ctx.study.path("reviews_inbox")
    if not ctx.options.import_reviews:
        ctx.stage_lines.append(f"import_reviews: skipped (--no-import); {folder} not read")
        return
    paths = inbox_workbooks(folder)
    if not paths:
        ctx.stage_lines.append(f"import_reviews: no workbooks in {folder}")
        return
    with ctx.store.read() as conn:
        known = set(conn.execute(select(review_imports.c.sha256)).scalars())
    imported = already = refused = 0
    for path in paths:
        if file_sha256(path) in known:
            already += 1
            continue
        from pipeline.review.importer import import_reviews  # only when there is work

        try:
            report = import_reviews(ctx.study, ctx.store, [path], run_id=ctx.run_id)
        except CityQDAError as exc:
            refused += 1
            ctx.problems.extend(exc.problems)
            ctx.stage_lines.append(f"import_reviews: {path.name} refused (see "
                                   f"{path.with_name(path.stem + '.problems.csv').name})")
            continue
        imported += 1
        ctx.problems.extend(report.problems)
        ctx.stage_lines.extend(f"import_reviews: {line}" for line in report.lines())
    ctx.counts["reviews_imported"] = imported
    ctx.counts["reviews_refused"] = refused
    ctx.stage_lines.append(f"import_reviews: {folder}: {imported} imported, {already} already "
                           f"imported, {refused} refused")
