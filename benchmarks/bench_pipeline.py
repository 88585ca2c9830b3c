"""The whole study end to end, stage by stage: time, peak memory, baselines, incremental reruns.

    python benchmarks/bench_pipeline.py --n 1000 [--seed 1] [--markdown]

On a study made by `generate_study.py` (cached in benchmarks/_work/pipeline-nN-seedS/), copied
fresh for every measurement:

1. each stage as its own `cityqda` process, in order: ingest, code, review export (one coder,
   every coding), review import (a simulated coder's decisions: every row decided, one in ten
   rejected; filling the workbook is not timed), agreement, aggregate, report, QDPX export.
   Wall seconds and the process's peak resident memory (VmHWM) per stage. Stages whose
   command this version of cityqda does not have are listed as absent, not skipped silently.
2. `cityqda run` on a second fresh copy: the full pipeline in one command (the 120 s target
   at N = 1,000), then the same command again with nothing changed, after one transcript
   changed (a paragraph appended), and after one codebook rule changed (a phrase added):
   each as a fraction of the full run.
3. baselines on the same segment texts, in this process, CPU seconds, best of three: the bare
   spaCy tokenizer (the floor for any spaCy-based coder), a naive coder that runs one regular
   expression per codebook phrase over each segment (what a team would write in pandas), and
   cityqda's tagger (codes only, and codes with actors, initiatives and partnerships).

Prints a Markdown table per section (for docs/BENCHMARKS.md) and the raw figures as JSON on
stderr. The machine it ran on is printed with the tables. `--snapshot` copies the package
first and runs every command on that copy, so edits others make in a shared working tree
cannot change the code between two measurements of a series (a changed coder re-codes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
CODER = "bench"
STAGES = [
    ("ingest", ["ingest"]),
    ("code", ["code"]),
    ("review export", ["review", "export", "--coder", CODER, "--out", "{workbook}"]),
    ("review import", ["review", "import", "{workbook}"]),
    ("agreement", ["agreement"]),
    ("aggregate", ["aggregate"]),
    ("report", ["report"]),
    ("qdpx export", ["export", "qdpx"]),
]


# --- the child process: one cityqda command, then its own peak memory ----------------------

def child(args: list[str], result_file: str) -> int:
    from pipeline.cli import main

    started = time.perf_counter()
    try:
        # Without standalone mode click returns the command's exit code instead of exiting.
        returned = main.main(args=args, prog_name="cityqda", standalone_mode=False)
        code = returned if isinstance(returned, int) else 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    except Exception as exc:  # noqa: BLE001 - reported as the stage's failure
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        code = 1
    seconds = time.perf_counter() - started
    Path(result_file).write_text(json.dumps({"seconds": seconds, "max_rss_mib": peak_mib(),
                                             "exit": code}))
    leave_as_cityqda_would(args)
    return 0


def leave_as_cityqda_would(args: list[str]) -> None:
    """End this child the way the `cityqda` program ends after the same command: `run`
    leaves without interpreter teardown where the package measured does so
    (pipeline.cli.run.leave_process), so the parent's wall time is the program's."""
    if "run" not in args:
        return
    try:
        from pipeline.cli.run import leave_process
    except ImportError:  # an older package: the program tears the interpreter down
        return
    leave_process(0)


def peak_mib() -> float:
    """This process's own peak resident memory.

    VmHWM belongs to the process image, so it starts afresh at exec; ru_maxrss would carry
    over the benchmark parent's peak into every child. Worker processes a stage forks are
    not included.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_cityqda(project: Path, args: list[str]) -> dict:
    """One cityqda command in a fresh interpreter (imports included in its time)."""
    result_file = project / ".bench-result.json"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", str(result_file), "--",
                           "--project", str(project), *args],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, PACKAGE_ROOT_VARIABLE: str(package_root())})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU of the command and everything it waited for (LibreOffice, tagging workers): less
    # noisy than wall time on a shared machine.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    figures = json.loads(result_file.read_text()) if result_file.exists() else {}
    result_file.unlink(missing_ok=True)
    return {"wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
            "max_rss_mib": round(figures.get("max_rss_mib", 0.0), 1),
            "exit": figures.get("exit", proc.returncode),
            "stderr_tail": proc.stderr.strip().splitlines()[-3:],
            "times": next((line for line in proc.stderr.splitlines()
                           if line.startswith("times: ")), None)}


