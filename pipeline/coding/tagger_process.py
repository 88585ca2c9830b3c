"""The tagger built in a second process while a run's first stages go on.

After one changed interview, `code` spends most of its time importing spaCy and building
the tagger (about 2 s at N = 1,000), while the guides, register and ingest stages before
it keep one core busy and leave the other idle. So `cityqda run` calls
`start_tagger_process` first, before it imports the store: when a few transcripts are new
or changed on disk since the last run (their size or modification time), it forks a
process that builds the study's tagger meanwhile (importing only what the tagger needs,
pipeline.coding.study_coder). `code_study` then tags through it (`take_tagger_process`),
provided it was built from the same codebook and registry bytes the stage loaded;
otherwise, and whenever the process fails, the stage builds its own tagger as before. The
codings are the same either way: the same code tags the same texts, and results cross the
pipe as they cross the tagging workers' (pickled plain data). While the stage waits for
the build, it runs the `meanwhile` tasks it was given (the run's later stages' imports),
one at a time, until the process answers.

The transcripts' sizes and times are a hint only (a wrong guess costs an idle process or
the usual build); they are kept in the study's cache folder.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

# Above this many changed transcripts, coding is big enough to tag in worker processes
# that share a tagger built in the run's own process (pipeline.code_study), so none is
# built ahead.
MAX_CHANGED = 20
STATS_CACHE_NAME = "transcript-stats"
# A process nobody asked to tag for this long (its run skipped `code`) ends itself.
IDLE_SECONDS = 900.0
# A process that has not answered for this long (stuck) is given up: the run tags itself.
WAIT_SECONDS = 600.0

_STARTED: dict[Path, TaggerProcess] = {}


def transcript_stats(folder: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time (ns) of every file under `folder` that ingest reads
    (hidden folders and files, and Word's lock files, left out)."""
    stats: dict[str, tuple[int, int]] = {}
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if name.startswith((".", "~$")):
                continue
            try:
                stat = os.stat(os.path.join(root, name))
            except OSError:
                continue
            stats[os.path.relpath(os.path.join(root, name), folder)] = \
                (stat.st_size, stat.st_mtime_ns)
    return stats


def changed_files(before: dict, now: dict) -> int:
    """Files new or changed (size or time) since `before`; removed ones need no tagging."""
    return sum(before.get(name) != stat for name, stat in now.items())


def coding_looks_small(study) -> bool:
    """Whether a few (1 to MAX_CHANGED) transcripts changed since the last call for this
    study; the stats seen now are kept for the next call. False on a first run (no stats
    kept: every file is new, and tagging goes to worker processes)."""
    from pipeline.nlp.build_cache import BuildCache, study_cache_dir

    folder = Path(study.path("transcripts"))
    if not folder.is_dir():
        return False
    cache = BuildCache(study_cache_dir(study.root))
    before = cache.load(STATS_CACHE_NAME, STATS_CACHE_NAME)
    now = transcript_stats(folder)
    if before != now:
        cache.save(STATS_CACHE_NAME, STATS_CACHE_NAME, now)
    return isinstance(before, dict) and 0 < changed_files(before, now) <= MAX_CHANGED


def start_tagger_process(study) -> None:
    """Start building the study's tagger in a forked process when a small amount of
    coding is likely (see the module docstring). Once per run: a process already started
    for this study and not yet taken is kept (`cityqda run` starts it before the run's
    imports, `run_study` again for callers that did not); a run ends with
    `stop_tagger_processes`."""
    import multiprocessing

    if Path(study.root) in _STARTED:
        return
    if not sys.platform.startswith("linux") \
            or "fork" not in multiprocessing.get_all_start_methods() \
            or multiprocessing.current_process().daemon:  # may not start processes
        return
    if coding_looks_small(study):
        _STARTED[Path(study.root)] = TaggerProcess(study)


def take_tagger_process(study) -> TaggerProcess | None:
    """The process started for this study by this run, if any (the caller closes it)."""
    return _STARTED.pop(Path(study.root), None)


