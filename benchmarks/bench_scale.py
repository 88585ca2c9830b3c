"""The pipeline's stages at scale (N = 100, 1,000, 5,000): wall, CPU and peak memory of the whole
process tree, forked workers included.

    python benchmarks/bench_scale.py --n 1000 [--seed 1] [--stages ingest code ...] [--keep]

Each stage runs as its own `cityqda` process on a copy of a `generate_study.py` study
(benchmarks/_work/pipeline-nN-seedS/, shared with bench_pipeline.py, copied to
scale-stages-nN-seedS/). Per stage: wall seconds,
CPU seconds of the process and every child it waited for (os.wait4), the stage process's own
peak resident memory (VmHWM, read by the process itself at the end), and the process tree
sampled every 0.2 s: the largest sum of resident memory (RSS, counts pages that forked
workers share with their parent once per process) and of proportional set size (PSS, each
shared page split between the processes sharing it: the honest figure for a forked pool),
plus the sum of every process's own VmHWM (an upper bound). `bench_pipeline.py` (another
helper's) measures the same stages without the children; this script exists so that the
tagging workers `code` forks are counted and so a single stage can be re-measured on a kept
copy (`--keep`, `--stages`) without redoing the ones before it.

The load average is printed with each stage: the machine is shared. With
CITYQDA_BENCH_PACKAGE_ROOT set to a copy of the package (`git archive COMMIT pipeline`), the
stages run that copy, so two commits can be compared on the same study.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench_pipeline import (  # one child, study cache, copy and simulated coder for both
    CODER,
    WORK,
    child,
    fresh_copy,
    generated_study,
    package_root,
    simulate_decisions,
)

HERE = Path(__file__).resolve().parent
STAGES = {
    "ingest": ["ingest"],
    "code": ["code"],
    "review export": ["review", "export", "--coder", CODER, "--out", "{workbook}"],
    "review import": ["review", "import", "{workbook}"],
    "agreement": ["agreement"],
    "aggregate": ["aggregate"],
    "report": ["report", "--no-pdf"],
    "qdpx export": ["export", "qdpx"],
}


def _status_kib(path: Path, field: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(root: int) -> list[int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


class TreeSampler(threading.Thread):
    """Largest RSS and PSS sums of a process tree, and every process's last VmHWM."""

    def __init__(self, root: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.stop = threading.Event()
        self.rss_kib = self.pss_kib = 0
        self.processes = 0
        self.hwm_kib: dict[int, int] = {}

    def run(self) -> None:
        while not self.stop.is_set():
            pids = _descendants(self.root)
            rss = sum(_status_kib(Path(f"/proc/{pid}/status"), "VmRSS") for pid in pids)
            pss = sum(_pss_kib(pid) for pid in pids)
            for pid in pids:
                hwm = _status_kib(Path(f"/proc/{pid}/status"), "VmHWM")
                if hwm:
                    self.hwm_kib[pid] = max(self.hwm_kib.get(pid, 0), hwm)
            self.rss_kib, self.pss_kib = max(self.rss_kib, rss), max(self.pss_kib, pss)
            self.processes = max(self.processes, len(pids))
            self.stop.wait(self.interval)


def run_stage(project: Path, args: list[str]) -> dict:
    result_file = project / ".bench-scale-result.json"
    load = os.getloadavg()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(result_file), "--",
                             "--project", str(project), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    stderr_lines: list[str] = []
    reader = threading.Thread(target=lambda: stderr_lines.extend(proc.stderr), daemon=True)
    reader.start()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    reader.join()
    figures = json.loads(result_file.read_text()) if result_file.exists() else {}
    result_file.unlink(missing_ok=True)
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "main_peak_mib": round(figures.get("max_rss_mib", 0.0), 1),
            "tree_rss_mib": round(sampler.rss_kib / 1024, 1),
            "tree_pss_mib": round(sampler.pss_kib / 1024, 1),
            "tree_hwm_sum_mib": round(sum(sampler.hwm_kib.values()) / 1024, 1),
            "processes": sampler.processes,
            "exit": figures.get("exit", os.waitstatus_to_exitcode(status)),
            "load_before": [round(x, 2) for x in load],
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "stderr_tail": [line.rstrip() for line in stderr_lines[-3:]]}


def markdown(n: int, seed: int, rows: list[dict]) -> str:
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}; N = {n}, seed {seed}.", "",
             "| stage | wall s | CPU s (tree) | main peak MiB | tree PSS MiB | tree RSS MiB "
             "| processes | load avg (1 min) | exit |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        if "wall_s" not in row:
            lines.append(f"| {row['stage']} | {row.get('note', '')} | | | | | | | |")
            continue
        lines.append(f"| {row['stage']} | {row['wall_s']} | {row['cpu_s']} | "
                     f"{row['main_peak_mib']} | {row['tree_pss_mib']} | {row['tree_rss_mib']} | "
                     f"{row['processes']} | {row['load_before'][0]}-{row['load_after'][0]} | "
                     f"{row['exit']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(argv[3:], argv[1])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stages", nargs="+", choices=list(STAGES), default=list(STAGES),
                        help="Stages to run, in pipeline order (default: all).")
    parser.add_argument("--keep", action="store_true",
                        help="Run on the kept copy from an earlier run instead of a fresh one.")
    parser.add_argument("--json", type=Path, help="Also append the raw rows to this file.")
    args = parser.parse_args(argv)
    source = generated_study(args.n, args.seed)
    project = WORK / f"scale-stages-n{args.n}-seed{args.seed}"
    if not (args.keep and project.is_dir()):
        fresh_copy(source, project.name)
    workbook = project / "reviews" / "outbox" / "bench.xlsx"
    workbook.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in [s for s in STAGES if s in args.stages]:
        stage_args = [a.replace("{workbook}", str(workbook)) for a in STAGES[name]]
        if name == "review import" and workbook.exists():
            started = time.perf_counter()
            filled = simulate_decisions(workbook, args.seed)
            rows.append({"stage": f"(simulated coder, not timed: {filled} rows)",
                         "note": f"{time.perf_counter() - started:.0f} s"})
        figures = run_stage(project, stage_args)
        rows.append({"stage": name, **figures})
        print(f"  {name}: {json.dumps(figures)}", file=sys.stderr, flush=True)
        if args.json:
            with args.json.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"n": args.n, "stage": name, **figures}) + "\n")
    print(markdown(args.n, args.seed, rows))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(package_root()))  # CITYQDA_BENCH_PACKAGE_ROOT, else this checkout
    sys.exit(main())
