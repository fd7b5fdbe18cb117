# The VMAF rows of scripts/bench (issue 24), by the rules of
# shared/reference/benchmarks.md: CPU time (user + sys of the process and its
# children), one thread a side, decoding included on both sides, the two sides
# run alternately, medians with the spread (min–max). Speed is reported, never
# asserted; each row says whether its target (≤ 1.0×) is met.
#
# Pairs (made once by scripts/bench in .cache/bench; DIST and REF are folders
# each holding bigbuckbunny.mp4): bigbuckbunny scaled to 1024x576 (x264 CRF 18)
# against its x264 CRF-28 version, and the 1920x1080 version against its CRF-28
# version (not in --quick).
# libvmaf: PEER_FFMPEG -nostdin -threads 1 -i DIST/bigbuckbunny.mp4 -threads 1 -i REF/bigbuckbunny.mp4
#          -lavfi "[0:v][1:v]libvmaf=n_threads=1" -f null -
#          (FFmpeg 7.0.2 with libvmaf 2.3.0 from imageio-ffmpeg 0.7.0's wheel)
# Gallop:  gallop score DIST --reference REF --metrics vmaf --jobs 1 --threads 1 --quiet --out TMP
# Before timing, the two sides' clip VMAF (the mean of the per-frame scores) are
# printed and must agree to the peer's 6 decimals.
#
# Usage: python3 -m gallopcheck.bench_vmaf --gallop BIN [--peer-ffmpeg EXE] --rounds N --work DIR LABEL DIST REF [LABEL DIST REF ...]
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

from gallopcheck.common import count_frames, cpu_seconds, peer_ffmpeg, spread

NAME = "bigbuckbunny.mp4"


def peer_cmd(ffmpeg, dist, ref, *log):
    return [ffmpeg, "-nostdin", *log, "-threads", "1", "-i", os.path.join(dist, NAME), "-threads", "1",
            "-i", os.path.join(ref, NAME), "-lavfi", "[0:v][1:v]libvmaf=n_threads=1", "-f", "null", "-"]


def gallop_cmd(gallop, dist, ref, out):
    return [gallop, "score", dist, "--reference", ref, "--metrics", "vmaf", "--jobs", "1", "--threads", "1",
            "--quiet", "--out", out]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gallop", required=True)
    ap.add_argument("--peer-ffmpeg", help="default: FFmpeg 7.0.2 from imageio-ffmpeg 0.7.0's wheel, in .cache/ffmpeg-7.0.2")
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("pairs", nargs="+")
    a = ap.parse_args()
    if len(a.pairs) % 3:
        sys.exit("bench_vmaf: pairs come as LABEL DIST REF")
    if not a.peer_ffmpeg:
        a.peer_ffmpeg = peer_ffmpeg(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".cache"), "bench")
    out = os.path.join(a.work, "vmaf-out")
    rows = []
    for label, dist, ref in zip(a.pairs[0::3], a.pairs[1::3], a.pairs[2::3]):
        frames = count_frames(os.path.join(dist, NAME))
        # Untimed: warms the page cache, checks both sides score every frame alike.
        got = subprocess.run(peer_cmd(a.peer_ffmpeg, dist, ref, "-v", "info"), capture_output=True, text=True)
        m = re.search(r"VMAF score: ([0-9.]+)", got.stderr)
        if got.returncode != 0 or not m:
            sys.exit(f"bench: libvmaf failed on {dist} against {ref}:\n{got.stderr[-2000:]}")
        shutil.rmtree(out, ignore_errors=True)
        got = subprocess.run(gallop_cmd(a.gallop, dist, ref, out), capture_output=True, text=True)
        if got.returncode != 0:
            sys.exit(f"bench: gallop failed on {dist} against {ref}:\n{got.stderr[-2000:]}")
        with open(os.path.join(out, "clips.jsonl")) as f:
            row = [json.loads(line) for line in f if line.strip()]
        if len(row) != 1 or row[0].get("status") != "ok" or row[0].get("frames") != frames or row[0]["metrics"].get("vmaf") is None:
            sys.exit(f"bench: gallop did not score {dist} against {ref}: {row}")
        peer_vmaf, gallop_vmaf = float(m.group(1)), row[0]["metrics"]["vmaf"]
        print(f"bench: vmaf {label}: libvmaf {peer_vmaf:.6f}, Gallop {gallop_vmaf:.6f}", file=sys.stderr)
        if abs(peer_vmaf - gallop_vmaf) > 5e-7:
            sys.exit(f"bench: Gallop's vmaf {gallop_vmaf:.6f} differs from libvmaf's {peer_vmaf:.6f} on {label}")
        pe, ga = [], []
        for r in range(a.rounds):  # alternate: libvmaf, Gallop, libvmaf, ...
            pe.append(cpu_seconds(peer_cmd(a.peer_ffmpeg, dist, ref, "-v", "error")))
            shutil.rmtree(out, ignore_errors=True)
            ga.append(cpu_seconds(gallop_cmd(a.gallop, dist, ref, out)))
            print(f"bench: vmaf {label} round {r + 1}/{a.rounds}: libvmaf {pe[-1]:.3f} s, Gallop {ga[-1]:.3f} s CPU", file=sys.stderr)
        rows.append((label, frames, pe, ga, gallop_vmaf))
    print()
    print("VMAF against libvmaf 2.3.0 (FFmpeg 7.0.2 from imageio-ffmpeg 0.7.0, `libvmaf=n_threads=1`), one thread a side, "
          "both sides decoding both clips")
    print()
    print("| row | pair | frames | libvmaf (s CPU, median [min–max]) | libvmaf ms/frame | Gallop (s CPU, median [min–max]) "
          "| Gallop ms/frame | ratio Gallop/libvmaf (per-round min–max) | target |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for label, frames, pe, ga, v in rows:
        ratios = [g / p for p, g in zip(pe, ga)]
        ratio = statistics.median(ga) / statistics.median(pe)
        print(f"| VMAF: `score --reference --metrics vmaf` vs `libvmaf=n_threads=1` | {label} (vmaf {v:.3f}) | {frames} "
              f"| {spread(pe)} | {1000 * statistics.median(pe) / frames:.1f} | {spread(ga)} | {1000 * statistics.median(ga) / frames:.1f} "
              f"| {ratio:.2f}× ({min(ratios):.2f}–{max(ratios):.2f}) | ≤ 1.0× {'met' if ratio <= 1.0 else 'not met'} |")


if __name__ == "__main__":
    main()
