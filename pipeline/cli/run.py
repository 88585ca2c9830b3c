"""`cityqda run`: the whole flow on the study, with a report on stderr.

The run module (SQLAlchemy, the store) is imported when the command runs, not when
`cityqda --help` lists it, and after the process that builds the tagger ahead is forked
(pipeline.coding.tagger_process), which then imports spaCy while this one imports the
store. When the `cityqda` program itself ran the command, the process
ends as soon as the run is reported (`leave_process`): tearing down the interpreter (every
module and object of a run, a few hundred MB) cost about a tenth of a rerun after one
changed interview, and nothing in it writes anything.
"""

import sys
from pathlib import Path

import click

from pipeline.cli.output import info


@click.command("run")
@click.option("--no-import", "no_import", is_flag=True,
              help="Do not import workbooks waiting in reviews/inbox/.")
@click.option("--no-pdf", "no_pdf", is_flag=True,
              help="Write the city reports as DOCX only, even when LibreOffice is installed.")
@click.pass_obj
@click.pass_context
def command(ctx, obj, no_import, no_pdf):
    """Run every stage on the study and say where each output is.

    A stage whose inputs did not change since the last run is skipped ("unchanged,
    skipped"), and only outputs whose content changed are written again; a deleted or
    edited output is written again. The `times:` line gives each stage's wall and CPU seconds.
    """
    from pipeline.coding.tagger_process import start_tagger_process

    study = obj.study()
    # Forked before the run imports SQLAlchemy and the store: the tagger process imports
    # spaCy meanwhile (run_study keeps a process started for its study).
    start_tagger_process(study)
    from pipeline.run import RunOptions, exit_code, run_study

    result = run_study(study, RunOptions(import_reviews=not no_import, pdf=not no_pdf))
    for line in result.stage_lines:
        info(line)
    for problem in result.problems:
        info(problem.render())
    for name, path in sorted(result.outputs.items()):
        info(f"output {name}: {path}")
    errors = sum(p.spec.level == "error" for p in result.problems)
    warnings = len(result.problems) - errors
    info(f"run {result.run_id}: {'failed' if result.failed else 'ok'} "
         f"({errors} error(s), {warnings} warning(s)); store {study.store_path}")
    if is_cityqda_program(sys.argv):
        leave_process(exit_code(result))
    ctx.exit(exit_code(result))


def is_cityqda_program(argv: list[str]) -> bool:
    """Whether this process is the `cityqda` program (console script or `python -m
    pipeline.cli`), not a test or another program calling the command."""
    path = Path(argv[0]) if argv else Path()
    return path.name == "cityqda" or path.parts[-3:] == ("pipeline", "cli", "__main__.py")


def left_open() -> list[str] | None:
    """Regular files this process still holds open for writing, besides the standard
    streams (a file object not closed, a SQLite connection): only the interpreter's
    teardown would flush or close them. None where the system does not tell
    (/proc/self/fd is Linux's)."""
    import os
    import stat

    folder = Path("/proc/self/fd")
    try:
        descriptors = [int(name) for name in os.listdir(folder)]
    except OSError:
        return None
    found = []
    for descriptor in descriptors:
        if descriptor <= 2:
            continue
        try:
            regular = stat.S_ISREG(os.fstat(descriptor).st_mode)
            info = (Path("/proc/self/fdinfo") / str(descriptor)).read_text() \
                if regular else ""
        except OSError:
            continue  # closed meanwhile (the listing's own descriptor)
        flags = next((int(line.split()[1], 8) for line in info.splitlines()
                      if line.startswith("flags:")), 0)
        if flags & (os.O_WRONLY | os.O_RDWR):
            found.append(os.readlink(folder / str(descriptor)))
    return found


def leave_process(code: int) -> None:
    """End the process with `code` without tearing the interpreter down: the standard
    streams are flushed and every exit handler runs (logging, multiprocessing, thread
    pools, weakref finalizers: temporary folders), then `os._exit`. Returns (the caller
    exits normally) when teardown could still matter: a thread or child process running,
    a file open for writing or a database connection open."""
    import atexit
    import os
    import threading

    if threading.active_count() > 1 or left_open() != []:
        return
    if "multiprocessing" in sys.modules:
        import multiprocessing

        if multiprocessing.active_children():
            return
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
