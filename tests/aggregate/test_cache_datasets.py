"""The per-interview dataset cache: a rerun after one change renders only what changed and
writes exactly the files a clean run writes; a damaged cache never changes an output."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import update

from pipeline.aggregate.aggregate import aggregate_study
from pipeline.aggregate.cache import CACHE_NAME
from pipeline.coding.decisions import set_decision
from pipeline.nlp.build_cache import study_cache_dir
from pipeline.store.schema import codings, initiatives


def _aggregate(agg, out: Path, *, cache: bool = True, include_suggested: bool = True):
    store = agg.store()
    try:
        return aggregate_study(agg.study, store, out=out, cache=cache,
                               include_suggested=include_suggested)
    finally:
        store.close()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _cache_file(agg) -> Path:
    return study_cache_dir(agg.study.root) / CACHE_NAME


def _decide(agg, conn):
    set_decision(conn, agg.codings["c11"], "ana", "reject", source="test")


def _flag_in_place(agg, conn):
    conn.execute(update(codings).where(codings.c.id == agg.codings["c8"])
                 .values(hypothetical=1, counts=0))


def _negate_challenge(agg, conn):
    conn.execute(update(codings).where(codings.c.id == agg.codings["c7"]).values(negated=1))


def _reject_initiative(agg, conn):
    conn.execute(update(initiatives).where(initiatives.c.id == agg.initiatives["I7"])
                 .values(review_status="rejected"))


def _rename_initiative(agg, conn):
    conn.execute(update(initiatives).where(initiatives.c.id == agg.initiatives["I1"])
                 .values(name="Lisbon Welcome Desk (renamed)"))


# change -> the interviews whose rows must be rendered again
CHANGES = {
    "decision": (_decide, {"SAO-CS-01"}),
    "coding changed in place": (_flag_in_place, {"LIS-BU-01"}),
    "challenge negated in place": (_negate_challenge, {"LIS-BU-01"}),
    # I7 is also mentioned in SAO-CS-01 ¶2, where no coding is: its rows do not name it
    "entity rejected": (_reject_initiative, {"SAO-IO-01"}),
    "entity renamed": (_rename_initiative, {"LIS-PM-01"}),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_cache_datasets_rerun_after_one_change_equals_a_clean_run(agg, tmp_path, change):
    """Run, change one thing, run again: every file is byte-identical to a clean run (no
    cache) of the changed store, and only the interviews the change touched were
    rendered; a run with nothing changed renders none."""
    first = _aggregate(agg, tmp_path / "first")
    assert first.rendered == len(agg.interviews) - 1  # the retired interview is not in scope
    assert _aggregate(agg, tmp_path / "again").rendered == 0
    assert _files(tmp_path / "again") == _files(tmp_path / "first")

    action, touched = CHANGES[change]
    agg.write(lambda conn: action(agg, conn))
    rerun = _aggregate(agg, tmp_path / "rerun")
    clean = _aggregate(agg, tmp_path / "clean", cache=False)
    incremental, regenerated = _files(tmp_path / "rerun"), _files(tmp_path / "clean")
    assert incremental.keys() == regenerated.keys()
    for name in incremental:
        assert incremental[name] == regenerated[name], name
    assert incremental != _files(tmp_path / "first")  # the change shows in the files
    assert rerun.rendered == len(touched)
    assert clean.rendered == first.rendered


def _edit_in_place_keeping_mtime(path: Path) -> None:
    """Change one byte of a file without changing its size or modification time."""
    import os

    before = path.stat()
    with open(path, "r+b") as handle:
        handle.seek(before.st_size // 2)
        byte = handle.read(1)
        handle.seek(before.st_size // 2)
        handle.write(bytes([byte[0] ^ 1]))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


# damage -> whether every interview is rendered again (else the text comes from the files
# the first run wrote)
DAMAGES = {"not a database": True, "empty file": True, "chunk bytes": True,
           "chunk text": False, "chunk text and an earlier file edited": True,
           "chunk text and the XLSX packages kept": False}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_cache_datasets_damaged_cache_gives_the_clean_files(agg, tmp_path, damage):
    _aggregate(agg, tmp_path / "first")
    expected = _files(tmp_path / "first")
    path = _cache_file(agg)
    if damage == "not a database":
        path.write_bytes(b"this is not SQLite" * 100)
    elif damage == "empty file":
        path.write_bytes(b"")
    else:
        conn = sqlite3.connect(path)
        conn.execute("UPDATE chunks SET csv = CAST(REPLACE(CAST(csv AS TEXT), 'LIS', 'XXX') "
                     "AS BLOB), xml = zeroblob(length(xml))")
        if damage == "chunk bytes":
            conn.execute("UPDATE chunks SET arrow = zeroblob(length(arrow))")
        if damage.endswith("packages kept"):
            assert conn.execute("UPDATE shells SET data = zeroblob(length(data))").rowcount

        conn.commit()
        conn.close()
        if damage.endswith("edited"):
            _edit_in_place_keeping_mtime(next((tmp_path / "first").glob("coded_wide-*.csv")))
            _edit_in_place_keeping_mtime(next((tmp_path / "first").glob("coded_long-*.xlsx")))
    damaged = _aggregate(agg, tmp_path / "damaged")
    assert _files(tmp_path / "damaged") == expected
    assert damaged.rendered == (len(agg.interviews) - 1 if DAMAGES[damage] else 0)
    healed = _aggregate(agg, tmp_path / "healed")  # the cache rebuilt by the damaged run
    assert healed.rendered == 0
    assert _files(tmp_path / "healed") == expected


def test_cache_datasets_rerun_into_the_same_folder_splices_the_files(agg, tmp_path):
    """Runs into one folder (as `cityqda run` does): the unchanged interviews' bytes come
    from the files the run before wrote, and the files equal a clean run's."""
    out = tmp_path / "outputs"
    _aggregate(agg, out)
    for action, _touched in CHANGES.values():
        agg.write(lambda conn, action=action: action(agg, conn))
        rerun = _aggregate(agg, out)
        _aggregate(agg, tmp_path / "clean", cache=False)
        assert _files(out) == _files(tmp_path / "clean")
        assert rerun.rendered <= 1


