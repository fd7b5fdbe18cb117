"""Worker processes against threads on 200 small clips: see scripts/bench-workers."""
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

gallop, clips, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
work = tempfile.mkdtemp(prefix="gallop-bench-workers.")


def run(jobs, in_process):
    out = os.path.join(work, "out")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [gallop, "score", clips, "--out", out, "--quiet", "--metrics", "frame_diff", "--jobs", str(jobs)]
    if in_process:
        cmd.append("--in-process")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"bench-workers: failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.decode(errors='replace')}")
    with open(os.path.join(out, "clips.jsonl")) as f:
        rows = sorted(json.dumps({k: v for k, v in json.loads(line).items() if k != "timing"}, sort_keys=True) for line in f)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, rows


sides = [(1, True), (1, False), (2, True), (2, False)]
cpu = {s: [] for s in sides}
wall = {s: [] for s in sides}
first = None
for r in range(rounds):
    for side in sides:
        c, w, rows = run(*side)
        if first is None:
            first = rows
            if len(rows) != 200:
                sys.exit(f"bench-workers: {len(rows)} rows, expected 200")
        elif rows != first:
            sys.exit(f"bench-workers: the rows of --jobs {side[0]} {'threads' if side[1] else 'workers'} differ from the first run's")
        cpu[side].append(c)
        wall[side].append(w)
    print(f"bench-workers: round {r + 1}/{rounds} done", file=sys.stderr)
shutil.rmtree(work, ignore_errors=True)


def spread(xs):
    return f"{statistics.median(xs):.2f} [{min(xs):.2f}–{max(xs):.2f}]"


print()
print(f"Many small clips: 200 clips of 160x90, 24 frames (H.264), --metrics frame_diff; {rounds} rounds, medians [min–max]; "
      "CPU is gallop's and its worker processes'. Rows equal in every run.")
print()
print("| jobs | threads (--in-process): s CPU | ms CPU a clip | wall s | worker processes: s CPU | ms CPU a clip | wall s | workers / threads (CPU) |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for jobs in (1, 2):
    t, w = (jobs, True), (jobs, False)
    ratio = statistics.median(cpu[w]) / statistics.median(cpu[t])
    print(f"| {jobs} | {spread(cpu[t])} | {statistics.median(cpu[t]) / 0.2:.1f} | {spread(wall[t])} "
          f"| {spread(cpu[w])} | {statistics.median(cpu[w]) / 0.2:.1f} | {spread(wall[w])} | {ratio:.2f}× |")
