# The audio rows of scripts/bench --audio (issue 26), by the rules of shared/reference/benchmarks.md: CPU time
# (user + sys of the process and its children), one thread a side, the sides run alternately, medians with the
# spread (min–max). Speed is reported, never asserted.
#
# Clip: a real clip with sound (scripts/bench --audio makes it once: bigbuckbunny 1280x720 looped to 528 frames,
# the picture copied, with a 48 kHz stereo AAC soundtrack FFmpeg makes from its lavfi sources).
# Metric sets, from `gallop metrics --json` (no metric name is written in scripts/): LOUDNESS = the metrics that read
# the sound and no frame pairs (loudness, range, true peak, clipping, silence); SYNC = those that read both
# (the sound against the frame difference); PICTURE = the registry's first default luma-only quality metric
# (sharpness), a cheap picture metric, so that its row is close to the decode's own cost.
# Rows (Gallop: gallop score CLIP --jobs 1 --threads 1 --quiet --out TMP --metrics SET):
#  1. LOUDNESS against `ffmpeg -v error -threads 1 -i CLIP -vn -af ebur128=peak=true -f null -` (the sound alone:
#     Gallop decodes the picture too, in its one pass, so this ratio includes that)
#  2. LOUDNESS against `ffmpeg -v error -threads 1 -i CLIP -af ebur128=peak=true -f null -` (the sound and the
#     picture decoded, as Gallop does)
#  3. LOUDNESS against the decode floor `ffmpeg -v error -threads 1 -i CLIP -an -f null -` (the picture alone)
#  4. PICTURE + LOUDNESS against PICTURE: the audio pass's cost on top of decoding and one picture metric
#  5. PICTURE + LOUDNESS + SYNC against PICTURE: the same with the sync metrics that read no optical flow
#     (av_offset_ms: the frame difference)
#  6. the same with every sync metric (av_align too, which reads the optical flow: most of its cost is the flow,
#     which a default run computes anyway for the motion metrics)
# Before timing, Gallop's integrated loudness and true peak are printed beside FFmpeg's and must agree within
# 0.1 LU and 0.1 dB (the cross-check's tolerance; scripts/verify crosscheck-audio is the real test).
#
# Usage: python3 -m gallopcheck.bench_audio --gallop BIN --rounds N --work DIR CLIP LABEL
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

from gallopcheck.common import count_frames, cpu_seconds, spread

WHO = "bench"


def sets(gallop):
    listed = json.loads(subprocess.run([gallop, "metrics", "--json"], check=True, capture_output=True, text=True).stdout)
    if not any("audio" in m for m in listed):
        sys.exit(f"{WHO}: {gallop} metrics --json has no `audio` field: an older build")
    loud = [m["name"] for m in listed if m["audio"] and not m["temporal"] and m["default"]]
    sync = [m["name"] for m in listed if m["audio"] and m["temporal"] and not m["flow"] and m["default"]]
    flow = [m["name"] for m in listed if m["audio"] and m["flow"] and m["default"]]
    picture = [m["name"] for m in listed if m["group"] == "quality" and not m["rgb"] and not m["flow"] and not m["audio"]
               and not m["temporal"] and not m["models"] and m["default"]][:1]
    if not loud or not sync or not flow or not picture:
        sys.exit(f"{WHO}: the registry lists no audio metrics ({loud}, {sync}, {flow}) or no luma quality metric ({picture})")
    return loud, sync, flow, picture


def ffmpeg_cmd(clip, mode):
    base = ["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-i", clip]
    if mode == "sound":
        return base + ["-vn", "-af", "ebur128=peak=true", "-f", "null", "-"]
    if mode == "both":
        return base + ["-af", "ebur128=peak=true", "-f", "null", "-"]
    return base + ["-an", "-f", "null", "-"]


def gallop_cmd(gallop, clip, out, metrics):
    return [gallop, "score", clip, "--jobs", "1", "--threads", "1", "--quiet", "--out", out, "--metrics", ",".join(metrics)]


