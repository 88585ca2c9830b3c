"""The tagger built ahead in a forked process (pipeline.coding.tagger_process).

The forked process inherits this test's monkeypatches, so a phrase tagger stands in for
spaCy's there too: what is under test is the hand-over (which tagger codes, what crosses
the pipe, the fall-back), not the coder."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from coding_helpers import PhraseTagger, codebook_yaml, table_dump, write_codebook, write_transcript

import pipeline.coding.tagger_process as tagger_process
import pipeline.nlp.tagger
from pipeline.code_study import (
    code_study,
    load_study_codebook,
    load_study_registry,
    other_coder_inputs,
)
from pipeline.ingest.ingest import ingest_study
from pipeline.store import open_study_store
from pipeline.store.schema import codings, segment_coding

CODES = {"social.housing": ["night shelter"], "economic.training": ["vocational training"]}


class StandInTagger(PhraseTagger):
    """`Tagger`'s signature over the phrase tagger; records the processes that built one
    (a forked process appends to its own copy)."""

    built = []

    def __init__(self, codebook, actors=None, cache_dir=None):
        super().__init__(codebook)
        StandInTagger.built.append(os.getpid())


@pytest.fixture
def stand_in(monkeypatch):
    StandInTagger.built = []
    monkeypatch.setattr(pipeline.nlp.tagger, "Tagger", StandInTagger)
    yield StandInTagger
    for process in tagger_process._STARTED.values():
        process.close()
    tagger_process._STARTED.clear()


def _transcripts(study, answers: list[str]) -> None:
    for number, answer in enumerate(answers, start=1):
        write_transcript(study.path("transcripts") / f"LIS-PM-{number:02d}.docx",
                         {"Policies and programmes": [("Which programmes exist?", answer)]})


def _coded(study, **options):
    store = open_study_store(study)
    try:
        ingest_study(study, store)
        return code_study(study, store, workers=0, **options)
    finally:
        store.close()


def _rows(study) -> list:
    clock = {"created_at", "updated_at", "coded_at", "run_id"}  # the second run differs
    return [[{k: v for k, v in row._mapping.items() if k not in clock} for row in rows]
            for rows in table_dump(study, codings, segment_coding)]


def _touch(path, size_step: int) -> None:
    path.write_bytes(path.read_bytes() + b"x" * size_step)


def test_tagger_process_coding_looks_small_after_a_few_changed_transcripts(tmp_path,
                                                                           monkeypatch):
    folder = tmp_path / "transcripts"
    (folder / "city").mkdir(parents=True)
    files = [folder / "city" / f"T{number}.docx" for number in range(4)]
    for path in files:
        path.write_bytes(b"docx")
    study = SimpleNamespace(root=tmp_path, path=lambda key: folder)
    assert not tagger_process.coding_looks_small(study)  # first run: no stats kept
    assert not tagger_process.coding_looks_small(study)  # nothing changed
    (folder / "~$T0.docx").write_bytes(b"lock")  # Word's lock file and hidden files
    (folder / ".hidden").write_bytes(b"x")
    assert not tagger_process.coding_looks_small(study)
    _touch(files[0], 1)
    assert tagger_process.coding_looks_small(study)
    (folder / "city" / "T9.docx").write_bytes(b"new")
    assert tagger_process.coding_looks_small(study)
    monkeypatch.setattr(tagger_process, "MAX_CHANGED", 2)
    for path in files[:3]:
        _touch(path, 1)
    assert not tagger_process.coding_looks_small(study)  # big: tagged by workers
    files[3].unlink()  # removed: nothing to tag
    assert not tagger_process.coding_looks_small(study)


def test_tagger_process_code_study_writes_what_a_tagger_here_writes(tmp_path, stand_in):
    from pipeline.init_study import init_study
    from pipeline.study import load_study

    study = load_study(init_study(tmp_path / "study"))
    write_codebook(study, codebook_yaml("1.0.0", CODES))
    _transcripts(study, ["We run a night shelter.", "No vocational training yet.",
                         "A night shelter and vocational training."])
    tagger_process._STARTED[study.root] = tagger_process.TaggerProcess(study)
    report = _coded(study)
    assert stand_in.built == []  # no tagger built here: the process tagged
    assert not tagger_process._STARTED  # taken, and closed by code_study
    assert report.tally.codings_new == 4
    rows = _rows(study)
    again = _coded(study, tagger_factory=PhraseTagger, recode_all=True)  # tagged here
    assert (again.tally.segments_coded, again.tally.codings_new,
            again.tally.codings_updated) == (report.tally.segments_coded, 0, 0)
    assert _rows(study) == rows


def test_tagger_process_built_from_other_bytes_is_not_used(tmp_path, stand_in):
    from pipeline.init_study import init_study
    from pipeline.study import load_study

    study = load_study(init_study(tmp_path / "study"))
    write_codebook(study, codebook_yaml("1.0.0", CODES))
    _transcripts(study, ["We run a night shelter."])
    process = tagger_process.TaggerProcess(study)
    codebook = load_study_codebook(study)
    registry = load_study_registry(study)
    cues = other_coder_inputs(registry)["entity_cues"]
    assert process.built_from(codebook.sha256, registry.sha256, cues)
    assert not process.built_from("edited meanwhile", registry.sha256, cues)
    tagger_process._STARTED[study.root] = process
    write_codebook(study, codebook_yaml("1.0.1", {**CODES, "legal.legal_aid": ["shelter"]}))
    report = _coded(study)
    assert stand_in.built == [os.getpid()]  # the process's tagger was refused
    assert report.tally.codings_new == 2  # the edited codebook's phrases
    process.process.join(timeout=60)  # closed by code_study: it ends
    assert process.process.exitcode == 0


def test_tagger_process_failures_fall_back_to_a_tagger_here(tmp_path, stand_in):
    from pipeline.init_study import init_study
    from pipeline.study import load_study

    study = load_study(init_study(tmp_path / "study"))
    write_codebook(study, "version: [")  # the build fails in the process
    broken = tagger_process.TaggerProcess(study)
    assert not broken.built_from("", "", "")
    broken.close()
    write_codebook(study, codebook_yaml("1.0.0", CODES))
    process = tagger_process.TaggerProcess(study)
    codebook = load_study_codebook(study)
    records = [(1, "a night shelter"), (2, "nothing")]
    assert list(process.tag_records(records)) == list(PhraseTagger(codebook).tag_records(
        records))
    process.process.kill()  # dies: the rest is tagged here
    process.process.join()
    process.local = lambda: PhraseTagger(codebook)
    assert list(process.tag_records(records)) == list(PhraseTagger(codebook).tag_records(
        records))
    process.close()


def test_tagger_process_started_once_per_run_when_coding_looks_small(tmp_path, stand_in):
    folder = tmp_path / "transcripts"
    folder.mkdir()
    (folder / "T1.docx").write_bytes(b"docx")
    study = SimpleNamespace(root=tmp_path, path=lambda key: folder)
    tagger_process.start_tagger_process(study)
    assert not tagger_process._STARTED  # first run
    _touch(folder / "T1.docx", 1)
    tagger_process.start_tagger_process(study)
    started = tagger_process._STARTED.get(tmp_path)
    assert started is not None and started.process.pid is not None  # forked
    tagger_process.start_tagger_process(study)  # `cityqda run`, then run_study: kept
    assert tagger_process._STARTED.get(tmp_path) is started
    tagger_process.stop_tagger_processes()  # the run ends without taking it
    assert not tagger_process._STARTED
    started.process.join(timeout=60)
    assert started.process.exitcode == 0
    tagger_process.start_tagger_process(study)  # the next run: nothing changed
    assert not tagger_process._STARTED


def _answer_when_told(connection, parent_end, study) -> None:
    """A stand-in build in the forked process: says it is built once `study.root / "go"`
    exists, then waits to be stopped."""
    import time

    parent_end.close()
    while not (study.root / "go").exists():
        time.sleep(0.01)
    connection.send(("codebook", "registry", "cues"))
    connection.recv()


def test_tagger_process_runs_the_meanwhile_tasks_until_it_is_built(tmp_path, monkeypatch):
    monkeypatch.setattr(tagger_process, "_serve", _answer_when_told)
    process = tagger_process.TaggerProcess(SimpleNamespace(root=tmp_path))
    ran = []

    def first() -> None:
        ran.append("first")
        (tmp_path / "go").write_text("")
        assert process.connection.poll(60)  # built meanwhile

    try:
        assert process.built_from("codebook", "registry", "cues",
                                  meanwhile=[first, lambda: ran.append("second")])
        assert ran == ["first"]  # the build answered: the rest is not run
        assert process.built_from("codebook", "registry", "cues",
                                  meanwhile=[lambda: ran.append("third")])
        assert ran == ["first"]  # built already
    finally:
        process.close()
    process.process.join(timeout=60)
    assert process.process.exitcode == 0


def test_tagger_process_close_ends_it_while_a_fork_holds_the_pipe(tmp_path, stand_in):
    """A process forked after it (the report's chart drawer) keeps a copy of the run's
    end of the pipe, so the end closing is not seen: the stop message ends it."""
    import multiprocessing
    import time

    from pipeline.init_study import init_study
    from pipeline.study import load_study

    study = load_study(init_study(tmp_path / "study"))
    write_codebook(study, codebook_yaml("1.0.0", CODES))
    process = tagger_process.TaggerProcess(study)
    holder = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,),
                                                         daemon=True)
    holder.start()
    try:
        assert process.built_from("", "", "") is False  # waits for the build
        process.close()
        process.process.join(timeout=30)
        assert process.process.exitcode == 0
    finally:
        holder.kill()
        holder.join()


def test_tagger_process_that_stops_answering_is_given_up(tmp_path, monkeypatch):
    import time

    monkeypatch.setattr(tagger_process, "_serve", lambda *args: time.sleep(60))  # stuck
    monkeypatch.setattr(tagger_process, "WAIT_SECONDS", 0.2)
    process = tagger_process.TaggerProcess(SimpleNamespace(root=tmp_path))
    assert not process.built_from("", "", "")
    process.local = lambda: PhraseTagger(SimpleNamespace(codes=[]))
    assert list(process.tag_records([(1, "a night shelter")])) == list(
        PhraseTagger(SimpleNamespace(codes=[])).tag_records([(1, "a night shelter")]))
    process.process.kill()
    process.process.join()


def test_tagger_process_leaves_ctrl_c_to_the_run():
    """The forked tagger ignores SIGINT (the run exits and takes the daemon with it), so
    Ctrl-C prints no traceback from it."""
    import signal

    class Stop(Exception):
        pass

    seen = []

    class ParentEnd:
        def close(self):
            seen.append(signal.getsignal(signal.SIGINT))
            raise Stop

    previous = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(Stop):
            tagger_process._serve(None, ParentEnd(), None)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen == [signal.SIG_IGN]