def test_cache_datasets_selections_are_cached_apart(agg, tmp_path):
    _aggregate(agg, tmp_path / "suggested", include_suggested=True)
    accepted = _aggregate(agg, tmp_path / "accepted", include_suggested=False)
    assert accepted.rendered == len(agg.interviews) - 1
    _aggregate(agg, tmp_path / "clean", include_suggested=False, cache=False)
    assert _files(tmp_path / "accepted") == _files(tmp_path / "clean")


def _store_state(agg) -> tuple[dict, dict]:
    """The store's change counters and each interview's cache state (the key's store
    part)."""
    from pipeline.aggregate.cache import interview_states

    store = agg.store()
    try:
        with store.read() as conn:
            cursor = conn.connection.driver_connection.cursor()
            versions = dict(cursor.execute("SELECT table_name, version FROM data_versions"))
            return versions, interview_states(cursor)
    finally:
        store.close()


def _run_change_run_restore(agg, tmp_path) -> tuple[dict, dict]:
    """Run into first/, back the store up, change one coding in place, run into changed/,
    copy the backup back over the store; returns the store's state the second run saw
    (`_store_state`)."""
    import shutil

    backup = tmp_path / "backup.sqlite"
    _aggregate(agg, tmp_path / "first")
    shutil.copy(agg.study.store_path, backup)
    agg.write(lambda conn: _flag_in_place(agg, conn))
    _aggregate(agg, tmp_path / "changed")
    seen = _store_state(agg)
    shutil.copy(backup, agg.study.store_path)
    return seen


def test_cache_datasets_store_restored_from_a_backup_drops_the_cache(agg, tmp_path):
    """A store copied back from before a change has lower change counters: its counts and
    ids could meet a cached key with other content again, so nothing cached is used."""
    _run_change_run_restore(agg, tmp_path)
    restored = _aggregate(agg, tmp_path / "restored")
    assert restored.rendered == len(agg.interviews) - 1
    assert _files(tmp_path / "restored") == _files(tmp_path / "first")


