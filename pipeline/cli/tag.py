"""`cityqda tag`: code texts without a study or a store (stateless).

Input is JSON Lines {"id", "text"} on stdin or --input FILE, or one --text; output is one
JSON object per non-blank input line, in input order, on stdout (see pipeline.nlp.tagger).
"""

from __future__ import annotations

import io
import sys

import click

from pipeline.cli.output import emit_json, info
from pipeline.errors import EXIT_INPUT, CityQDAError


@click.command("tag")
@click.option("--input", "input_file", type=click.Path(dir_okay=False, path_type=str),
              help="JSON Lines file of {\"id\", \"text\"} objects (default: standard input).")
@click.option("--text", "text", help="Tag this one text (its id is null).")
@click.option("--codebook", "codebook_file", type=click.Path(dir_okay=False, path_type=str),
              help="Codebook file (default: the study's when --project is one, else the "
                   "packaged codebook).")
@click.option("--actors", "actors_file", type=click.Path(dir_okay=False, path_type=str),
              help="Actor registry (YAML) (default: the study's when --project is one, else "
                   "the packaged registry).")
@click.option("--keep-going", is_flag=True,
              help="Tag the valid lines even when some are malformed (exit code stays 1).")
@click.pass_obj
@click.pass_context
def command(ctx, obj, input_file, text, codebook_file, actors_file, keep_going):
    """Code texts with the codebook and print one JSON object per text."""
    from pipeline.cli.codebook import resolve_codebook_path
    from pipeline.codebook import DIMENSION_ORDER, load_codebook
    from pipeline.nlp.jsonl import Record, parse_lines

    if text is not None and input_file is not None:
        raise CityQDAError("CQ211", problem="--text and --input cannot be used together")
    path, dimensions = resolve_codebook_path(obj, codebook_file)
    codebook = load_codebook(path, dimensions or DIMENSION_ORDER)

    if text is not None:
        records, problems = [Record(1, None, text)], []
    else:
        source = input_file or "<stdin>"
        try:
            if input_file is not None:
                with open(input_file, encoding="utf-8") as handle:
                    records, problems = parse_lines(handle, source)
            else:
                binary = getattr(sys.stdin, "buffer", None)
                stream = (io.TextIOWrapper(binary, encoding="utf-8") if binary is not None
                          else sys.stdin)
                records, problems = parse_lines(stream, source)
        except FileNotFoundError as exc:
            raise CityQDAError("CQ006", path=input_file) from exc
        except UnicodeDecodeError as exc:
            raise CityQDAError("CQ210", file=source, line="?",
                               problem=f"input is not UTF-8 ({exc.reason})") from exc
    for problem in problems:
        info(problem.render())
    if problems and not keep_going:
        info(f"{len(problems)} malformed line(s); nothing tagged (use --keep-going to tag "
             "the others)")
        ctx.exit(EXIT_INPUT)

    from pipeline.nlp.registry import registry_path_for
    from pipeline.nlp.tagger import Tagger

    tagger = Tagger(codebook, actors=registry_path_for(obj.study_or_none(), actors_file))
    for result in tagger.tag_records((record.id, record.text) for record in records):
        emit_json(result)
    sys.stdout.flush()
    if problems:
        info(f"{len(problems)} malformed line(s) skipped; {len(records)} tagged")
        ctx.exit(EXIT_INPUT)
