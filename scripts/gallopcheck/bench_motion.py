# The motion rows of scripts/bench (issue 17, items 1 and 2), by the rules of
# shared/reference/benchmarks.md: CPU time (user + sys of the process and its
# children), one thread a side, the sides run alternately, medians with the
# spread (min–max). Speed is reported, never asserted; each row says whether
# its target is met.
#
# 1. Every default metric against the decode floor, on each clip:
#    Floor:  ffmpeg -v error -threads 1 -i CLIP -an -f null -
#    Gallop: gallop score CLIP --out TMP --jobs 1 --threads 1 --quiet
#            (no --metrics: the default set, the ten frame metrics and the five
#            motion metrics; target ≤ 5× as run)
#    Motion: the same with --metrics MOTION (the five motion metrics alone: what
#            the flows and their metrics cost over decoding; reported)
#    Frame:  the same with --metrics FRAME (the ten metrics that need no flow;
#            target ≤ 1.3×, the frame-metric row of scripts/bench again)
#    Report: gallop report TMP, run after each Gallop side on its output: what
#            writing the reports costs (report.html's frames come from thumbnails.jsonl,
#            kept while scoring), so that scoring alone = the side minus this median
#    Profile: `perf record` of one run of each Gallop side on the first clip
#            (every default metric; the ten frame metrics), samples grouped by
#            where they fall (decoding, the flow's parts, each motion metric's
#            loops, the frame kernels, process start), so that a target not met
#            comes with where its time goes (skipped, saying so, without perf)
# 2. One forward flow per pair against the lean peer, on the first clip:
#    Gallop: gallop score CLIP ... --metrics motion_magnitude (target ≤ 1.0×)
#    Lean:   PYTHON -m gallopcheck.bench_flow_peer CLIP (PyAV on one thread, the Y
#            plane read directly, cv2.resize to 512 px with INTER_AREA, OpenCV's
#            DIS medium preset, cv2.setNumThreads(1))
#    Start:  PYTHON -c "import av, cv2, numpy" (part of the lean side's time)
#
# Usage: python3 -m gallopcheck.bench_motion --gallop BIN --rounds N --peer-python PY --work DIR CLIP LABEL [CLIP LABEL ...]
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys

from gallopcheck.common import count_frames, cpu_seconds, metric_names, spread

# The metrics that read the optical flow, and those that need none; set from `gallop metrics --json` in main().
MOTION_METRICS = FRAME_METRICS = None


# Where a perf sample falls: the first group whose pattern is in "DSO SYMBOL" (Swift symbols are mangled, but
# keep their identifiers). Order matters: specific before general.
PROFILE_GROUPS = [
    ("decoding (libavcodec; and encoding the kept thumbnails)", ("libavcodec",)),
    ("scaling and RGB conversion (libswscale)", ("libswscale",)),
    ("flow: densification", ("densify",)),
    ("warping_error: warp and forward-backward check", ("FlowStatsO7warping", "WarpingError")),
    ("motion_smoothness: frame rebuild", ("MotionSmoothness",)),
    ("motion magnitudes (top 5%, percentiles, hypot)", ("topMean", "magnitudes", "percentile", "hypot", "MotionMagnitude",
                                                        "DynamicDegree")),
    ("camera_motion fit", ("CameraMotion",)),
    ("flow: patch search (Gauss–Newton evaluations, and what is inlined into a level's refine)",
     ("PatchSearch", "DISFlowV6refine")),
    ("flow: grid and flow filters, pyramids, upsampling", ("PatchGrid", "boxFilter", "keepEdges", "resample", "FlowPyramid",
                                                           "FloatImage", "MotionState", "DISFlow")),
    ("frame metric kernels (luma, colour)", ("Kernels", "YUVColour", "yuvColour", "AnalysisPass")),
    ("process start (dynamic linking)", ("ld-linux",)),
    ("memory (memset, memmove, page faults)", ("memset", "memmove", "memcpy", "page_fault", "clear_page")),
    ("kernel, other", ("[kernel",)),
    ("Swift runtime", ("libswift",)),
]


def profile(cmd, work):
    """Shares of perf samples of cmd by PROFILE_GROUPS, or a reason there is none."""
    if shutil.which("perf") is None:
        return None, "perf is not installed (apt-get install linux-perf)"
    data = os.path.join(work, "perf.data")
    rec = subprocess.run(["perf", "record", "-q", "-F", "999", "-o", data, "--"] + cmd,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if rec.returncode != 0:
        return None, f"perf record failed: {rec.stderr.strip().splitlines()[-1] if rec.stderr.strip() else rec.returncode}"
    rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "-q", "--no-children", "--sort", "dso,symbol", "-g", "none"],
                         capture_output=True, text=True)
    if rep.returncode != 0:
        return None, "perf report failed"
    shares = {}
    for line in rep.stdout.splitlines():
        parts = line.split()
        if len(parts) < 3 or not parts[0].endswith("%"):
            continue
        pct, rest = float(parts[0][:-1]), " ".join(parts[1:])
        group = next((g for g, pats in PROFILE_GROUPS if any(p in rest for p in pats)), "other")
        shares[group] = shares.get(group, 0.0) + pct
    return shares, None


