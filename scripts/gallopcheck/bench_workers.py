"""Worker processes against threads on 200 small clips: see scripts/lib/bench-workers (run by scripts/bench)."""
import json
import os
import shutil
import statistics
import sys
import tempfile

from gallopcheck.common import measure, spread

gallop, clips, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
work = tempfile.mkdtemp(prefix="gallop-bench-workers.")


def run(jobs, in_process):
    out = os.path.join(work, "out")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [gallop, "score", clips, "--out", out, "--quiet", "--metrics", "frame_diff", "--jobs", str(jobs)]
    if in_process:
        cmd.append("--in-process")
    cpu, wall = measure(cmd, "bench-workers")
    with open(os.path.join(out, "clips.jsonl")) as f:
        rows = sorted(json.dumps({k: v for k, v in json.loads(line).items() if k != "timing"}, sort_keys=True) for line in f)
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


print()
print(f"Many small clips: 200 clips of 160x90, 24 frames (H.264), --metrics frame_diff; {rounds} rounds, medians [min–max]; "
      "CPU is gallop's and its worker processes'. Rows equal in every run.")
print()
print("| jobs | threads (--in-process): s CPU | ms CPU a clip | wall s | worker processes: s CPU | ms CPU a clip | wall s | workers / threads (CPU) |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for jobs in (1, 2):
    t, w = (jobs, True), (jobs, False)
    ratio = statistics.median(cpu[w]) / statistics.median(cpu[t])
    print(f"| {jobs} | {spread(cpu[t], 2)} | {statistics.median(cpu[t]) / 0.2:.1f} | {spread(wall[t], 2)} "
          f"| {spread(cpu[w], 2)} | {statistics.median(cpu[w]) / 0.2:.1f} | {spread(wall[w], 2)} | {ratio:.2f}× |")
