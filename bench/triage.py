"""Timing harness of bench/triage.sh: runs each tool several times on one capture, prints the
median and the spread (min-max) of the wall times and the peak RSS, warm and cold.

Wall time is measured around the child process (perf_counter); CPU time (user + system) and
peak RSS are the child's rusage from wait4 (ru_maxrss is in KiB on Linux). On a machine shared
with other work the CPU time is the steadier figure: it does not count time spent waiting for
a core. A cold run first drops the capture's pages from the page
cache with posix_fadvise(POSIX_FADV_DONTNEED); a warm run first reads the file once.
Each run's command, time, RSS and exit status go to the TSV given with --tsv.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def drop_cache(path):
    """Evict the file's pages from the page cache (the next read comes from disk)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def warm(path):
    """Read the file once so that it sits in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def run_once(cmd, stdout_path):
    """Run cmd; return (wall seconds, CPU seconds, peak RSS KiB, exit status)."""
    with open(stdout_path, "wb") as out, open(stdout_path + ".stderr", "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        secs = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return secs, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode


class Series:
    """Several runs of one labelled command (or a sum of commands)."""

    def __init__(self, label):
        self.label = label
        self.secs = []
        self.cpu = []
        self.rss = []
        self.rcs = []

    def add(self, secs, cpu, rss, rc):
        self.secs.append(secs)
        self.cpu.append(cpu)
        self.rss.append(rss)
        self.rcs.append(rc)

    def median(self):
        return statistics.median(self.secs)

    def row(self):
        s = self.secs
        spread = f"{min(s):.2f}–{max(s):.2f}" if len(s) > 1 else "—"
        rcs = ",".join(sorted({str(r) for r in self.rcs}))
        c = self.cpu
        cpu = f"{statistics.median(c):.2f} ({min(c):.2f}–{max(c):.2f})"
        return (
            f"| {self.label} | {len(s)} | **{self.median():.2f}** | {spread} | {cpu} | "
            f"{max(self.rss) / 1024:.0f} | {rcs} |"
        )


def series(label, cmds, runs, out_dir, tsv, before=None):
    """Run the commands (summed per run) `runs` times; `before(i)` prepares each run."""
    s = Series(label)
    for i in range(runs):
        if before:
            before(i)
        total, cpu, peak, rcs = 0.0, 0.0, 0, 0
        for j, cmd in enumerate(cmds):
            secs, c, rss, rc = run_once(cmd, os.path.join(out_dir, f"{slug(label)}.{j}.out"))
            tsv.write(f"{label}\t{i}\t{' '.join(cmd)}\t{secs:.3f}\t{c:.3f}\t{rss}\t{rc}\n")
            tsv.flush()
            total += secs
            cpu += c
            peak = max(peak, rss)
            rcs = rcs or rc
        s.add(total, cpu, peak, rcs)
        log(f"{label} run {i + 1}/{runs}: {total:.2f}s, peak RSS {peak // 1024} MiB, rc={rcs}")
    return s


def slug(label):
    return "".join(c if c.isalnum() else "_" for c in label)[:60]


def table(rows):
    print("| run | runs | wall median (s) | wall min–max (s) | CPU median (min–max) (s) "
          "| peak RSS (MiB) | exit |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(r.row())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", required=True)
    ap.add_argument("--mt", required=True, help="memtriage binary")
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--vol-runs", type=int, default=1)
    ap.add_argument("--vol", help="Volatility 3 `vol` launcher (omit to skip)")
    ap.add_argument("--vol-symbols")
    ap.add_argument("--vol-cache")
    ap.add_argument("--mpfs-python", help="python of the MemProcFS venv (omit to skip)")
    ap.add_argument("--mpfs-script")
    ap.add_argument("--fast", action="store_true", help="also time `report --fast`")
    ap.add_argument("--rss", nargs="*", default=[], help="SIZE=CAPTURE pairs for peak RSS")
    a = ap.parse_args()

    img = a.image
    os.makedirs(a.out, exist_ok=True)
    tsv = open(os.path.join(a.out, "runs.tsv"), "w")
    tsv.write("label\trun\tcommand\tseconds\tcpu_seconds\tmax_rss_kib\texit\n")
    report = [a.mt, "report", "--quiet", "--format", "json", img]
    warm_each = lambda _i: warm(img)  # noqa: E731
    cold_each = lambda _i: drop_cache(img)  # noqa: E731

    log(f"load average before the warm runs: {os.getloadavg()}")
    warm_rows = [series("memtriage report", [report], a.runs, a.out, tsv, warm_each)]
    if a.fast:
        fast = report[:2] + ["--fast"] + report[2:]
        warm_rows.append(series("memtriage report --fast", [fast], a.runs, a.out, tsv, warm_each))
    for plugin in ("malfind", "psscan"):
        cmd = [a.mt, plugin, "--quiet", "--format", "json", img]
        warm_rows.append(series(f"memtriage {plugin}", [cmd], a.runs, a.out, tsv, warm_each))
    if a.mpfs_python:
        cmd = [a.mpfs_python, a.mpfs_script, img]
        warm_rows.append(
            series("MemProcFS (init, processes, VADs, modules, FindEvil)", [cmd], a.runs, a.out,
                   tsv, warm_each)
        )
    if a.vol:
        plugins = ["windows.pslist", "windows.psscan", "windows.vadinfo", "windows.dlllist",
                   "windows.malware.ldrmodules", "windows.malware.malfind"]
        cmds = [[a.vol, "-q", "--offline", "--cache-path", a.vol_cache, "-s", a.vol_symbols,
                 "-r", "json", "-f", img, p] for p in plugins]
        warm_rows.append(
            series("Volatility 3 (six plugins, summed)", cmds, a.vol_runs, a.out, tsv, warm_each)
        )
    load_warm = os.getloadavg()

    cat = ["cat", img]
    cold_rows = [
        series("cat (one sequential read), cold", [cat], a.runs, a.out, tsv, cold_each),
        series("memtriage report, cold", [report], a.runs, a.out, tsv, cold_each),
    ]
    os.remove(os.path.join(a.out, f"{slug('cat (one sequential read), cold')}.0.out"))

    rss_rows = []
    for pair in a.rss:
        size, path = pair.split("=", 1)
        cmd = [a.mt, "report", "--quiet", "--format", "json", path]
        rss_rows.append(series(f"memtriage report, {size}", [cmd], 1, a.out, tsv,
                               lambda _i, p=path: warm(p)))

    print(f"\nWarm page cache (load average after: {load_warm[0]:.1f})\n")
    table(warm_rows)
    mt = warm_rows[0].median()
    print()
    for r in warm_rows[1:]:
        print(f"- {r.label} / memtriage report (medians): {r.median() / mt:.2f}×")
    print(f"\nCold page cache (load average after: {os.getloadavg()[0]:.1f})\n")
    table(cold_rows)
    print(f"\n- report cold / cat cold (medians): "
          f"{cold_rows[1].median() / cold_rows[0].median():.2f}×")
    if rss_rows:
        print("\nPeak RSS by capture size (warm, one run each)\n")
        table(rss_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