PACKAGE_ROOT_VARIABLE = "CITYQDA_BENCH_PACKAGE_ROOT"


def package_root() -> Path:
    return Path(os.environ.get(PACKAGE_ROOT_VARIABLE) or HERE.parent)


def snapshot_package() -> Path:
    """A copy of the package the commands run from (see --snapshot)."""
    target = WORK / "package-snapshot"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(HERE.parent / "pipeline", target / "pipeline",
                    ignore=shutil.ignore_patterns("__pycache__"))
    os.environ[PACKAGE_ROOT_VARIABLE] = str(target)
    return target


# --- the study -------------------------------------------------------------------------------

def generated_study(n: int, seed: int) -> Path:
    folder = WORK / f"pipeline-n{n}-seed{seed}"
    if not (folder / "cityqda.toml").is_file():
        subprocess.run([sys.executable, str(HERE / "generate_study.py"), "--n", str(n),
                        "--seed", str(seed), "--out", str(folder)], check=True)
    return folder


def fresh_copy(source: Path, name: str) -> Path:
    target = WORK / name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(
        "cityqda.sqlite*", "outputs", ".cityqda-cache"))
    config = target / "cityqda.toml"
    text = config.read_text(encoding="utf-8")
    if f'id = "{CODER}"' not in text:
        config.write_text(text + f'\n[[coders]]\nid = "{CODER}"\nname = "Benchmark coder"\n'
                          'role = "coder"\n', encoding="utf-8")
    return target


def has_command(args: list[str]) -> bool:
    from pipeline.cli import COMMANDS

    return args[0] in COMMANDS and not (
        args[0] == "export" and args[1] == "qdpx" and not _export_has("qdpx"))


def _export_has(name: str) -> bool:
    from pipeline.cli.export import group

    return name in group.commands


def simulate_decisions(workbook: Path, seed: int) -> int:
    """Fill the decision column as a coder would: accept, and reject one row in ten."""
    from openpyxl import load_workbook

    book = load_workbook(workbook)
    sheet = book["Codings"]
    header = [cell.value for cell in sheet[1]]
    column = header.index("decision") + 1
    rng = random.Random(seed)
    filled = 0
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row=row, column=1).value is None:
            continue
        sheet.cell(row=row, column=column, value="reject" if rng.random() < 0.1 else "accept")
        filled += 1
    book.save(workbook)
    return filled


def stage_by_stage(source: Path, seed: int) -> list[dict]:
    project = fresh_copy(source, "pipeline-stages")
    workbook = project / "reviews" / "outbox" / "bench.xlsx"
    workbook.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, template in STAGES:
        args = [a.replace("{workbook}", str(workbook)) for a in template]
        if not has_command(args):
            rows.append({"stage": name, "absent": True})
            continue
        if name == "review import" and workbook.exists():
            filled = simulate_decisions(workbook, seed)
            rows.append({"stage": "(simulated coder fills the workbook, not timed)",
                         "rows": filled, "untimed": True})
        figures = run_cityqda(project, args)
        rows.append({"stage": name, **figures})
        print(f"  {name}: {figures['wall_seconds']} s, {figures['max_rss_mib']} MiB, "
              f"exit {figures['exit']}", file=sys.stderr)
    return rows


def _append_paragraph(docx_path: Path) -> None:
    from docx import Document

    document = Document(str(docx_path))
    document.add_paragraph("The city has since opened a second welcome desk for newcomers, "
                           "run together with a local refugee association.")
    document.save(str(docx_path))


