"""Everything SQLite-specific lives here, so the rest of the store runs on PostgreSQL later.

SQLite is opened in WAL mode with foreign keys on and a busy timeout; write transactions
start with BEGIN IMMEDIATE so two writers queue instead of failing half-way.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 30_000


def sqlite_engine(path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{path}", future=True,
                           connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's begin() decide when transactions start (pysqlite's own
        # implicit BEGIN would defer the write lock and allow lock-upgrade deadlocks).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = "IMMEDIATE" if conn.get_execution_options().get("write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def is_busy_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text


def backup_file(source: Path, target: Path) -> None:
    """Copy a live store consistently with SQLite's online backup API. SQLite's own
    failures (target folder not writable, disk full) come out as OSError, like the file
    system's, so callers need not know the dialect."""
    try:
        src = sqlite3.connect(str(source))
        try:
            dst = sqlite3.connect(str(target))
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise OSError(f"{target}: {exc}") from exc


def check_is_store(path: Path) -> str | None:
    """None when `path` is a readable SQLite file holding a cityqda store, else the reason."""
    try:
        with open(path, "rb") as handle:
            if handle.read(16) != b"SQLite format 3\x00":
                return "not an SQLite database"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name='store_meta'"
            ).fetchone()
        finally:
            conn.close()
    except (OSError, sqlite3.DatabaseError) as exc:
        return str(exc)
    return None if row else "it has no store_meta table"