def test_cache_datasets_restored_store_changed_past_the_cache_uses_nothing(agg, tmp_path):
    """A store restored from a backup and then changed until its counters are back where
    the cache saw them meets a cached key again with other rows (the same coding changed
    another way): the store's token is not the cache's, so nothing cached is used and the
    files equal a clean run's."""
    cached_versions, cached_states = _run_change_run_restore(agg, tmp_path)
    agg.write(lambda conn: conn.execute(update(codings).where(
        codings.c.id == agg.codings["c8"]).values(negated=1)))
    versions, states = _store_state(agg)
    assert all(versions[table] >= count for table, count in cached_versions.items())
    assert states == cached_states  # every cached key matches again

    restored = _aggregate(agg, tmp_path / "restored")
    _aggregate(agg, tmp_path / "clean", cache=False)
    assert restored.rendered == len(agg.interviews) - 1
    assert _files(tmp_path / "restored") == _files(tmp_path / "clean")
    assert _files(tmp_path / "clean") != _files(tmp_path / "changed")


def test_cache_datasets_store_without_token_uses_nothing(agg, tmp_path):
    """Another study's store copied in has another token, or none: nothing cached is
    used; a rerun after it uses the cache again."""
    from pipeline.aggregate.cache import STORE_TOKEN

    _aggregate(agg, tmp_path / "first")
    agg.write(lambda conn: conn.exec_driver_sql(
        f"DELETE FROM store_meta WHERE key = '{STORE_TOKEN}'"))
    assert _aggregate(agg, tmp_path / "foreign").rendered == len(agg.interviews) - 1
    assert _aggregate(agg, tmp_path / "again").rendered == 0
    assert _files(tmp_path / "again") == _files(tmp_path / "first")


def test_cache_datasets_all_statuses_follow_coding_statuses(agg):
    """The DB-API read of every coding's status gives what coding_statuses gives (the
    fixture has agreeing, disagreeing and adjudicated decisions and undecided codings)."""
    from pipeline.aggregate.datasets import _all_statuses
    from pipeline.coding.decisions import coding_statuses

    store = agg.store()
    try:
        with store.read() as conn:
            expected = coding_statuses(conn)
            found = _all_statuses(conn.connection.driver_connection.cursor())
    finally:
        store.close()
    assert found == expected
    assert len(set(found.values())) >= 3


@pytest.mark.parametrize("round", [None, "1", "2"])
def test_cache_datasets_challenge_counts_from_chunks_equal_the_store_scan(agg, tmp_path,
                                                                           round):
    """The challenges table summed from the counts kept with the chunks (every interview,
    then one changed and the rest cached) equals the one read from the store."""
    from pipeline.aggregate.tables import study_tables

    def tables_both_ways(out: Path):
        store = agg.store()
        try:
            summed = aggregate_study(agg.study, store, out=out, round=round,
                                     include_suggested=True).tables["challenges"]
            with store.read() as conn:
                scanned = study_tables(conn, agg.study, round=round,
                                       include_suggested=True)["challenges"]
        finally:
            store.close()
        return summed, scanned

    summed, scanned = tables_both_ways(tmp_path / "first")
    assert summed.rows == scanned.rows and summed.notes == scanned.notes
    agg.write(lambda conn: _negate_challenge(agg, conn))
    summed, scanned = tables_both_ways(tmp_path / "rerun")
    assert summed.rows == scanned.rows and summed.notes == scanned.notes
    assert summed.rows  # the fixture has challenges in both rounds


def test_cache_datasets_codebook_labels_kept_and_followed(agg, tmp_path, monkeypatch):
    """The codebook's labels kept in the cache are used while the codebook is the same
    (its YAML is not parsed again) and dropped when it changes: the files then equal a
    clean run's with the new label."""
    import yaml

    from pipeline.aggregate import tables

    _aggregate(agg, tmp_path / "first")
    tables._CODEBOOK_CACHE.clear()
    with monkeypatch.context() as patched:
        patched.setattr(yaml, "load", lambda *args, **kwargs: pytest.fail("YAML parsed"))
        _aggregate(agg, tmp_path / "kept")
    assert _files(tmp_path / "kept") == _files(tmp_path / "first")

    path = agg.study.path("codebook")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    entry = next(e for e in data["codes"] if e["id"] == "challenge.housing")
    entry["label"] = "Housing shortage (renamed)"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
    tables._CODEBOOK_CACHE.clear()
    _aggregate(agg, tmp_path / "rerun")
    _aggregate(agg, tmp_path / "clean", cache=False)
    assert _files(tmp_path / "rerun") == _files(tmp_path / "clean")
    assert b"Housing shortage (renamed)" in _files(tmp_path / "rerun")[
        "tables-accepted-and-suggested-all-rounds/challenges.csv"]