def _change_rule(codebook_path: Path) -> str:
    import yaml

    data = yaml.safe_load(codebook_path.read_text(encoding="utf-8"))
    major, minor, patch = data["version"].split("-")[0].split(".")
    data["version"] = f"{major}.{minor}.{int(patch) + 1}"
    for code in data["codes"]:
        for pattern in code.get("patterns") or []:
            if "phrases" in pattern:
                pattern["phrases"].append("benchmark shelter scheme")
                codebook_path.write_text(yaml.safe_dump(data, sort_keys=False,
                                                        allow_unicode=True), encoding="utf-8")
                return f"{code['id']} ({pattern['id']})"
    raise SystemExit("no phrase pattern to change")


def whole_runs(source: Path, pdf: bool = True) -> list[dict]:
    from pipeline.study import load_study

    project = fresh_copy(source, f"pipeline-run-{source.name}")
    study = load_study(project)
    rows = []
    command = ["run"] if pdf else ["run", "--no-pdf"]

    def timed(label: str) -> dict:
        figures = run_cityqda(project, command)
        row = {"run": label, **figures}
        rows.append(row)
        print(f"  run ({label}): {figures['wall_seconds']} s wall, {figures['cpu_seconds']} s "
              f"CPU, {figures['max_rss_mib']} MiB, exit {figures['exit']}\n    "
              f"{figures['times']}", file=sys.stderr)
        return row

    full = timed("full, fresh store")
    timed("again, nothing changed")
    transcript = sorted(study.path("transcripts").rglob("*.docx"))[0]
    _append_paragraph(transcript)
    timed(f"one transcript changed ({transcript.name})")
    timed("again, nothing changed")
    rule = _change_rule(study.path("codebook"))
    timed(f"one codebook rule changed ({rule})")
    for row in rows:
        row["fraction_of_full"] = round(row["wall_seconds"] / full["wall_seconds"], 3)
        row["cpu_fraction_of_full"] = round(row["cpu_seconds"] / full["cpu_seconds"], 3)
    return rows


# --- baselines -------------------------------------------------------------------------------