def check_values(gallop, clip, out, loud):
    """Untimed: Gallop's integrated loudness and true peak against FFmpeg's summary on the clip (warms the cache)."""
    got = subprocess.run(["ffmpeg", "-nostdin", "-v", "info", "-threads", "1", "-i", clip, "-vn", "-af", "ebur128=peak=true",
                          "-f", "null", "-"], capture_output=True, text=True)
    summary = got.stderr[got.stderr.rfind("Summary:"):]
    i = re.search(r"I:\s+(-?[0-9.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[0-9.]+) dBFS", summary)
    if got.returncode != 0 or not i or not peak:
        sys.exit(f"{WHO}: ffmpeg's ebur128 gave no summary on {clip}:\n{got.stderr[-2000:]}")
    shutil.rmtree(out, ignore_errors=True)
    run = subprocess.run(gallop_cmd(gallop, clip, out, loud), capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{WHO}: gallop failed on {clip}:\n{run.stderr[-2000:]}")
    with open(os.path.join(out, "clips.jsonl")) as f:
        row = [json.loads(line) for line in f if line.strip()][0]
    lufs, dbtp = row["metrics"].get("loudness_lufs"), row["metrics"].get("true_peak_dbtp")
    if row.get("audio") is not True or lufs is None or dbtp is None:
        sys.exit(f"{WHO}: gallop measured no sound in {clip}: {row}")
    print(f"{WHO}: audio: ebur128 I {float(i.group(1)):.1f} LUFS, true peak {float(peak.group(1)):.1f} dBTP; "
          f"Gallop {lufs:.2f} LUFS, {dbtp:.2f} dBTP", file=sys.stderr)
    # ebur128 prints one decimal: within 0.1 of Gallop's value plus the print's half-step.
    if abs(lufs - float(i.group(1))) > 0.15 or abs(dbtp - float(peak.group(1))) > 0.15:
        sys.exit(f"{WHO}: Gallop's loudness ({lufs:.2f} LUFS, {dbtp:.2f} dBTP) differs from ebur128's on {clip}")
    return lufs, dbtp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gallop", required=True)
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("clip")
    ap.add_argument("label")
    a = ap.parse_args()
    loud, sync, flow, picture = sets(a.gallop)
    out = os.path.join(a.work, "audio-out")
    frames = count_frames(a.clip)
    lufs, dbtp = check_values(a.gallop, a.clip, out, loud)
    sides = {
        "ffmpeg sound": ffmpeg_cmd(a.clip, "sound"),
        "ffmpeg both": ffmpeg_cmd(a.clip, "both"),
        "ffmpeg picture": ffmpeg_cmd(a.clip, "picture"),
        "loudness": gallop_cmd(a.gallop, a.clip, out, loud),
        "picture": gallop_cmd(a.gallop, a.clip, out, picture),
        "picture+loudness": gallop_cmd(a.gallop, a.clip, out, picture + loud),
        "picture+loudness+sync": gallop_cmd(a.gallop, a.clip, out, picture + loud + sync),
        "picture+loudness+sync+flow": gallop_cmd(a.gallop, a.clip, out, picture + loud + sync + flow),
    }
    t = {k: [] for k in sides}
    for r in range(a.rounds):  # alternate: every side once a round, in this order
        for k, cmd in sides.items():
            shutil.rmtree(out, ignore_errors=True)
            t[k].append(cpu_seconds(cmd, WHO))
        print(f"{WHO}: audio round {r + 1}/{a.rounds}: " + ", ".join(f"{k} {v[-1]:.3f} s" for k, v in t.items()), file=sys.stderr)
    print()
    print(f"Audio pass, one thread a side, on {a.label} ({frames} frames; ebur128 reads {lufs:.1f} LUFS, {dbtp:.1f} dBTP). "
          f"Loudness = {', '.join(loud)}; sync = {', '.join(sync)}; sync on the flow = {', '.join(flow)}; "
          f"picture = {', '.join(picture)}.")
    print()
    print("| row | A (s CPU, median [min–max]) | B (s CPU, median [min–max]) | ratio A/B (per-round min–max) | A − B (s, median) |")
    print("|---|---:|---:|---:|---:|")
    rows = [
        ("Gallop loudness vs `ffmpeg -vn -af ebur128=peak=true` (sound only)", "loudness", "ffmpeg sound"),
        ("Gallop loudness vs `ffmpeg -af ebur128=peak=true` (sound + picture decoded)", "loudness", "ffmpeg both"),
        ("Gallop loudness vs `ffmpeg -an -f null -` (decode floor, picture only)", "loudness", "ffmpeg picture"),
        ("Gallop picture + loudness vs picture alone", "picture+loudness", "picture"),
        ("Gallop picture + loudness + sync vs picture alone", "picture+loudness+sync", "picture"),
        ("Gallop picture + loudness + sync + sync on the flow vs picture alone", "picture+loudness+sync+flow", "picture"),
        ("Gallop picture alone vs decode floor", "picture", "ffmpeg picture"),
        ("`ffmpeg -af ebur128` (sound + picture) vs decode floor", "ffmpeg both", "ffmpeg picture"),
    ]
    for name, x, y in rows:
        ratios = [p / q for p, q in zip(t[x], t[y])]
        ratio = statistics.median(t[x]) / statistics.median(t[y])
        print(f"| {name} | {spread(t[x])} | {spread(t[y])} | {ratio:.2f}× ({min(ratios):.2f}–{max(ratios):.2f}) "
              f"| {statistics.median(t[x]) - statistics.median(t[y]):+.3f} |")


if __name__ == "__main__":
    main()
