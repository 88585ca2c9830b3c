"""Reports kept by their input signature: after a decision in one city only that city's
report and the summary are read and written, and the files equal a fresh regeneration."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import select

from pipeline.report.report import FIGURES_CACHE, report_study
from pipeline.store import open_study_store
from pipeline.study import load_study


def digests(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.docx"))}


@pytest.mark.parametrize("lose_cache", [False, True])
def test_report_incremental_one_city_changed_rewrites_it_and_the_summary(coded_sample, tmp_path,
                                                                          lose_cache):
    from pipeline.coding.decisions import set_decision
    from pipeline.store.schema import codings, interviews

    study = load_study(coded_sample)
    store = open_study_store(study)
    out = tmp_path / "reports"
    try:
        first = report_study(study, store, pdf=False, out=out, run_id=1,
                             keep=lambda key, path, part: False)
        parts = dict(first.parts)
        unchanged = report_study(study, store, pdf=False, out=out, run_id=1,
                                 keep=lambda key, path, part: parts.get(key) == part)
        assert unchanged.kept == len(parts) and unchanged.parts == parts
        with store.write() as conn:
            coding_id = conn.execute(
                select(codings.c.id)
                .join(interviews, interviews.c.id == codings.c.interview_id)
                .where(codings.c.kind == "dimension", codings.c.produced == 1,
                       interviews.c.file.like("LIS-%"))
                .order_by(codings.c.id)).scalars().first()
            set_decision(conn, coding_id, "ben", "reject", source="test")
        if lose_cache:
            (coded_sample / ".cityqda-cache" / FIGURES_CACHE).unlink()
        before = digests(out)
        rerun = report_study(study, store, pdf=False, out=out, run_id=1,
                             keep=lambda key, path, part: parts.get(key) == part)
        changed = sorted(k for k in rerun.parts if rerun.parts[k] != parts[k])
        assert changed == ["report_lisbon", "report_summary"]
        assert rerun.kept == len(parts) - 2
        after = digests(out)
        assert {n for n in after if after[n] != before[n]} == {"lisbon.docx",
                                                              "cross-city-summary.docx"}
        fresh = report_study(study, store, pdf=False, out=tmp_path / "fresh", run_id=1)
        assert digests(tmp_path / "fresh") == after and fresh.parts == rerun.parts
    finally:
        store.close()


class _Drawer:
    closed = 0

    def __init__(self, labels=None):
        self.labels = labels

    def close(self):
        self.closed += 1


@pytest.mark.parametrize("previous, started", [
    (None, False),  # no report yet: a full run, whose city workers draw
    ("same", False),  # nothing the report reads changed: the stage will be skipped
    ("other", True),
])
def test_report_incremental_chart_drawer_started_ahead_only_for_a_report_with_work(
        coded_sample, monkeypatch, previous, started):
    from types import SimpleNamespace

    import pipeline.report.report as report_module
    from pipeline.report.incremental import RECORD_FORMAT, RunMemory
    from pipeline.run import RunOptions

    study = load_study(coded_sample)
    store = open_study_store(study)
    try:
        ctx = SimpleNamespace(study=study, store=store, options=RunOptions(pdf=False))
        ctx.memory = RunMemory(study, None)
        with store.read() as conn:
            now = ctx.memory.stage_fingerprint(conn, "report",
                                               **report_module._stage_options(ctx))
        stages = {} if previous is None else {"report": {
            "fingerprint": now if previous == "same" else "0" * 64,
            "parts": {"report_summary": "0" * 64}}}
        ctx.memory = RunMemory(study, {"stages_format": RECORD_FORMAT, "stages": stages})
        monkeypatch.setattr(report_module, "_chart_drawer", _Drawer)
        report_module.start_chart_drawer(ctx)
        drawer = getattr(ctx, "chart_drawer", None)
        assert isinstance(drawer, _Drawer) == started
        if started:  # warmed with the study's dimension labels, in the study's order
            assert len(drawer.labels) == len(study.vocabularies["dimensions"]) > 0
    finally:
        store.close()


def test_report_incremental_skipped_stage_closes_the_drawer_started_ahead(coded_sample,
                                                                          no_pdf):
    from pipeline.report.report import stage_report
    from pipeline.run import RunContext, RunOptions, _memory, _start_run, run_study

    study = load_study(coded_sample)
    run_study(study, RunOptions(pdf=False))
    store = open_study_store(study)
    try:
        run_id = _start_run(store)
        ctx = RunContext(study, store, RunOptions(pdf=False), run_id)
        ctx.memory = _memory(study, store, run_id)
        ctx.chart_drawer = drawer = _Drawer()
        stage_report(ctx)
        assert ctx.stage_lines == ["report: unchanged, skipped"]
        assert drawer.closed == 1 and ctx.chart_drawer is None
    finally:
        store.close()


def test_report_incremental_interview_states_read_once_while_the_store_is_unchanged(
        coded_sample):
    from pipeline.coding.decisions import set_decision
    from pipeline.report.content import SIGNATURE_STATE_SOURCES, read_interview_states
    from pipeline.report.incremental import RunMemory
    from pipeline.report.manifest import CODING_STATE_SOURCES
    from pipeline.store.schema import codings

    study = load_study(coded_sample)
    store = open_study_store(study)
    memory = RunMemory(study, None)
    try:
        with store.read() as conn:
            assert memory.interview_states(conn, SIGNATURE_STATE_SOURCES) == \
                read_interview_states(conn, SIGNATURE_STATE_SOURCES)
            shared = memory.interview_states(conn, CODING_STATE_SOURCES)
            assert shared == read_interview_states(conn, CODING_STATE_SOURCES)
        with store.write() as conn:
            coding_id = conn.execute(select(codings.c.id).order_by(codings.c.id)).scalar()
            set_decision(conn, coding_id, "ben", "reject", source="test")
        with store.read() as conn:
            moved = memory.interview_states(conn, CODING_STATE_SOURCES)
            assert moved == read_interview_states(conn, CODING_STATE_SOURCES) != shared
    finally:
        store.close()


def _add_runs(store, count: int) -> list[int]:
    from pipeline.store import utc_now
    from pipeline.store.schema import runs

    with store.write() as conn:
        return [int(conn.execute(runs.insert().values(command="run", started_at=utc_now(),
                                                      status="ok")).inserted_primary_key[0])
                for _ in range(count)]


def test_report_incremental_entity_digests_kept_for_the_next_run_only(coded_sample, tmp_path,
                                                                      monkeypatch):
    """The next run takes every city's entity digest from the cache (no entity rows read
    but the written city's); a changed entity, or a record that is not the previous
    run's, makes them read again; the files equal a fresh regeneration."""
    from sqlalchemy import update

    from pipeline.report.content import StudyReader
    from pipeline.store.schema import initiatives

    study = load_study(coded_sample)
    store = open_study_store(study)
    out = tmp_path / "reports"
    computed = []
    real = StudyReader.entity_digests
    monkeypatch.setattr(StudyReader, "entity_digests",
                        lambda self, cities: computed.append(len(cities)) or real(self, cities))
    try:
        first, second, third, _skipped, fifth = _add_runs(store, 5)
        parts = dict(report_study(study, store, pdf=False, out=out, run_id=first,
                                  keep=lambda key, path, part: False).parts)
        assert len(computed) == 1

        def rerun(run_id):
            return report_study(study, store, pdf=False, out=out, run_id=run_id,
                                keep=lambda key, path, part: parts.get(key) == part)

        unchanged = rerun(second)
        assert len(computed) == 1 and unchanged.parts == parts
        with store.write() as conn:
            city = conn.execute(select(initiatives.c.city).where(
                initiatives.c.review_status.in_(("confirmed", "suggested")))
                .order_by(initiatives.c.id)).scalars().first()
            conn.execute(update(initiatives).where(initiatives.c.city == city)
                         .values(name=initiatives.c.name + " renamed"))
        changed = rerun(third)
        assert len(computed) == 2
        written = {changed.outputs[k].name for k in parts if changed.parts[k] != parts[k]}
        assert f"{city.lower()}.docx" in written
        fresh = report_study(study, store, pdf=False, out=tmp_path / "fresh", run_id=third)
        assert fresh.parts == changed.parts  # kept reports' footers name the run `first`
        assert {name: data for name, data in digests(tmp_path / "fresh").items()
                if name in written} == {name: data for name, data in digests(out).items()
                                        if name in written}
        parts = dict(changed.parts)
        assert rerun(fifth).parts == parts  # the cache is run `third`'s, not run 4's
        assert len(computed) == 4  # (the fresh regeneration computed them too)
    finally:
        store.close()