def ratio_cell(num, den):
    ratios = [a / b for a, b in zip(num, den)]
    return statistics.median(num) / statistics.median(den), f"({min(ratios):.2f}–{max(ratios):.2f})"


def verdict(ratio, limit):
    return "met" if ratio <= limit else "**not met**"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gallop", required=True)
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--peer-python", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("clips", nargs="+", help="CLIP LABEL pairs")
    a = ap.parse_args()
    global MOTION_METRICS, FRAME_METRICS
    MOTION_METRICS = ",".join(metric_names(a.gallop, flow=True))
    FRAME_METRICS = ",".join(metric_names(a.gallop, flow=False))
    if len(a.clips) % 2:
        sys.exit("bench_motion: clips come as CLIP LABEL pairs")
    clips = list(zip(a.clips[0::2], a.clips[1::2]))
    out = os.path.join(a.work, "motion-out")

    def floor_cmd(clip):
        return ["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-i", clip, "-an", "-f", "null", "-"]

    def gallop_run(clip, metrics=None):
        shutil.rmtree(out, ignore_errors=True)
        cmd = [a.gallop, "score", clip, "--out", out, "--jobs", "1", "--threads", "1", "--quiet"]
        t = cpu_seconds(cmd + (["--metrics", metrics] if metrics else []))
        with open(os.path.join(out, "clips.jsonl")) as f:
            return t, [json.loads(line) for line in f if line.strip()]

    # 1. Every default metric against the floor.
    rows = []
    for clip, label in clips:
        frames = count_frames(clip)
        subprocess.run(floor_cmd(clip), check=True, stdout=subprocess.DEVNULL)  # untimed: page cache, and both succeed
        _, got = gallop_run(clip)
        if len(got) != 1 or got[0].get("status") != "ok" or got[0].get("frames") != frames:
            sys.exit(f"bench: gallop did not score all {frames} frames of {clip}: {got}")
        missing = [m for m in MOTION_METRICS.split(",") if got[0]["metrics"].get(m) is None]
        if missing:
            sys.exit(f"bench: the default set gave no value for {', '.join(missing)} on {clip}")
        ff, every, motion, frame, report_every, report_frame = [], [], [], [], [], []
        for r in range(a.rounds):  # alternate: floor, every metric (+ its reports), motion metrics, frame metrics (+ reports)
            ff.append(cpu_seconds(floor_cmd(clip)))
            every.append(gallop_run(clip)[0])
            report_every.append(cpu_seconds([a.gallop, "report", out]))
            motion.append(gallop_run(clip, MOTION_METRICS)[0])
            frame.append(gallop_run(clip, FRAME_METRICS)[0])
            report_frame.append(cpu_seconds([a.gallop, "report", out]))
            print(f"bench: motion {os.path.basename(clip)} round {r + 1}/{a.rounds}: ffmpeg {ff[-1]:.3f} s, every default "
                  f"metric {every[-1]:.3f} s (its reports again {report_every[-1]:.3f} s), the five motion metrics "
                  f"{motion[-1]:.3f} s, the ten frame metrics {frame[-1]:.3f} s (reports {report_frame[-1]:.3f} s) CPU",
                  file=sys.stderr)
        rows.append((label, frames, ff, every, motion, frame, report_every, report_frame))

    print()
    print("Every default metric against FFmpeg's decode floor (`ffmpeg -threads 1 -i CLIP -an -f null -`), one thread each, "
          "sides alternated; Gallop: `score CLIP --jobs 1 --threads 1` (no --metrics)")
    print()
    print("| clip | frames | floor (s CPU, median [min–max]) | Gallop (s CPU, median [min–max]) | Gallop ms/frame "
          "| ratio Gallop/floor (per-round min–max) | target | |")
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for label, frames, ff, every, motion, frame, report_every, report_frame in rows:
        # Scoring alone: each round's run less the median cost of writing its reports again.
        alone_every = [t - statistics.median(report_every) for t in every]
        alone_frame = [t - statistics.median(report_frame) for t in frame]
        for name, side, limit in ((f"{label}: every default metric, `gallop score` as run (reports included)", every, 5.0),
                                  (f"{label}: every default metric, scoring alone (less the reports' "
                                   f"{statistics.median(report_every):.3f} s)", alone_every, 5.0),
                                  (f"{label}: the five motion metrics (context)", motion, None),
                                  (f"{label}: the ten frame metrics, `gallop score` as run", frame, 1.3),
                                  (f"{label}: the ten frame metrics, scoring alone (less the reports' "
                                   f"{statistics.median(report_frame):.3f} s)", alone_frame, 1.3)):
            r, rr = ratio_cell(side, ff)
            target = f"≤ {limit:g}×" if limit else "reported"
            print(f"| {name} | {frames} | {spread(ff)} | {spread(side)} | {statistics.median(side) / frames * 1000:.2f} "
                  f"| {r:.2f}× {rr} | {target} | {verdict(r, limit) if limit else ''} |")
    print()
    print("`gallop score` ends by writing its reports, report.html's thumbnails included: they were kept while scoring "
          "(OUT/thumbnails.jsonl), so nothing is decoded again; writing the reports is measured apart (`gallop report OUT` "
          "on the same output) and the scoring-alone rows subtract its median.")

    # Where the time goes, on the first clip.
    clip, label = clips[0]
    sides = [("every default metric", None), ("the ten frame metrics", FRAME_METRICS)]
    found = []
    for name, metrics in sides:
        shutil.rmtree(out, ignore_errors=True)
        cmd = [a.gallop, "score", clip, "--out", out, "--jobs", "1", "--threads", "1", "--quiet"]
        shares, why = profile(cmd + (["--metrics", metrics] if metrics else []), a.work)
        if shares is None:
            print(f"\nNo profile: {why}.")
            break
        found.append((name, shares))
    if found:
        print()
        print(f"Where the time goes, {label}: `perf record -F 999` of one `gallop score` run of each side (reports "
              f"included), share of CPU samples")
        print()
        print("| where | " + " | ".join(n for n, _ in found) + " |")
        print("|---|" + "---:|" * len(found))
        groups = [g for g, _ in PROFILE_GROUPS] + ["other"]
        for g in sorted(groups, key=lambda g: -found[0][1].get(g, 0.0)):
            if any(sh.get(g, 0.0) >= 0.5 for _, sh in found):
                print(f"| {g} | " + " | ".join(f"{sh.get(g, 0.0):.1f}%" for _, sh in found) + " |")

    # 2. One forward flow a pair against the lean DIS-medium peer (first clip).
    clip, label = clips[0]
    frames = count_frames(clip)
    peer = [a.peer_python, "-m", "gallopcheck.bench_flow_peer", clip]
    got = subprocess.run(peer, capture_output=True, text=True)
    if got.returncode != 0:
        sys.exit(f"bench: the lean flow peer failed on {clip}:\n{got.stderr}")
    n, pairs, w, h = map(int, got.stdout.split())
    _, grows = gallop_run(clip, "motion_magnitude")
    series = grows[0]["extras"]["motion_magnitude"]["series"]
    if n != frames or pairs != frames - 1 or sum(v is not None for v in series) != pairs:
        sys.exit(f"bench: the lean peer read {n} frames ({pairs} pairs), Gallop made "
                 f"{sum(v is not None for v in series)} flows, ffprobe counts {frames} frames")
    gw, gh = grows[0]["width"], grows[0]["height"]
    if (w, h) != ((512, max(2, int(512 * gh / gw / 2 + 0.5) * 2)) if gw >= gh else (max(2, int(512 * gw / gh / 2 + 0.5) * 2), 512)):
        sys.exit(f"bench: the lean peer's flow size {w}x{h} is not Gallop's motion size")
    ga, lean, start = [], [], []
    for r in range(a.rounds):  # alternate: Gallop, lean peer, Python start, ...
        ga.append(gallop_run(clip, "motion_magnitude")[0])
        lean.append(cpu_seconds(peer))
        start.append(cpu_seconds([a.peer_python, "-c", "import av, cv2, numpy"]))
        print(f"bench: lean flow round {r + 1}/{a.rounds}: gallop motion_magnitude {ga[-1]:.3f} s, lean DIS medium "
              f"{lean[-1]:.3f} s, python+av+cv2 start {start[-1]:.3f} s CPU", file=sys.stderr)
    versions = subprocess.run([a.peer_python, "-c", "import av, cv2; print(av.__version__, cv2.__version__)"],
                              capture_output=True, text=True, check=True).stdout.split()
    print()
    print(f"One forward flow per pair, {label}, {frames} frames = {pairs} pairs at {w}x{h}, against the lean peer "
          f"(gallopcheck.bench_flow_peer: PyAV {versions[0]} on one thread, the Y plane read directly, cv2.resize "
          f"INTER_AREA, OpenCV {versions[1]} DIS medium, cv2.setNumThreads(1)); both sides decode")
    print()
    print("| row | Gallop (s CPU, median [min–max]) | lean peer (s CPU, median [min–max]) "
          "| ratio Gallop/peer (per-round min–max) | target | |")
    print("|---|---:|---:|---:|---|---|")
    r, rr = ratio_cell(ga, lean)
    print(f"| `score --metrics motion_magnitude` vs the lean DIS-medium script | {spread(ga)} | {spread(lean)} "
          f"| {r:.2f}× {rr} | ≤ 1.0× | {verdict(r, 1.0)} |")
    print()
    print(f"Of the lean side's time, starting Python and importing av, cv2 and numpy costs {spread(start)} s CPU.")


if __name__ == "__main__":
    main()
