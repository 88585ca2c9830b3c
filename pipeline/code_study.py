"""`cityqda code`: code every segment that needs it into the store.

A segment needs coding when it was never coded, when its text changed (a new transcript
version), or when the fingerprint of what decides codings changed (the codebook's matching
content, the coder's and spaCy's versions). A segment that only moved in its transcript (a
paragraph inserted above it) has its codings' offsets moved, without coding. Nothing else is
touched, so a re-run with nothing changed does no coding work at all.

Order of work: load and check the codebook (a broken codebook codes nothing); in one
transaction check it against the store's history, record its version and carry out its new
`changes` entries (renames, merges, splits, retirements); then code interview by interview,
each tagged before its write transaction opens and written in one transaction, so a crash
loses at most the interview being written and leaves the store consistent. With enough
segments to tag, forked worker processes (one per core) tag the next interviews while this
process writes; results come back in order, so the store ends up the same.

When the codebook changed in patterns only, the re-code is narrowed to the segments where
an old or new pattern of the changed codes matches (`pipeline.coding.narrow`, decided by the
coder's own tokenizer, lemmatizer and ruler, about 2 % of the tagger's time); the other
segments keep their codings and take the new
fingerprint. Any other change (rules, cues, context, hierarchy, coder or registry version)
re-codes every segment, with identity-preserving upserts that keep every decision. Figures
in docs/BENCHMARKS.md (`## Code into the store`).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, insert, select, update

from pipeline import __version__
from pipeline.coding.code_changes import AppliedChange, apply_changes
from pipeline.coding.interview_context import StoredState, add_context, whole_interviews
from pipeline.coding.reconcile import (
    CodingContext,
    InterviewWriter,
    SegmentWork,
    Tally,
    orphaned_condition,
    refresh_states,
    usable,
)
from pipeline.coding.versions import (
    CodebookSource,
    check_against_store,
    coder_fingerprint,
    record_version,
)
from pipeline.errors import Problem
from pipeline.store import Store, utc_now
from pipeline.store.schema import (
    codebook_versions,
    codings,
    interviews,
    runs,
    segment_coding,
    segments,
)

Progress = Callable[[Iterable, int], Iterable]


@dataclass
class CodeReport:
    codebook_id: str
    codebook_version: str
    fingerprint: str
    run_id: int | None = None
    new_codebook_version: bool = False
    changes: list[AppliedChange] = field(default_factory=list)
    interviews: int = 0  # interviews with work
    segments: int = 0  # current segments of active interviews
    tally: Tally = field(default_factory=Tally)
    orphaned: int = 0
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return any(p.spec.level == "error" for p in self.problems)

    def counts(self) -> dict[str, int]:
        counts = {"interviews": self.interviews, "segments": self.segments,
                  **self.tally.counts(), "orphaned_codings": self.orphaned,
                  "changes_applied": len(self.changes)}
        return counts

    def lines(self) -> list[str]:
        out = []
        if self.new_codebook_version:
            out.append(f"codebook {self.codebook_id} {self.codebook_version}: new version "
                       "recorded")
        out.extend(f"change {c.line()}" for c in self.changes)
        return out

    def summary(self) -> str:
        t = self.tally
        text = (f"code: {t.segments_coded} of {self.segments} segment(s) coded in "
                f"{self.interviews} interview(s) with codebook {self.codebook_id} "
                f"{self.codebook_version}; codings {t.codings_new} new, {t.codings_updated} "
                f"updated, {t.codings_stopped} no longer produced")
        extra = [f"{n} {label}" for n, label in (
            (t.segments_refreshed, "segment(s) untouched by the codebook change"),
            (t.segments_moved, "segment(s) moved"), (t.rule_gone, "rule gone"),
            (t.needs_review, "flagged for review"), (t.reanchored, "re-anchored"),
            (t.segments_skipped, "segment(s) changed meanwhile"),
            (self.orphaned, "orphaned coding(s) on retired segments")) if n]
        if extra:
            text += "; " + ", ".join(extra)
        return text + f" ({self.seconds:.1f} s)"


def load_study_registry(study):
    """The study's actor registry (else the package's); a broken one stops the stage."""
    from pipeline.nlp.registry import load_registry, registry_path_for

    return load_registry(registry_path_for(study), study.vocabularies["categories"])


def load_study_codebook(study):
    from pipeline.codebook import load_codebook

    return load_codebook(study.path("codebook"), tuple(study.vocabularies["dimensions"]))


def _start_run(conn, run_id: int | None) -> int:
    if run_id is not None:
        return run_id
    return int(conn.execute(insert(runs).values(command="code", started_at=utc_now(),
                                                status="running")).inserted_primary_key[0])


def _finish_run(store: Store, report: CodeReport, status: str) -> None:
    import json

    manifest = {"cityqda_version": __version__,
                "codebook": {"id": report.codebook_id, "version": report.codebook_version},
                "fingerprint": report.fingerprint, "counts": report.counts()}
    with store.write() as conn:
        conn.execute(update(runs).where(runs.c.id == report.run_id).values(
            finished_at=utc_now(), status=status,
            manifest=json.dumps(manifest, sort_keys=True, ensure_ascii=False)))


def find_work(conn, fingerprint: str, recode_all: bool = False
              ) -> tuple[dict[int, list[SegmentWork]], int]:
    """Segments that need coding or moving, by interview; and the number of segments."""
    query = (select(segments.c.id, segments.c.interview_id, segments.c.sha256,
                    segments.c.start, segments.c.end, segments.c.version,
                    segment_coding.c.sha256.label("st_sha256"),
                    segment_coding.c.start.label("st_start"),
                    segment_coding.c.end.label("st_end"),
                    segment_coding.c.version.label("st_version"),
                    segment_coding.c.fingerprint.label("st_fingerprint"),
                    segment_coding.c.codebook_version.label("st_codebook_version"))
             .join(interviews, interviews.c.id == segments.c.interview_id)
             .outerjoin(segment_coding, segment_coding.c.segment_id == segments.c.id)
             .where(segments.c.status == "current", interviews.c.status == "active",
                    interviews.c.purged == 0)
             .order_by(segments.c.interview_id, segments.c.ord, segments.c.id))
    work: dict[int, list[SegmentWork]] = defaultdict(list)
    total = 0
    for row in conn.execute(query):
        total += 1
        state = None
        if row.st_sha256 is not None:
            state = StoredState(row.st_sha256, row.st_start, row.st_end, row.st_version,
                                row.st_fingerprint, row.st_codebook_version)
        tag = (recode_all or state is None or state.sha256 != row.sha256
               or state.fingerprint != fingerprint)
        moved = state is not None and (state.start, state.end, state.version) != \
            (row.start, row.end, row.version)
        if tag or moved:
            work[row.interview_id].append(SegmentWork(
                row.id, row.sha256, row.start, row.end, row.version, tag, state))
    return work, total


def code_study(study, store: Store, *, progress: Progress | None = None,
               run_id: int | None = None, recode_all: bool = False,
               tagger_factory: Callable | None = None,
               workers: int | None = None) -> CodeReport:
    """Code every segment of the study that needs it; see the module docstring.

    Raises CityQDAError (nothing coded) when the codebook is broken or contradicts the
    store's history. `progress` wraps the list of interviews to code (a progress bar);
    `tagger_factory(codebook)` replaces the spaCy tagger (tests). `workers`: processes
    that tag while this one writes (None: one per core, when the work is big enough to
    pay for them; 0 or 1: tag here). The codings written are the same either way.
    """
    started = time.perf_counter()
    codebook = load_study_codebook(study)
    registry = load_study_registry(study)
    source = CodebookSource.read(codebook)
    fingerprint = coder_fingerprint(source, _other_inputs(registry))
    registry_cities = {actor.id: actor.city or "" for actor in registry.actors}
    report = CodeReport(codebook.id, codebook.version, fingerprint)
    with store.write() as conn:
        check_against_store(conn, source)
        report.run_id = _start_run(conn, run_id)
        report.new_codebook_version = record_version(conn, source, report.run_id)
        report.changes = apply_changes(conn, codebook, report.run_id)
    status = "failed"
    try:
        with store.read() as conn:
            work, report.segments = find_work(conn, fingerprint, recode_all)
            refresh = narrow_work(conn, work, fingerprint, codebook) if not recode_all \
                else {}
        ctx = CodingContext(codebook, fingerprint, report.run_id, utc_now(), registry_cities)
        for old_fingerprint, segment_ids in sorted(refresh.items()):
            with store.write() as conn:
                report.tally.segments_refreshed += refresh_states(conn, segment_ids,
                                                                  old_fingerprint, ctx)
        work = whole_interviews(store, {k: v for k, v in work.items() if v})  # context
        report.interviews = len(work)
        tagger = None
        if any(item.tag for items in work.values() for item in items):
            if tagger_factory is not None:
                tagger = tagger_factory(codebook)
            else:
                from pipeline.nlp.build_cache import study_cache_dir
                from pipeline.nlp.tagger import Tagger

                tagger = Tagger(codebook, actors=registry,
                                cache_dir=study_cache_dir(study.root))
        order = sorted(work)
        tagged = _tagged(store, tagger, codebook, work, order,
                         _worker_count(workers, work) if tagger is not None else 0)
        try:
            for interview_id in (progress(order, len(order)) if progress else order):
                items = next(tagged)
                ctx.now = utc_now()
                with store.write() as conn:
                    tally = InterviewWriter(conn, interview_id, ctx).write(items)
                # Written: drop its tagger results, or they pile up for the whole study
                # (peak memory grew with N: 515 MiB at 1,000 interviews).
                del work[interview_id], items
                report.tally.add(tally)
                if tally.segments_skipped:
                    report.problems.append(Problem("CQ420", {
                        "interview_id": interview_id, "count": tally.segments_skipped}))
        finally:
            tagged.close()  # stops the workers, if any
        with store.read() as conn:
            report.orphaned = orphaned_total(conn)
        status = "ok"
    finally:
        report.seconds = time.perf_counter() - started
        if run_id is None:
            _finish_run(store, report, status)
    return report


def narrow_work(conn, work: dict[int, list[SegmentWork]], fingerprint: str,
                codebook) -> dict[str, list[int]]:
    """Segments due only to a codebook whose patterns alone changed, and where none of
    the changed patterns (old or new) match, are refreshed instead of coded again: those
    that also moved stay in `work` flagged `refresh`; the others leave `work` and are
    returned by old fingerprint, for `refresh_states`."""
    import yaml

    from pipeline.coding.narrow import changed_pattern_codes, matching_segments
    from pipeline.coding.versions import fingerprint_parts

    current = fingerprint_parts(fingerprint)
    stale: dict[str, list[SegmentWork]] = defaultdict(list)
    for items in work.values():
        for item in items:
            if item.tag and item.state is not None and item.state.sha256 == item.sha256 \
                    and item.state.fingerprint != fingerprint:
                stale[item.state.fingerprint].append(item)
    for old_fingerprint, items in sorted(stale.items()):
        before = fingerprint_parts(old_fingerprint)
        if current is None or before is None or before[0] != current[0]:
            continue
        text = conn.execute(select(codebook_versions.c.text).where(
            codebook_versions.c.matching_sha256.like(f"{before[1]}%"))
            .order_by(codebook_versions.c.id).limit(1)).scalar()
        if text is None:
            continue
        old = yaml.safe_load(text)
        codes = changed_pattern_codes(old, codebook.raw)
        if codes is None:
            continue
        ids = [item.segment_id for item in items]
        texts = []
        for start in range(0, len(ids), 500):
            texts.extend(conn.execute(select(segments.c.id, segments.c.text)
                                      .where(segments.c.id.in_(ids[start:start + 500]))))
        hits = matching_segments(old, codebook.raw, codes, [tuple(row) for row in texts])
        for item in items:
            if item.segment_id not in hits:
                item.tag, item.refresh = False, True
    refresh: dict[str, list[int]] = defaultdict(list)
    for interview_id, items in work.items():
        kept = []
        for item in items:
            if item.refresh and (item.state.start, item.state.end, item.state.version) == \
                    (item.start, item.end, item.version):
                refresh[item.state.fingerprint].append(item.segment_id)
            else:
                kept.append(item)
        work[interview_id] = kept
    return refresh


def _other_inputs(registry) -> dict:
    """Hashes of the other data that decide what the coder finds: the actor registry and
    the entity cue lists."""
    from pipeline.nlp.actors import load_entity_cues

    return {"actors": registry.sha256, "entity_cues": load_entity_cues().sha256}


SEGMENT_TEXTS = select(segments.c.id, segments.c.text).where(
    segments.c.id.in_(bindparam("ids", expanding=True)))


def _texts(store: Store, items: list[SegmentWork]) -> list[tuple[int, str]]:
    """(segment id, text) of the segments of one interview that need tagging."""
    wanted = [item.segment_id for item in items if item.tag]
    if not wanted:
        return []
    with store.read() as conn:
        texts = dict(conn.execute(SEGMENT_TEXTS, {"ids": wanted}).all())
    return [(segment_id, texts[segment_id]) for segment_id in wanted]


def _attach(codebook, items: list[SegmentWork], results: list[dict], store: Store) -> None:
    """Results onto the work items, then the codings each segment inherits from its
    interview (`pipeline.coding.section_context`: every segment of it was tagged)."""
    wanted = [item for item in items if item.tag]
    for item, result in zip(wanted, results, strict=True):
        item.result = result
        item.outputs = [code for code in result.get("codes", []) if usable(codebook, code)]
    add_context(store, codebook, items)


# Below this many segments to tag, starting worker processes costs more than it saves.
MIN_PARALLEL_SEGMENTS = 2000
# Interviews handed out ahead of the one being written, per worker.
AHEAD_PER_WORKER = 4


def _worker_count(workers: int | None, work: dict[int, list[SegmentWork]]) -> int:
    """Processes to tag in: none (tag here) unless fork is available and it pays."""
    import multiprocessing
    import os
    import sys

    if workers is not None:
        wanted = workers
    else:
        segments_to_tag = sum(item.tag for items in work.values() for item in items)
        wanted = (os.cpu_count() or 1) if segments_to_tag >= MIN_PARALLEL_SEGMENTS else 0
    if wanted < 2 or len(work) < 2 or not sys.platform.startswith("linux") \
            or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    return min(wanted, len(work))


def _tagged(store: Store, tagger, codebook, work: dict[int, list[SegmentWork]],
            order: list[int], workers: int):
    """Each interview's work items in `order`, tagged (results attached).

    With workers, forked processes (sharing the tagger built here, copy-on-write) tag the
    next interviews while the caller writes the current one; results come back in order.
    Texts are read here, in this thread, a few interviews ahead, so memory stays flat.
    """
    if not workers:
        for interview_id in order:
            items = work[interview_id]
            records = _texts(store, items)
            if records:
                _attach(codebook, items, list(tagger.tag_records(records)), store)
            yield items
        return
    import multiprocessing
    from collections import deque

    global _WORKER_TAGGER
    _WORKER_TAGGER = tagger
    context = multiprocessing.get_context("fork")
    try:
        with context.Pool(workers, initializer=_worker_start, initargs=(store,)) as pool:
            pending: deque = deque()
            upcoming = iter(order)
            for _ in order:
                while len(pending) < workers * AHEAD_PER_WORKER:
                    interview_id = next(upcoming, None)
                    if interview_id is None:
                        break
                    records = _texts(store, work[interview_id])
                    pending.append((interview_id, pool.apply_async(_worker_tag, (records,))
                                    if records else None))
                interview_id, handle = pending.popleft()
                items = work[interview_id]
                if handle is not None:
                    _attach(codebook, items, handle.get(), store)
                yield items
    finally:
        _WORKER_TAGGER = None


_WORKER_TAGGER = None  # the parent's tagger, inherited by forked workers


def _worker_start(store: Store) -> None:
    """In a forked worker: leave the parent's pooled database connections alone."""
    store.engine.dispose(close=False)


def _worker_tag(records: list[tuple[int, str]]) -> list[dict]:
    return list(_WORKER_TAGGER.tag_records(records))


def orphaned_total(conn) -> int:
    return conn.execute(select(func.count()).select_from(codings)
                        .join(segments, segments.c.id == codings.c.segment_id)
                        .where(orphaned_condition())).scalar() or 0


def orphaned_by_interview(conn) -> dict[int, int]:
    """Codings on retired segments, per interview (for `status`)."""
    return dict(conn.execute(select(codings.c.interview_id, func.count())
                             .select_from(codings)
                             .join(segments, segments.c.id == codings.c.segment_id)
                             .where(orphaned_condition())
                             .group_by(codings.c.interview_id)).all())