def test_report_incremental_one_city_entities_equal_every_city_read(coded_sample):
    """A rerun reads only the written city's entity rows; its content is the one a read of
    every city's entities gives."""
    from pipeline.aggregate.tables import build_scope, codebook_info
    from pipeline.ingest.register import load_register
    from pipeline.report.content import StudyReader
    from pipeline.report.pseudonyms import assign_pseudonyms

    study = load_study(coded_sample)
    store = open_study_store(study)
    try:
        register = load_register(study.path("register"), study.vocabularies)
        labels = codebook_info(study).labels
        with store.read() as conn:
            scope = build_scope(conn, study, register=register)

            def reader():
                return StudyReader(conn, study, scope, assign_pseudonyms(conn, register),
                                   labels)

            every = reader()
            every.read_entities(None)
            cities = every.cities()
            assert len(cities) > 1
            for city in cities:
                one = reader()
                assert one.city_content(city) == every.city_content(city)
                assert set(one.entities["initiatives"]) <= {city}
            assert sum(len(c.initiatives) for c in map(every.city_content, cities)) > 0
    finally:
        store.close()


@pytest.mark.parametrize("fails", [False, True])
def test_report_incremental_old_objects_frozen_only_inside_the_block(fails):
    import gc

    from pipeline.report.incremental import old_objects_frozen

    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError) if fails else contextlib.nullcontext():
        with old_objects_frozen():
            assert gc.get_freeze_count() > 0
            if fails:
                raise RuntimeError("a stage failed")
    assert gc.get_freeze_count() == 0