def stop_tagger_processes() -> None:
    """End the processes no stage took (a run that skipped `code`, or failed before it)."""
    for process in _STARTED.values():
        process.close()
    _STARTED.clear()


class TaggerProcess:
    """A forked process that builds the study's tagger, then tags what it is sent.

    `tag_records` falls back to a tagger built here (`local`) when the process failed, so
    the caller gets results or the error the tagger raises in this process."""

    def __init__(self, study):
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self.connection, child_end = context.Pipe()
        self.process = context.Process(target=_serve, args=(child_end, self.connection,
                                                             study),
                                       name="cityqda-tagger", daemon=True)
        self.process.start()
        child_end.close()
        self.built: tuple | None = None  # what the process built from
        self.local: Callable | None = None
        self._tagger = None

    def built_from(self, codebook_sha256: str, registry_sha256: str, cues_sha256: str,
                   meanwhile: Iterable[Callable[[], object]] = ()) -> bool:
        """Waits for the build, running the `meanwhile` tasks one by one until it is done
        (those left are not run); whether it used these codebook, registry and entity cue
        list bytes (the process read the files itself, perhaps before an edit)."""
        if self.built is None:
            for task in meanwhile:
                if self.connection.poll(0):
                    break
                task()
        return self._built() == (codebook_sha256, registry_sha256, cues_sha256)

    def _built(self) -> tuple:
        if self.built is None:
            self.built = self._receive() or ()  # (): the build failed
        return self.built

    def tag_records(self, records: Iterable[tuple[object, str]]) -> Iterator[dict]:
        """The results of `Tagger.tag_records`, tagged in the process (or here, see the
        class docstring)."""
        records = list(records)
        if self._tagger is None:
            results = self._tag_there(records) if self._built() else None
            if isinstance(results, list):
                return iter(results)
            self.close()
            self._tagger = self.local()
        return self._tagger.tag_records(records)

    def _tag_there(self, records: list) -> list | None:
        try:
            self.connection.send(records)
        except OSError:
            return None
        return self._receive()

    def _receive(self):
        """The process's next message; None when it ended or stopped answering."""
        try:
            return self.connection.recv() if self.connection.poll(WAIT_SECONDS) else None
        except (EOFError, OSError):
            return None

    def close(self) -> None:
        """Ends the process, without waiting for it (freeing its tagger takes a while):
        it exits on the stop message (None), or when its end of the pipe closes (which a
        process forked while the pipe was open delays: it holds a copy of this end); as a
        daemon, it is stopped when this interpreter exits."""
        if self.connection.closed:
            return
        try:
            self.connection.send(None)
        except OSError:  # it ended already
            pass
        self.connection.close()


def _serve(connection, parent_end, study) -> None:
    """In the forked process: build the tagger, say what from, then tag each list of
    records received until the run says stop (None) or closes the pipe. Any failure
    sends None: the run then builds or tags in its own process, where the error is
    reported as usual. Ctrl-C is the run's to handle (it stops this daemon process by
    exiting), not a traceback here."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent_end.close()
    try:
        from pipeline.coding.study_coder import (
            load_study_codebook,
            load_study_registry,
            other_coder_inputs,
        )
        from pipeline.nlp.build_cache import study_cache_dir
        from pipeline.nlp.tagger import Tagger

        codebook = load_study_codebook(study, cached=True)
        registry = load_study_registry(study, cached=True)
        cues = other_coder_inputs(registry)["entity_cues"]
        tagger = Tagger(codebook, actors=registry, cache_dir=study_cache_dir(study.root))
    except Exception:  # noqa: BLE001 - the run builds its own tagger and reports it
        tagger = None
    try:
        connection.send(None if tagger is None else
                        (codebook.sha256, registry.sha256, cues))
        while tagger is not None and connection.poll(IDLE_SECONDS):
            records = connection.recv()
            if records is None:  # the run is done with it
                return
            try:
                results = list(tagger.tag_records(records))
            except Exception:  # noqa: BLE001 - retried in the run's process, which reports it
                results = None
            connection.send(results)
    except (EOFError, OSError):  # the run closed its end: done
        return
