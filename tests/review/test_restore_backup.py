"""`cityqda restore BACKUP`: a store written by `cityqda backup` goes back in place, checked,
with the replaced store saved first; every refusal is coded and changes nothing."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from review_helpers import build_study, edit_workbook, query
from sqlalchemy import select

from pipeline.cli import main
from pipeline.store import open_study_store
from pipeline.store.schema import codings, decisions, events

FROZEN = Path(__file__).resolve().parents[1] / "store" / "frozen"


def cli(runner, study, *args):
    return runner.invoke(main, ["--project", str(study.root), *args])


def decide(runner, study, coder: str, decision: str) -> None:
    out = study.root / f"{coder}-{decision}.xlsx"
    assert cli(runner, study, "review", "export", "--coder", coder, "--out",
               str(out)).exit_code == 0
    first = query(study, select(codings.c.id).where(codings.c.coder == "")
                  .order_by(codings.c.id))[0].id
    with edit_workbook(out) as sheets:
        sheets["Codings"].set(f"C{first}", decision=decision)
    result = cli(runner, study, "review", "import", str(out))
    assert result.exit_code == 0, result.stderr


def current_decisions(study) -> list[tuple]:
    return [tuple(r) for r in query(study, select(decisions.c.coder, decisions.c.decision)
                                    .order_by(decisions.c.coder))]


def backup(runner, study, name: str) -> Path:
    target = study.root / "backups" / name
    assert cli(runner, study, "backup", str(target)).exit_code == 0
    return target


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def study(tmp_path):
    return build_study(tmp_path / "study")


def test_restore_backup_puts_back_the_backup_and_saves_the_replaced_store(runner, study):
    decide(runner, study, "ana", "accept")
    saved = backup(runner, study, "before-ben.sqlite")
    decide(runner, study, "ben", "reject")  # made after the backup
    assert current_decisions(study) == [("ana", "accept"), ("ben", "reject")]

    result = cli(runner, study, "restore", str(saved))

    assert result.exit_code == 0, result.stderr
    assert current_decisions(study) == [("ana", "accept")]
    assert "1 review decision(s)" in result.stderr
    replaced = [p for p in (study.root / "backups").iterdir() if "before-restore" in p.name]
    assert len(replaced) == 1 and str(replaced[0]) in result.stderr
    with sqlite3.connect(replaced[0]) as conn:  # ben's decision is kept there, not lost
        assert conn.execute("SELECT coder, decision FROM decisions ORDER BY coder"
                            ).fetchall() == [("ana", "accept"), ("ben", "reject")]
    assert [e.kind for e in query(study, select(events.c.kind))][-1] == "store.restored"
    leftovers = [p.name for p in study.root.iterdir() if "restoring" in p.name]
    assert leftovers == []


def test_restore_backup_leaves_no_stale_write_ahead_log(runner, study):
    saved = backup(runner, study, "empty.sqlite")
    store = open_study_store(study)  # a live connection keeps -wal and -shm on disk ...
    store.close()
    decide(runner, study, "ana", "accept")
    wal = study.store_path.with_name(study.store_path.name + "-wal")
    wal.write_bytes(b"\0" * 64)  # ... and a stale log must never be replayed into the copy

    assert cli(runner, study, "restore", str(saved)).exit_code == 0

    assert not wal.exists()
    assert current_decisions(study) == []


def _newer(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE store_meta SET value = '999' WHERE key = 'schema_version'")


def _other_study(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE store_meta SET value = 'another' WHERE key = 'study'")


def _damaged(path: Path) -> None:
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for offset in range(2 * page, len(data) - page, page):  # every table page but the first
        data[offset:offset + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))


def _not_a_store(path: Path) -> None:
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)


@pytest.mark.parametrize("spoil, code", [
    (_newer, "CQ010"),
    (_other_study, "CQ018"),
    (_damaged, "CQ017"),
    (_not_a_store, "CQ014"),
])
def test_restore_backup_refuses_a_bad_backup_and_changes_nothing(runner, study, spoil, code):
    saved = backup(runner, study, "spoiled.sqlite")
    spoil(saved)
    before = digest(study.store_path)

    result = cli(runner, study, "restore", str(saved))

    assert result.exit_code == 1
    assert f"error {code}: {saved}" in result.stderr
    assert digest(study.store_path) == before
    assert not [p for p in (study.root / "backups").iterdir() if "before-restore" in p.name]


def test_restore_backup_refuses_while_another_command_holds_the_store(runner, study):
    saved = backup(runner, study, "b.sqlite")
    store = open_study_store(study)  # as a running `cityqda run` holds it
    try:
        result = cli(runner, study, "restore", str(saved))
        assert result.exit_code == 1
        assert "error CQ016" in result.stderr
    finally:
        store.close()
    assert cli(runner, study, "restore", str(saved)).exit_code == 0


def test_restore_backup_of_an_older_schema_is_upgraded(runner, study):
    old = study.root / "old.sqlite"
    conn = sqlite3.connect(old)
    frozen = [line.split("\t") for line in (FROZEN / "schema_v5.sql").read_text().splitlines()]
    for _type, _name, sql in sorted(frozen, key=lambda r: r[0] != "table"):
        if sql:
            conn.execute(sql)
    conn.execute("INSERT INTO store_meta VALUES ('schema_version', '5')")
    conn.commit()
    conn.close()

    result = cli(runner, study, "restore", str(old))

    assert result.exit_code == 0, result.stderr
    assert "upgraded from store schema version 5" in result.stderr
    store = open_study_store(study)
    try:
        assert store.schema_version() >= 6
    finally:
        store.close()


def test_restore_backup_replaces_a_damaged_store_and_keeps_its_bytes(runner, study):
    decide(runner, study, "ana", "accept")
    saved = backup(runner, study, "good.sqlite")
    study.store_path.write_bytes(b"SQLite format 3\x00" + b"\x13" * 4000)  # a broken disk

    result = cli(runner, study, "restore", str(saved))

    assert result.exit_code == 0, result.stderr
    assert current_decisions(study) == [("ana", "accept")]
    kept = [p for p in (study.root / "backups").iterdir() if "damaged" in p.name]
    assert len(kept) == 1 and kept[0].read_bytes().endswith(b"\x13" * 4000)


def test_restore_backup_of_a_renamed_study_is_its_own(runner, study):
    """The store records the study's name at its first write; renaming the study in
    cityqda.toml must not make every later backup 'of another study' (CQ018): the next
    write records the new name, so a backup made after the rename goes back without
    --force (one made before it still needs --force, as CQ018's hint says)."""
    decide(runner, study, "ana", "accept")
    before_rename = backup(runner, study, "before-rename.sqlite")
    config = study.root / "cityqda.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('name = "study"', 'name = "Integration 2024"', 1),
                      encoding="utf-8")
    assert 'name = "Integration 2024"' in config.read_text(encoding="utf-8")
    decide(runner, study, "ben", "reject")
    after_rename = backup(runner, study, "after-rename.sqlite")

    refused = cli(runner, study, "restore", str(before_rename))
    restored = cli(runner, study, "restore", str(after_rename))

    assert refused.exit_code == 1 and "CQ018" in refused.stderr
    assert restored.exit_code == 0, restored.stderr
    assert current_decisions(study) == [("ana", "accept"), ("ben", "reject")]


