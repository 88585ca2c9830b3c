"""`cityqda agreement`: how far coders who reviewed the same segments agree."""

from __future__ import annotations

import click

from pipeline.cli.output import emit_json, info


@click.command("agreement")
@click.option("--coder", "coders", multiple=True,
              help="Compare only these coders (repeat the option); default every coder.")
@click.option("--resamples", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Bootstrap resamples for the 95% intervals (0 switches them off).")
@click.option("--seed", type=int, default=None,
              help="Bootstrap seed (a fixed default, so reports repeat exactly).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="XLSX report to write (default: outputs/agreement.xlsx in the study).")
@click.option("--no-xlsx", is_flag=True, help="Write no files, print only.")
@click.option("--no-rules", is_flag=True,
              help="Leave out rule quality (precision and recall of the coding rules, "
                   "written to outputs/rule_quality.xlsx and CSV).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the whole report as one JSON object on stdout.")
@click.pass_obj
def command(obj, coders, resamples, seed, out, no_xlsx, no_rules, as_json):
    """Agreement between coders on segment × code presence (headline: pooled Krippendorff's
    alpha) and on interview × code presence, per code, per dimension and pooled, with
    percent agreement, Cohen's kappa (two coders), Krippendorff's alpha and bootstrap 95%
    intervals. A coder marks a code present by accepting, adding or changing to it; absent
    where they reviewed the segment and did not. Adjudicators are not compared.

    Also rule quality: precision of each coding rule and code (accepted / decided
    suggestions) and recall of each code (misses are codings coders added themselves),
    weakest first, in outputs/rule_quality.xlsx and CSV."""
    from pathlib import Path

    from pipeline.errors import CityQDAError, warn
    from pipeline.review.agreement import agreement_report
    from pipeline.review.agreement_stats import DEFAULT_SEED
    from pipeline.store import open_study_store

    if out and Path(out).suffix.lower() != ".xlsx":
        raise CityQDAError("CQ603", path=out)
    study = obj.study()
    for coder_id in coders:
        if study.coder(coder_id).role == "adjudicator":
            raise CityQDAError("CQ601", coder=coder_id)
    store = open_study_store(study)
    try:
        report = agreement_report(study, store, coders=list(coders) or None,
                                  resamples=resamples,
                                  seed=DEFAULT_SEED if seed is None else seed,
                                  out=Path(out) if out else None, write=not no_xlsx,
                                  rules=not no_rules)
    finally:
        store.close()
    if not report.compared:
        warn("CQ650", reason=report.reason)
    else:
        for line in report.lines():
            info(line)
    for line in report.rule_lines():
        info(line)
    if as_json:
        emit_json(report.as_dict())
