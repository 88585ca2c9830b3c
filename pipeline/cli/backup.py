"""`cityqda backup [TARGET]`: a consistent copy of the live store."""

from datetime import UTC, datetime
from pathlib import Path

import click

from pipeline.cli.output import info


@click.command("backup")
@click.argument("target", required=False, type=click.Path(dir_okay=False))
@click.pass_obj
def command(obj, target):
    """Copy the store with SQLite's backup API (default: backups/cityqda-<time>.sqlite)."""
    from pipeline.store import backup_store  # SQLAlchemy: not at import (`cityqda --help`)

    study = obj.study()
    if target is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = study.root / "backups" / f"cityqda-{stamp}.sqlite"
    written = backup_store(study.store_path, Path(target))
    info(f"Backed up {study.store_path} to {written}")
