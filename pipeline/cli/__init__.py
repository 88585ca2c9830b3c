"""The `cityqda` command line: a click group whose commands load lazily.

Each command lives in its own module under `pipeline/cli/` and only parses options,
calls a plain function, and prints. Loading lazily keeps `cityqda --help` and
`--version` fast (spaCy is imported only by the commands that code).
"""

from __future__ import annotations

import importlib
import sys

import click

from pipeline import __version__
from pipeline.cli.context import CliContext
from pipeline.errors import CityQDAError

# command name -> "module:attribute"; one module per command.
COMMANDS = {
    "init": "pipeline.cli.init:command",
    "run": "pipeline.cli.run:command",
    "backup": "pipeline.cli.backup:command",
    "guides": "pipeline.cli.guides:group",
    "register": "pipeline.cli.register:group",
    "ingest": "pipeline.cli.ingest:command",
    "status": "pipeline.cli.status:command",
    "export": "pipeline.cli.export:group",
    "interview": "pipeline.cli.interview:group",
    "qdpx": "pipeline.cli.qdpx:group",
    "codebook": "pipeline.cli.codebook:group",
    "tag": "pipeline.cli.tag:command",
    "code": "pipeline.cli.code:command",
    "actors": "pipeline.cli.actors:group",
    "report": "pipeline.cli.report:command",
    "aggregate": "pipeline.cli.aggregate:command",
    "agreement": "pipeline.cli.agreement:command",
    "review": "pipeline.cli.review:group",
    "restore": "pipeline.cli.restore:command",
}

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class LazyGroup(click.Group):
    """Click group that imports a command's module only when that command is used."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CityQDAError as exc:
            click.echo(exc.render(), err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="cityqda")
@click.option("--project", "project_dir", default=".", show_default=True,
              type=click.Path(file_okay=False, path_type=str),
              help="Study folder (holds cityqda.toml and the store).")
@click.pass_context
def main(ctx, project_dir):
    """Code qualitative interviews on migrant and refugee integration in cities.

    Exit codes: 0 nothing failed (warnings allowed), 1 some input failed, 2 usage error.
    """
    ctx.obj = CliContext(project_dir)


def run_main() -> None:  # pragma: no cover - convenience for `python -m pipeline.cli`
    sys.exit(main())
