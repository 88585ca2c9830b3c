"""`cityqda init DIR`: create a new study folder."""

import click

from pipeline.cli.output import info
from pipeline.init_study import init_study


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--name", help="Study name written to cityqda.toml (default: the folder name).")
def command(directory, name):
    """Create a new study in DIRECTORY (refuses an existing study)."""
    created = init_study(directory, name)
    info(f"Created study {created}")
    info("Next: put DOCX transcripts in transcripts/, fill register.xlsx (one row per "
         "stakeholder contacted), declare your coders under [[coders]] in cityqda.toml, "
         "then `cityqda run` (README: 'Your own study').")
