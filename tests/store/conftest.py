"""Stores of a released schema version, built from its frozen DDL (tests/store/frozen)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

FROZEN = Path(__file__).parent / "frozen"


def _frozen_store(path: Path, version: int) -> sqlite3.Connection:
    """An open connection to a new store at `path` of schema `version` (0: an empty
    file, what SQLite creates), for the caller to fill, commit and close."""
    conn = sqlite3.connect(path)
    if version > 0:
        frozen = [line.split("\t") for line in
                  (FROZEN / f"schema_v{version}.sql").read_text().splitlines()]
        # Tables before the rest (the file is sorted by type, then name).
        for _type, _name, sql in sorted(frozen, key=lambda r: r[0] != "table"):
            if sql:
                conn.execute(sql)
        conn.execute("INSERT INTO store_meta VALUES ('schema_version', ?)", (str(version),))
    return conn


@pytest.fixture
def frozen_store():
    return _frozen_store
