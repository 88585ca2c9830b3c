"""How `cityqda run` ends its process: early (no interpreter teardown) only when it is the
cityqda program and nothing is left that teardown would flush, close or wait for."""

from __future__ import annotations

import atexit
import os
import sqlite3
import threading

import pytest

import pipeline.cli.run as run_command


class Exited(Exception):
    pass


@pytest.fixture
def exits(monkeypatch) -> list:
    """os._exit and the exit handlers recorded instead of run (this is pytest's process)."""
    calls: list = []

    def fake_exit(code):
        calls.append(("exit", code))
        raise Exited

    monkeypatch.setattr(os, "_exit", fake_exit)
    monkeypatch.setattr(atexit, "_run_exitfuncs", lambda: calls.append(("handlers",)))
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # xdist's threads aside
    import multiprocessing

    monkeypatch.setattr(multiprocessing, "active_children", lambda: [])
    return calls


@pytest.mark.parametrize(("argv", "expected"), [
    (["/usr/local/bin/cityqda", "run"], True),
    (["/work/venv/lib/python3.11/site-packages/pipeline/cli/__main__.py", "run"], True),
    (["/usr/bin/pytest", "-q"], False),
    (["benchmarks/bench_pipeline.py", "--child"], False),
    ([], False),
])
def test_run_exit_only_the_cityqda_program_leaves_early(argv, expected):
    assert run_command.is_cityqda_program(argv) is expected


def test_run_exit_runs_the_exit_handlers_then_leaves_with_the_code(exits, monkeypatch):
    monkeypatch.setattr(run_command, "left_open", lambda: [])
    with pytest.raises(Exited):
        run_command.leave_process(1)
    assert exits == [("handlers",), ("exit", 1)]


def test_run_exit_stays_while_a_file_or_database_is_open(exits, tmp_path):
    """A file open for writing or an open SQLite connection: the normal exit closes
    them, so the process is not left early; files open for reading do not matter."""
    written, store = tmp_path / "being-written.txt", tmp_path / "store.sqlite"
    handle = open(written, "w")  # noqa: SIM115 - closed below
    try:
        assert str(written) in run_command.left_open()
        run_command.leave_process(0)  # returns: the caller exits normally
    finally:
        handle.close()
    with open(written) as reading:
        assert str(written) not in run_command.left_open()
        assert not reading.closed
    conn = sqlite3.connect(store)
    conn.execute("CREATE TABLE t (x)")
    try:
        assert str(store) in run_command.left_open()
        run_command.leave_process(0)
    finally:
        conn.close()
    assert str(store) not in run_command.left_open()
    assert exits == []


def test_run_exit_stays_while_another_thread_runs(exits, monkeypatch):
    monkeypatch.setattr(run_command, "left_open", lambda: [])
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    run_command.leave_process(0)
    assert exits == []
