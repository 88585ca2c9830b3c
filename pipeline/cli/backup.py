"""`cityqda backup [TARGET]`: a consistent copy of the live store."""

from pathlib import Path

import click

from pipeline.cli.output import info


@click.command("backup")
@click.argument("target", required=False, type=click.Path(dir_okay=False))
@click.pass_obj
def command(obj, target):
    """Copy the store with SQLite's backup API (default: backups/cityqda-<time>.sqlite)."""
    from pipeline.store import backup_store, default_backup_target  # SQLAlchemy: not at import

    study = obj.study()
    target = Path(target) if target is not None else default_backup_target(study.root)
    written = backup_store(study.store_path, target)
    info(f"Backed up {study.store_path} to {written}")