def test_restore_backup_that_cannot_replace_the_store_says_so(runner, study, monkeypatch):
    """The last step, the rename, fails (on Windows while another program has the store
    open): CQ019 says the store is as it was and where its copy was saved (it was CQ015,
    'cannot write the backup', whose hint said nothing had been written)."""
    import pipeline.store.restore as restore_module

    decide(runner, study, "ana", "accept")
    saved = backup(runner, study, "b.sqlite")
    decide(runner, study, "ben", "reject")

    real_replace = restore_module.os.replace

    def refuse(source, target):  # only the rename onto the store fails
        if Path(target) == study.store_path:
            raise PermissionError(13, "The process cannot access the file")
        real_replace(source, target)

    monkeypatch.setattr(restore_module.os, "replace", refuse)
    result = cli(runner, study, "restore", str(saved))

    assert result.exit_code == 1
    assert f"error CQ019: {study.store_path}" in result.stderr
    assert "a copy of it was saved as" in result.stderr
    kept = [p for p in (study.root / "backups").iterdir() if "before-restore" in p.name]
    assert len(kept) == 1 and "damaged" not in kept[0].name and str(kept[0]) in result.stderr
    assert current_decisions(study) == [("ana", "accept"), ("ben", "reject")]
    assert [p.name for p in study.root.iterdir() if "restoring" in p.name] == []
