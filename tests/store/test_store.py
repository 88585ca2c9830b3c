"""The project store: migrations, refusal of newer stores, transactions, concurrency, backup."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, func, inspect, select

from pipeline.errors import CityQDAError
from pipeline.store import (
    Store,
    backup_store,
    migrate,
    open_store,
    record_event,
)
from pipeline.store import migrations as migrations_pkg
from pipeline.store.migrations import CURRENT_VERSION
from pipeline.store.schema import events, metadata

FROZEN = Path(__file__).parent / "frozen"


def _sqlite_schema(path: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
            "ORDER BY type, name").fetchall()
    finally:
        conn.close()
    return [(t, n, " ".join((s or "").split())) for t, n, s in rows]


def _reflected(conn) -> dict:
    insp = inspect(conn)
    shape = {}
    for table in sorted(insp.get_table_names()):
        columns = [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)]
        indexes = sorted((i["name"], tuple(i["column_names"])) for i in insp.get_indexes(table))
        fks = sorted((tuple(f["constrained_columns"]), f["referred_table"])
                     for f in insp.get_foreign_keys(table))
        shape[table] = (columns, indexes, fks)
    return shape


def test_store_migrations_build_the_current_schema(tmp_path):
    migrated = open_store(tmp_path / "migrated.sqlite")
    declared = open_store(tmp_path / "declared.sqlite")
    with declared.engine.begin() as conn:
        metadata.drop_all(conn)
        metadata.create_all(conn)
    with migrated.read() as a, declared.read() as b:
        assert _reflected(a) == _reflected(b)
    assert migrated.schema_version() == CURRENT_VERSION
    migrated.close()
    declared.close()


@pytest.mark.parametrize("version", range(1, CURRENT_VERSION + 1))
def test_store_released_migrations_match_their_frozen_ddl(tmp_path, version):
    frozen = FROZEN / f"schema_v{version}.sql"
    assert frozen.is_file(), f"freeze the DDL of version {version}: python scripts/freeze_schema.py"
    path = tmp_path / "store.sqlite"
    store = open_store(path)
    store.close()
    if version == CURRENT_VERSION:
        expected = [tuple(line.split("\t")) for line in frozen.read_text().splitlines()]
        assert [tuple(r) for r in _sqlite_schema(path)] == expected


@pytest.mark.parametrize("version", range(1, CURRENT_VERSION + 1))
def test_store_each_migration_applies_to_the_frozen_previous_version(tmp_path, version,
                                                                     frozen_store):
    """Version 0 is an empty file (what SQLite creates); later ones come from frozen DDL."""
    path = tmp_path / "old.sqlite"
    conn = frozen_store(path, version - 1)
    conn.commit()
    conn.close()
    store = open_store(path)
    assert store.schema_version() == CURRENT_VERSION
    store.close()


def test_store_refuses_a_store_from_a_newer_cityqda(tmp_path):
    path = tmp_path / "future.sqlite"
    store = open_store(path)
    with store.write() as conn:
        conn.exec_driver_sql(
            "UPDATE store_meta SET value = ? WHERE key = 'schema_version'",
            (str(CURRENT_VERSION + 1),))
    store.close()
    before = path.read_bytes()
    with pytest.raises(CityQDAError) as info:
        open_store(path)
    assert info.value.code == "CQ010"
    assert str(CURRENT_VERSION + 1) in info.value.render()
    assert path.read_bytes() == before


def test_store_upgrades_an_older_store_after_a_backup_copy(tmp_path, monkeypatch, capsys):
    path = tmp_path / "old.sqlite"
    store = open_store(path)
    with store.write() as conn:
        record_event(conn, actor="ana", kind="test", entity="interviews", entity_key="1",
                     new={"x": 1})
    store.close()

    extra = MetaData()
    Table("future_things", extra, Column("id", Integer, primary_key=True))

    class FutureMigration:
        VERSION = CURRENT_VERSION + 1

        @staticmethod
        def upgrade(conn):
            extra.create_all(conn)

    monkeypatch.setattr(migrations_pkg, "MIGRATIONS",
                        [*migrations_pkg.MIGRATIONS, FutureMigration])
    monkeypatch.setattr("pipeline.store.MIGRATIONS", migrations_pkg.MIGRATIONS)
    monkeypatch.setattr("pipeline.store.CURRENT_VERSION", CURRENT_VERSION + 1)

    upgraded = open_store(path)
    assert upgraded.schema_version() == CURRENT_VERSION + 1
    with upgraded.read() as conn:
        assert inspect(conn).has_table("future_things")
        assert conn.execute(select(func.count()).select_from(events)).scalar() == 1
    upgraded.close()
    backup = tmp_path / f"old.sqlite.v{CURRENT_VERSION}.bak"
    assert backup.is_file()
    copy = sqlite3.connect(backup)
    assert copy.execute("SELECT value FROM store_meta").fetchone()[0] == str(CURRENT_VERSION)
    copy.close()
    assert "CQ051" in capsys.readouterr().err


def test_store_write_is_all_or_nothing(tmp_path):
    store = open_store(tmp_path / "s.sqlite")
    with pytest.raises(RuntimeError):
        with store.write() as conn:
            record_event(conn, actor="ana", kind="test", entity="x", entity_key="1")
            raise RuntimeError("crash half-way")
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar() == 0
    store.close()


@pytest.mark.parametrize("content, problem", [
    (b"this is not a database at all", "not an SQLite database"),
    (b"", None),
])
def test_store_refuses_a_file_that_is_not_a_store(tmp_path, content, problem):
    path = tmp_path / "s.sqlite"
    path.write_bytes(content)
    if problem is None:  # an empty file is what SQLite itself creates: becomes a store
        open_store(path).close()
        return
    with pytest.raises(CityQDAError) as info:
        open_store(path)
    assert info.value.code == "CQ011"
    assert problem in info.value.render()


def test_store_refuses_a_foreign_sqlite_database(tmp_path):
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE something (x)")
    conn.commit()
    conn.close()
    with pytest.raises(CityQDAError) as info:
        open_store(path)
    assert info.value.code == "CQ011"


def test_store_has_foreign_keys_and_wal(tmp_path):
    store = open_store(tmp_path / "s.sqlite")
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()


def _writer(path: str, actor: str, count: int) -> None:
    store = open_store(path)
    for index in range(count):
        with store.write() as conn:
            record_event(conn, actor=actor, kind="test", entity="x", entity_key=str(index))
            # read-modify-write inside the transaction: a lost update would show in the count
            total = conn.execute(select(func.count()).select_from(events)).scalar()
            record_event(conn, actor=actor, kind="count", entity="x", entity_key=str(total))
    store.close()


def test_store_two_processes_writing_at_once_do_not_corrupt_it(tmp_path):
    path = tmp_path / "shared.sqlite"
    open_store(path).close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(str(path), name, 150))
               for name in ("ana", "ben")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
        assert worker.exitcode == 0
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 600
    counts = sorted(int(k) for (k,) in conn.execute(
        "SELECT entity_key FROM events WHERE kind = 'count'"))
    conn.close()
    # each transaction saw every earlier one: the counts seen are all distinct
    assert len(set(counts)) == 300


def test_store_backup_copies_a_live_store(tmp_path):
    store = open_store(tmp_path / "s.sqlite")
    with store.write() as conn:
        record_event(conn, actor="ana", kind="test", entity="x", entity_key="1")
    target = backup_store(store.path, tmp_path / "b" / "copy.sqlite")
    store.close()
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1
    copy.close()
    with pytest.raises(CityQDAError) as info:
        backup_store(tmp_path / "s.sqlite", target)
    assert info.value.code == "CQ013"


@pytest.mark.parametrize("target_in", ["a_file", "missing_device"])
def test_store_backup_to_an_unwritable_place_is_a_clear_error(tmp_path, target_in):
    """A target under a file (or a folder SQLite cannot create files in) is CQ015, not a
    traceback, and leaves nothing behind."""
    store = open_store(tmp_path / "s.sqlite")
    store.close()
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    target = (blocker / "copy.sqlite" if target_in == "a_file"
              else Path("/proc/cityqda-backup.sqlite"))
    with pytest.raises(CityQDAError) as info:
        backup_store(tmp_path / "s.sqlite", target)
    assert info.value.code == "CQ015"
    assert str(target) in str(info.value)
    assert not target.exists()
    assert not target.with_name(target.name + ".partial").exists()
    assert blocker.read_text() == "not a folder"


def test_store_migrate_is_idempotent(tmp_path):
    store = open_store(tmp_path / "s.sqlite")
    assert migrate(store) == CURRENT_VERSION
    store.close()


def test_store_v4_counts_an_export_by_its_review_exports_row(tmp_path, frozen_store):
    """Migration 4 stops counting review_export_rows (written only with a review_exports
    or review_imports row); the other counters of a v3 store are kept."""
    path = tmp_path / "v3.sqlite"
    conn = frozen_store(path, 3)
    conn.executemany("INSERT INTO data_versions VALUES (?, ?)",
                     [("review_exports", 4), ("review_export_rows", 9), ("decisions", 2)])
    conn.commit()
    conn.close()
    store = open_store(path, warn_location=False)
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO review_exports (id, kind, coder, role, file, codebook_id, "
                 "codebook_version, scope, rows, created_at) "
                 "VALUES ('e1', 'review', 'ana', 'coder', 'f.xlsx', 'cb', '1', '{}', 1, 't')")
    conn.executemany("INSERT INTO review_export_rows (export_id, sheet, row_key, entity, "
                     "entity_id, content_sha256) VALUES ('e1', 'Codings', ?, 'codings', ?, "
                     "'h')", [(f"C{i}", i) for i in range(3)])
    conn.commit()
    versions = dict(conn.execute("SELECT table_name, version FROM data_versions"))
    triggers = [name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
        ("review_export_rows",))]
    conn.close()
    assert versions == {"review_exports": 5, "decisions": 2}
    assert triggers == []


def _in_a_fork(start, *args) -> str:
    """What SIGINT does in a forked process after the worker initialiser `start` ran."""
    import signal

    def probe(queue):
        start(*args)
        queue.put(repr(signal.getsignal(signal.SIGINT)))

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=probe, args=(queue,))
    process.start()
    process.join(60)
    return queue.get(timeout=5)


@pytest.mark.parametrize("initialiser", ["store", "code", "chart"])
def test_store_forked_workers_leave_ctrl_c_to_the_parent(tmp_path, initialiser):
    """Ctrl-C reaches the whole process group: ingest, code and report workers and the
    chart drawer ignore it (the parent stops them), instead of printing a traceback each."""
    import signal

    from pipeline import code_study
    from pipeline.report import chart

    store = open_store(tmp_path / "cityqda.sqlite", warn_location=False)
    try:
        start, args = {"store": (Store.in_forked_worker, (store,)),
                       "code": (code_study._worker_start, (store,)),
                       "chart": (chart._drawer_start, ())}[initialiser]
        assert _in_a_fork(start, *args) == repr(signal.SIG_IGN)
        with store.read() as conn:  # the parent's connections are left working
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        store.close()
