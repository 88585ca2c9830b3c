"""Output rules shared by commands: data on stdout only, everything else on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

import click

T = TypeVar("T")


def emit_json(obj) -> None:
    """One JSON document (or JSON Lines record) on stdout, UTF-8, non-ASCII kept."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def info(message: str) -> None:
    click.echo(message, err=True)


def progress(items: Iterable[T], label: str, length: int | None = None) -> Iterator[T]:
    """A progress bar on stderr when stderr is a terminal; otherwise nothing is drawn."""
    if not sys.stderr.isatty():
        yield from items
        return
    with click.progressbar(items, label=label, length=length, file=sys.stderr) as bar:
        yield from bar