def _best_cpu(function, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        function()
        best = min(best, time.process_time() - started)
    return best


def naive_patterns(codebook_path: Path) -> list[tuple[str, re.Pattern]]:
    """One case-insensitive whole-word regex per phrase in the codebook."""
    import yaml

    data = yaml.safe_load(codebook_path.read_text(encoding="utf-8"))
    found = []
    for code in data["codes"]:
        for pattern in code.get("patterns") or []:
            for phrase in pattern.get("phrases") or []:
                found.append((code["id"], re.compile(r"\b" + re.escape(phrase) + r"\b",
                                                     re.IGNORECASE)))
    return found


def baselines(source: Path) -> dict:
    import spacy

    from pipeline.code_study import load_study_codebook, load_study_registry
    from pipeline.nlp.tagger import Tagger
    from pipeline.store import open_study_store
    from pipeline.store.schema import segments
    from pipeline.study import load_study

    project = WORK / "pipeline-stages"
    study = load_study(project if (project / "cityqda.sqlite").exists() else source)
    store = open_study_store(study)
    from sqlalchemy import select

    with store.read() as conn:
        texts = [t for (t,) in conn.execute(
            select(segments.c.text).where(segments.c.status == "current")
            .order_by(segments.c.id))]
    store.close()
    words = sum(len(t.split()) for t in texts)
    tokenizer = spacy.blank("en").tokenizer
    patterns = naive_patterns(study.path("codebook"))

    def naive():
        for text in texts:
            for _code, regex in patterns:
                for _ in regex.finditer(text):
                    pass

    codebook = load_study_codebook(study)
    codes_only = Tagger(codebook, entities=False)
    full = Tagger(codebook, actors=load_study_registry(study))
    seconds = {
        "bare spaCy tokenizer": _best_cpu(lambda: sum(1 for _ in tokenizer.pipe(texts))),
        f"naive regex coder ({len(patterns)} phrases)": _best_cpu(naive),
        "cityqda tagger, codes": _best_cpu(
            lambda: sum(1 for _ in codes_only.tag_records(enumerate(texts)))),
        "cityqda tagger, codes and entities": _best_cpu(
            lambda: sum(1 for _ in full.tag_records(enumerate(texts))), repeat=1),
    }
    return {"segments": len(texts), "words": words,
            "rates": {k: round(words / v) for k, v in seconds.items()},
            "seconds": {k: round(v, 2) for k, v in seconds.items()}}


# --- output ----------------------------------------------------------------------------------

def markdown(n: int, seed: int, stages: list[dict], runs: list[dict], base: dict) -> str:
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}; N = {n}, seed {seed}; load average "
             f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end.", ""]
    if stages:
        lines += ["| stage | wall s | peak MiB | exit |", "|---|---:|---:|---:|"]
    for row in stages:
        if row.get("absent"):
            lines.append(f"| {row['stage']} | (command absent) | | |")
        elif row.get("untimed"):
            lines.append(f"| {row['stage']}: {row['rows']} rows | | | |")
        else:
            lines.append(f"| {row['stage']} | {row['wall_seconds']} | {row['max_rss_mib']} | "
                         f"{row['exit']} |")
    if runs:
        lines += ["", "| `cityqda run` | wall s | fraction of full | CPU s | CPU fraction "
                  "| peak MiB | exit |", "|---|---:|---:|---:|---:|---:|---:|"]
    for row in runs:
        lines.append(f"| {row['run']} | {row['wall_seconds']} | {row['fraction_of_full']} | "
                     f"{row['cpu_seconds']} | {row['cpu_fraction_of_full']} | "
                     f"{row['max_rss_mib']} | {row['exit']} |")
    if runs:
        lines += ["", "Per stage (the run's own `times:` line, wall seconds):", ""]
        lines += [f"- {row['run']}: {row['times'] or '(no times line)'}" for row in runs]
    if not base:
        return "\n".join(lines)
    tokenizer = base["rates"]["bare spaCy tokenizer"]
    naive = next(v for k, v in base["rates"].items() if k.startswith("naive"))
    lines += ["", f"Baselines on the same {base['segments']} segments ({base['words']} words), "
              "CPU seconds:", "", "| coder | words/s | × tokenizer | × naive regex |",
              "|---|---:|---:|---:|"]
    for name, rate in base["rates"].items():
        lines.append(f"| {name} | {rate} | {rate / tokenizer:.2f} | {rate / naive:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(argv[3:], argv[1])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-runs", action="store_true",
                        help="Stage by stage and baselines only (no `cityqda run` series).")
    parser.add_argument("--runs-only", action="store_true",
                        help="Only the `cityqda run` series (no stages, no baselines).")
    parser.add_argument("--snapshot", action="store_true",
                        help="Run the commands on a copy of the package taken at the start.")
    parser.add_argument("--no-pdf", action="store_true",
                        help="`cityqda run --no-pdf` in the run series.")
    args = parser.parse_args(argv)
    if args.snapshot:
        print(f"package snapshot: {snapshot_package()}", file=sys.stderr)
    source = generated_study(args.n, args.seed)
    stages: list[dict] = []
    base: dict = {}
    if not args.runs_only:
        print("stage by stage:", file=sys.stderr)
        stages = stage_by_stage(source, args.seed)
    runs = [] if args.skip_runs else whole_runs(source, pdf=not args.no_pdf)
    if not args.runs_only:
        print("baselines:", file=sys.stderr)
        base = baselines(source)
    print(json.dumps({"n": args.n, "seed": args.seed, "stages": stages, "runs": runs,
                      "baselines": base}, ensure_ascii=False), file=sys.stderr)
    print(markdown(args.n, args.seed, stages, runs, base))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(package_root()))
    sys.exit(main())
