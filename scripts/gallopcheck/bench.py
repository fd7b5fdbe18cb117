# scripts/bench's measurements and tables (floor, Python peer, PSNR + SSIM pair, flow, --jobs, memory): see scripts/bench.
import json, math, os, re, resource, shutil, statistics, subprocess, sys, time
from gallopcheck.common import count_frames, cpu_seconds, measure, metric_names, spread

rounds, gallop, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]
# The metrics that need no optical flow (issue 2's set): flow is measured in its own rows.
FRAME_METRICS = ",".join(metric_names(gallop, flow=False))
# The same without the metrics that need RGB frames (context: what the RGB conversion costs).
LUMA_METRICS = ",".join(metric_names(gallop, flow=False, rgb=False))
# The decode-floor rows are cheap and their ratio is the closest call: three times the rounds.
FLOOR_ROUNDS = 3 * rounds
pairs = sys.argv[4:]
clips = list(zip(pairs[0::2], pairs[1::2]))

def ffmpeg_cmd(clip):
    return ["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-i", clip, "-an", "-f", "null", "-"]

def gallop_cmd(clip, out, metrics=FRAME_METRICS):
    return [gallop, "score", clip, "--out", out, "--jobs", "1", "--threads", "1", "--quiet", "--metrics", metrics]

def gallop_run(clip, metrics=FRAME_METRICS):
    out = os.path.join(work, "out")
    shutil.rmtree(out, ignore_errors=True)
    t = cpu_seconds(gallop_cmd(clip, out, metrics))
    with open(os.path.join(out, "clips.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return t, rows

def first_line(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except Exception:
        return "unknown"

cpu = "unknown"
try:
    with open("/proc/cpuinfo") as f:
        m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
        cpu = m.group(1).strip() if m else cpu
except OSError:
    pass
ffv = first_line(["ffmpeg", "-version"])
ffv = (re.match(r"ffmpeg version (\S+)", ffv) or [None, ffv])[1]
gv = first_line([gallop, "--version"])
load = " ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg") else "?"

results = []
for clip, label in clips:
    frames = count_frames(clip)
    # One untimed run of each side: warms the page cache, checks both succeed and do the same frames.
    subprocess.run(ffmpeg_cmd(clip), check=True, stdout=subprocess.DEVNULL)
    _, rows = gallop_run(clip)
    if len(rows) != 1 or rows[0].get("status") != "ok":
        sys.exit(f"bench: gallop did not score {clip}: {rows}")
    if rows[0].get("frames") != frames:
        sys.exit(f"bench: gallop scored {rows[0].get('frames')} frames of {clip}, ffprobe counts {frames}")
    ff, ga, gl = [], [], []
    for r in range(FLOOR_ROUNDS):  # alternate: A B C A B C ...
        ff.append(cpu_seconds(ffmpeg_cmd(clip)))
        ga.append(gallop_run(clip)[0])
        gl.append(gallop_run(clip, LUMA_METRICS)[0])
        print(f"bench: {os.path.basename(clip)} round {r + 1}/{FLOOR_ROUNDS}: ffmpeg {ff[-1]:.3f} s, gallop {ga[-1]:.3f} s, "
              f"gallop luma only {gl[-1]:.3f} s CPU", file=sys.stderr)
    results.append((label, frames, ff, ga, gl))

def ms(xs, n):
    return f"{statistics.median(xs) / n * 1000:.2f}"

print()
print(f"Machine: nproc {os.cpu_count()}, {cpu}; load average at start {load}; "
      f"ffmpeg {ffv}; gallop {gv}; {rounds} rounds ({FLOOR_ROUNDS} for the decode-floor rows), sides alternated, "
      f"one thread each, CPU = user + sys")
print()
print("| clip | frames | FFmpeg decode floor (s CPU, median [min–max]) | floor ms/frame "
      "| Gallop decode + frame metrics, no flow (s CPU, median [min–max]) | Gallop ms/frame "
      "| ratio Gallop/floor (per-round min–max) | target |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for label, frames, ff, ga, gl in results:
    for name, g_side, target in ((label, ga, "≤ 1.3×"),
                                 (f"{label}: context, the 8 luma metrics (no temporal_flickering, colorfulness: no RGB)",
                                  gl, "reported")):
        ratios = [g / f for f, g in zip(ff, g_side)]
        ratio = statistics.median(g_side) / statistics.median(ff)
        print(f"| {name} | {frames} | {spread(ff)} | {ms(ff, frames)} | {spread(g_side)} | {ms(g_side, frames)} "
              f"| {ratio:.2f}× ({min(ratios):.2f}–{max(ratios):.2f}) | {target} |")
print()
print("The difference between each clip's two Gallop rows is the RGB that temporal_flickering and colorfulness need: "
      "libswscale's conversion and two passes over RGB a frame (where the time goes: docs/speed.md).")

# ---------------------------------------------------------------------------
# The Python peer (PyAV + numpy + OpenCV, gallopcheck.bench_peer): see the header.
peer_py = os.environ["BENCH_PEER_PY"]
# Every value the peer prints (the values it implements, named as the registry names them) must agree with
# Gallop's within 1% (relative, or 1e-9 absolute for values near 0).

def peer_cmd(clip, decode_only=False):
    return [peer_py, "-m", "gallopcheck.bench_peer", clip] + (["--decode-only"] if decode_only else [])

def peer_values(clip):
    got = subprocess.run(peer_cmd(clip), capture_output=True, text=True)
    if got.returncode != 0:
        sys.exit(f"bench: the Python peer failed on {clip}:\n{got.stderr}")
    return json.loads(got.stdout)

def rel_diff(a, b):
    if a is None or b is None:
        return 0.0 if a is None and b is None else math.inf
    if abs(a - b) <= 1e-9:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))

peer_results, peer_disagreements = [], []
for clip, label in clips:
    frames = count_frames(clip)
    # Untimed: both sides succeed and agree; warms the page cache.
    _, rows = gallop_run(clip)
    gm = rows[0]["metrics"]
    pv = peer_values(clip)
    if pv.get("frames") != frames:
        sys.exit(f"bench: the Python peer read {pv.get('frames')} frames of {clip}, ffprobe counts {frames}")
    print(f"bench: Python peer check, {label} ({frames} frames), Gallop's value against the peer's:", file=sys.stderr)
    worst = 0.0
    for name in (n for n in pv if n != "frames"):
        d = rel_diff(gm.get(name), pv.get(name))
        worst = max(worst, d)
        flag = "" if d <= 0.01 else "   <-- DIFFERS by more than 1%"
        print(f"bench:   {name:22s} gallop {gm.get(name)!r:>24}  peer {pv.get(name)!r:>24}  rel. diff {d:.2e}{flag}",
              file=sys.stderr)
        if d > 0.01:
            peer_disagreements.append((label, name, gm.get(name), pv.get(name), d))
    if worst > 0.10:
        sys.exit(f"bench: the Python peer's numbers are wildly off Gallop's on {clip} (worst relative "
                 f"difference {worst:.1%}): the two sides do not do the same work, the row would mean nothing")
    ga, py, dec = [], [], []
    for r in range(rounds):  # alternate: Gallop, peer, peer decoding only, ...
        ga.append(gallop_run(clip)[0])
        py.append(cpu_seconds(peer_cmd(clip)))
        dec.append(cpu_seconds(peer_cmd(clip, decode_only=True)))
        print(f"bench: {os.path.basename(clip)} round {r + 1}/{rounds}: gallop {ga[-1]:.3f} s, Python peer {py[-1]:.3f} s, "
              f"its decoding alone {dec[-1]:.3f} s CPU", file=sys.stderr)
    peer_results.append((label, frames, ga, py, worst, dec))

# ---------------------------------------------------------------------------
# PSNR + SSIM on a pair (full reference): see the header.
pair_dist, pair_ref = os.path.join(os.environ["BENCH_PAIR_DIR"], "dist"), os.path.join(os.environ["BENCH_PAIR_DIR"], "ref")
pair_name = "bigbuckbunny.mp4"
pair_frames = count_frames(os.path.join(pair_dist, pair_name))

def ffmpeg_pair_cmd():
    return ["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-i", os.path.join(pair_dist, pair_name),
            "-threads", "1", "-i", os.path.join(pair_ref, pair_name), "-filter_threads", "1",
            "-lavfi", "[0:v][1:v]ssim;[0:v][1:v]psnr", "-f", "null", "-"]

def gallop_pair_run():
    out = os.path.join(work, "out")
    shutil.rmtree(out, ignore_errors=True)
    t = cpu_seconds([gallop, "score", pair_dist, "--out", out, "--reference", pair_ref, "--metrics", "psnr,ssim_fast",
                     "--jobs", "1", "--threads", "1", "--quiet"])
    with open(os.path.join(out, "clips.jsonl")) as f:
        return t, [json.loads(line) for line in f if line.strip()]

# Untimed: warms the page cache, checks both succeed and Gallop compares every frame.
subprocess.run(ffmpeg_pair_cmd(), check=True, stdout=subprocess.DEVNULL)
_, pair_rows = gallop_pair_run()
if (len(pair_rows) != 1 or pair_rows[0].get("status") != "ok" or pair_rows[0].get("frames") != pair_frames
        or pair_rows[0]["metrics"].get("psnr") is None or pair_rows[0]["metrics"].get("ssim_fast") is None):
    sys.exit(f"bench: gallop did not score the pair in {pair_dist} against {pair_ref}: {pair_rows}")

# ffmpeg-quality-metrics on the same pair (its venv's console script).
fqm_py = os.environ["BENCH_FQM_PY"]
fqm_bin = os.path.join(os.path.dirname(fqm_py), "ffmpeg-quality-metrics")
fqm_tmp = os.path.join(work, "fqm-tmp")
os.makedirs(fqm_tmp, exist_ok=True)

def fqm_cmd(*extra):
    return [fqm_bin, *extra, "-m", "psnr", "ssim", "-t", "1", "--tmp-dir", fqm_tmp,
            os.path.join(pair_dist, pair_name), os.path.join(pair_ref, pair_name)]

def fqm_version():
    return subprocess.run([fqm_py, "-c", "from importlib.metadata import version; print(version('ffmpeg-quality-metrics'))"],
                          capture_output=True, text=True, check=True).stdout.strip()

# Untimed, verbose: what it runs, and its numbers beside Gallop's.
got = subprocess.run(fqm_cmd("-v"), capture_output=True, text=True)
if got.returncode != 0:
    sys.exit(f"bench: ffmpeg-quality-metrics failed on the pair:\n{got.stderr}")
fqm_ffmpeg = next((re.sub(r"\x1b\[[0-9;]*m", "", line).split(" - ", 1)[-1].strip()
                   for line in got.stderr.splitlines() if "-filter_complex" in line), "unknown")
fqm_global = json.loads(got.stdout)["global"]
fqm_psnr_y = fqm_global["psnr"]["psnr_y"]["average"]
fqm_mse_y = fqm_global["psnr"]["mse_y"]["average"]
fqm_ssim_y = fqm_global["ssim"]["ssim_y"]["average"]
gpm = pair_rows[0]["metrics"]
fqm_ffmpeg = fqm_ffmpeg.replace(work, "TMP").replace(pair_dist, "DIST").replace(pair_ref, "REF")
print(f"bench: ffmpeg-quality-metrics runs: {fqm_ffmpeg}", file=sys.stderr)
print(f"bench: ffmpeg-quality-metrics check: psnr_y from its mean MSE {10 * math.log10(255 ** 2 / fqm_mse_y):.3f} dB "
      f"(mean of per-frame PSNR {fqm_psnr_y:.3f} dB) vs Gallop psnr {gpm['psnr']:.3f} dB; "
      f"ssim_y {fqm_ssim_y:.3f} vs Gallop ssim_fast {gpm['ssim_fast']:.4f}", file=sys.stderr)
fqm_check = (abs(10 * math.log10(255 ** 2 / fqm_mse_y) - gpm["psnr"]), abs(fqm_ssim_y - gpm["ssim_fast"]))
if fqm_check[0] > 0.1 or fqm_check[1] > 0.002:  # it prints 3 decimals
    sys.exit(f"bench: ffmpeg-quality-metrics disagrees with Gallop on the pair: |Δpsnr| {fqm_check[0]:.3f} dB, "
             f"|Δssim| {fqm_check[1]:.4f}")

pair_ff, pair_ga, pair_fqm, fqm_start = [], [], [], []
for r in range(rounds):  # alternate: FFmpeg, Gallop, ffmpeg-quality-metrics, ...
    pair_ff.append(cpu_seconds(ffmpeg_pair_cmd()))
    pair_ga.append(gallop_pair_run()[0])
    pair_fqm.append(cpu_seconds(fqm_cmd()))
    fqm_start.append(cpu_seconds([fqm_py, "-c", "import ffmpeg_quality_metrics.ffmpeg_quality_metrics"]))
    print(f"bench: pair round {r + 1}/{rounds}: ffmpeg psnr+ssim {pair_ff[-1]:.3f} s, gallop psnr+ssim_fast {pair_ga[-1]:.3f} s, "
          f"ffmpeg-quality-metrics {pair_fqm[-1]:.3f} s (its Python start {fqm_start[-1]:.3f} s) CPU",
          file=sys.stderr)
pair_ratios = [g / f for f, g in zip(pair_ff, pair_ga)]
pm = pair_rows[0]["metrics"]
print()
print(f"Full reference, {clips[0][1]} against its x264 CRF-28 version, {pair_frames} frames; both sides decode both "
      f"clips; Gallop: psnr {pm['psnr']:.4f} dB, ssim_fast {pm['ssim_fast']:.6f}")
print()
print("| row | FFmpeg (s CPU, median [min–max]) | FFmpeg ms/frame | Gallop (s CPU, median [min–max]) | Gallop ms/frame "
      "| ratio Gallop/FFmpeg (per-round min–max) | target |")
print("|---|---:|---:|---:|---:|---:|---|")
print(f"| PSNR + SSIM on a pair: `score --reference --metrics psnr,ssim_fast` vs `ffmpeg -lavfi ssim;psnr` "
      f"| {spread(pair_ff)} | {ms(pair_ff, pair_frames)} | {spread(pair_ga)} | {ms(pair_ga, pair_frames)} "
      f"| {statistics.median(pair_ga) / statistics.median(pair_ff):.2f}× ({min(pair_ratios):.2f}–{max(pair_ratios):.2f}) | ≤ 1.0× |")

# Gallop against the Python tools: peer CPU / Gallop CPU.
peer_starts = [cpu_seconds([peer_py, "-c", "import av, cv2, numpy"]) for _ in range(3)]
av_version = subprocess.run([peer_py, "-c", "import av, cv2, numpy; print(av.__version__, numpy.__version__, cv2.__version__)"],
                            capture_output=True, text=True, check=True).stdout.split()
print()
print(f"Gallop against Python tools, one thread each. Python peer: gallopcheck.bench_peer, the ten frame metrics with "
      f"PyAV {av_version[0]} (its own FFmpeg), numpy {av_version[1]}, OpenCV {av_version[2]}; its values agree with "
      f"Gallop's (worst relative difference "
      f"{max(r[4] for r in peer_results):.1e}). ffmpeg-quality-metrics {fqm_version()}: `-m psnr ssim -t 1`, "
      f"running `{fqm_ffmpeg}`")
print()
print("| row | clip | frames | Python side (s CPU, median [min–max]) | Python ms/frame | Gallop (s CPU, median [min–max]) "
      "| Gallop ms/frame | Gallop faster by: Python/Gallop (per-round min–max) | target |")
print("|---|---|---:|---:|---:|---:|---:|---:|---|")

def faster_row(name, label, frames, py, ga, target):
    ratios = [p / g for p, g in zip(py, ga)]
    ratio = statistics.median(py) / statistics.median(ga)
    print(f"| {name} | {label} | {frames} | {spread(py)} | {ms(py, frames)} | {spread(ga)} | {ms(ga, frames)} "
          f"| {ratio:.2f}× faster ({min(ratios):.2f}–{max(ratios):.2f}) | {target} |")

for label, frames, ga, py, _, _ in peer_results:
    faster_row("Python peer (PyAV + numpy + OpenCV) vs `score --metrics FRAME_METRICS`", label, frames, py, ga, "≥ 10×")
faster_row("ffmpeg-quality-metrics `-m psnr ssim -t 1` vs `score --reference --metrics psnr,ssim_fast`",
           f"{clips[0][1]} vs its CRF-28 version", pair_frames, pair_fqm, pair_ga, "≥ 1.3×")
print()
print(f"Of the Python sides' time, starting Python costs {spread(peer_starts)} s CPU for the peer (importing av, cv2, "
      f"numpy) and {spread(fqm_start)} s for ffmpeg-quality-metrics (importing it and pandas).")
# Both sides decode: Gallop decodes with the system's FFmpeg, whose cost is the floor row's, so even with
# metrics that cost nothing Gallop could lead the peer by at most the peer's time over that floor.
floors = {label: statistics.median(ff) for label, _, ff, _, _ in results}
print("Both sides decode the clip. Gallop decodes with the system's FFmpeg, the floor row's cost, so with metrics "
      "that cost nothing it would lead the peer by at most the peer's time over that floor: " + "; ".join(
          f"{label}: {statistics.median(py) / floors[label]:.1f}× (of the peer's {statistics.median(py):.3f} s, "
          f"decoding with PyAV's own FFmpeg and starting Python take {statistics.median(dec):.3f} s)"
          for label, _, _, py, _, dec in peer_results if label in floors) + ".")
if peer_disagreements:
    print("The Python peer differs from Gallop by more than 1% on: " + "; ".join(
        f"{name} ({label}): Gallop {g!r}, peer {p!r}, {d:.1%}" for label, name, g, p, d in peer_disagreements))

# ---------------------------------------------------------------------------
# Optical flow rows (the 720p clip only): see the header.
MOTION_METRICS = ",".join(metric_names(gallop, flow=True))
SIDE = 512
cv_py = os.environ["BENCH_CV_PY"]
clip, label = clips[0]
frames = count_frames(clip)
pairs = frames - 1

def scored(metrics):
    out = os.path.join(work, "out")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [gallop, "score", clip, "--out", out, "--jobs", "1", "--threads", "1", "--quiet", "--metrics", metrics]
    return cmd, out

def gallop_flow_run(metrics):
    cmd, out = scored(metrics)
    t = cpu_seconds(cmd)
    with open(os.path.join(out, "clips.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return t, rows

def opencv_cmd(params):
    return [cv_py, "-m", "gallopcheck.bench_opencv_flow", clip, str(SIDE), params]

def cv_version():
    return subprocess.run([cv_py, "-c", "import cv2; print(cv2.__version__)"], capture_output=True, text=True,
                          check=True).stdout.strip()

# Untimed checks: both sides succeed and do the same pairs at the same size.
for params in ("medium", "gallop"):
    got = subprocess.run(opencv_cmd(params), capture_output=True, text=True)
    if got.returncode != 0:
        sys.exit(f"bench: OpenCV flow script failed: {got.stderr}")
    n, p, w, h = map(int, got.stdout.split())
    if n != frames or p != pairs:
        sys.exit(f"bench: OpenCV read {n} frames ({p} pairs) of {clip}, ffprobe counts {frames}")
for metrics in ("motion_magnitude", MOTION_METRICS):
    _, rows = gallop_flow_run(metrics)
    if len(rows) != 1 or rows[0].get("status") != "ok" or rows[0].get("frames") != frames:
        sys.exit(f"bench: gallop --metrics {metrics} did not score all {frames} frames of {clip}: {rows}")
series = rows[0]["extras"]["motion_magnitude"]["series"]
if sum(v is not None for v in series) != pairs:
    sys.exit(f"bench: gallop computed {sum(v is not None for v in series)} forward flows, expected {pairs}")
if (w, h) != (SIDE, round(SIDE * rows[0]["height"] / rows[0]["width"])):
    sys.exit(f"bench: OpenCV flow size {w}x{h} is not Gallop's motion size")

cvm, gfl, gmo, cvg, start = [], [], [], [], []
for r in range(rounds):  # alternate the sides: OpenCV, Gallop, Gallop, OpenCV, ...
    cvm.append(cpu_seconds(opencv_cmd("medium")))
    gfl.append(gallop_flow_run("motion_magnitude")[0])
    gmo.append(gallop_flow_run(MOTION_METRICS)[0])
    cvg.append(cpu_seconds(opencv_cmd("gallop")))
    start.append(cpu_seconds([cv_py, "-c", "import cv2, numpy"]))
    print(f"bench: flow round {r + 1}/{rounds}: OpenCV medium {cvm[-1]:.3f} s, gallop flow {gfl[-1]:.3f} s, "
          f"gallop motion {gmo[-1]:.3f} s, OpenCV as Gallop {cvg[-1]:.3f} s, python+cv2 start {start[-1]:.3f} s CPU",
          file=sys.stderr)

def pps(xs):
    return f"{pairs / statistics.median(xs):.1f}"

print()
print(f"Optical flow, {label}, {frames} frames = {pairs} consecutive pairs, flow at {w}x{h}; OpenCV {cv_version()} "
      f"(opencv-python-headless, one thread, cv2.VideoCapture decoding); both sides include decoding; "
      f"pairs/s = {pairs} / median CPU s")
print()
print("| row | Gallop (s CPU, median [min–max]) | Gallop pairs/s | OpenCV script (s CPU, median [min–max]) "
      "| OpenCV pairs/s | ratio Gallop/OpenCV (per-round min–max) | target |")
print("|---|---:|---:|---:|---:|---:|---|")
for name, ga, cv, target in (
        ("flow: `score --metrics motion_magnitude` (one forward flow per pair) vs DIS medium through VideoCapture "
         "(the target is against the lean peer: next table)", gfl, cvm, "reported"),
        ("whole motion pipeline: the five motion metrics vs DIS medium (one forward flow per pair)", gmo, cvm, "reported"),
        ("context: flow vs DIS with Gallop's parameters (scale 0, patch 8, stride 5, 16 it., no refinement)",
         gfl, cvg, "reported")):
    ratios = [g / c for g, c in zip(ga, cv)]
    ratio = statistics.median(ga) / statistics.median(cv)
    print(f"| {name} | {spread(ga)} | {pps(ga)} | {spread(cv)} | {pps(cv)} "
          f"| {ratio:.2f}× ({min(ratios):.2f}–{max(ratios):.2f}) | {target} |")
print()
print(f"Of the OpenCV side's time, starting Python and importing cv2 and numpy costs {spread(start)} s CPU.")

# ---------------------------------------------------------------------------
# --jobs scaling on 20 clips: see the header. Wall time is the point; CPU beside it.
quick = os.environ.get("BENCH_QUICK") == "1"
jobs_dir = os.environ["BENCH_JOBS_DIR"]
jobs_clips = sorted(os.path.relpath(os.path.join(d, f), jobs_dir)
                    for d, _, fs in os.walk(jobs_dir) for f in fs if f.endswith(".mp4"))
jobs_frames = sum(count_frames(os.path.join(jobs_dir, c)) for c in jobs_clips)
MOTION_MAX_FRAMES = 20

def jobs_cmd(jobs, out, motion):
    cmd = [gallop, "score", jobs_dir, "--out", out, "--jobs", str(jobs), "--threads", "1", "--quiet"]
    return cmd + (["--max-frames", str(MOTION_MAX_FRAMES)] if motion else ["--metrics", FRAME_METRICS])

def jobs_rows(out):
    with open(os.path.join(out, "clips.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    for r in rows:
        r.pop("timing", None)  # each clip's own wall time: the one field --jobs may change
    return sorted((json.dumps(r, sort_keys=True) for r in rows))

def machine_busy():
    """CPU seconds the whole machine has been busy (every process, every core), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return math.nan
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")

def jobs_run(jobs, motion):
    """CPU s, wall s, the rows, and the other work's CPU during the run in cores (busy machine − this run)."""
    out = os.path.join(work, "jobs-out")
    shutil.rmtree(out, ignore_errors=True)
    busy = machine_busy()
    t, wall = measure(jobs_cmd(jobs, out, motion))
    others = max(0.0, (machine_busy() - busy - t) / wall)
    return t, wall, jobs_rows(out), others

jobs_results = []
for motion in ([False] if quick else [False, True]):
    n_rounds = rounds if not motion else max(2, (rounds + 1) // 2)
    _, _, reference_rows, _ = jobs_run(1, motion)  # untimed: warms the page cache; the rows every run must give
    if len(reference_rows) != len(jobs_clips) or any(json.loads(r)["status"] != "ok" for r in reference_rows):
        sys.exit(f"bench: gallop did not score the {len(jobs_clips)} clips of {jobs_dir}")
    c1, w1, c2, w2, others, identical = [], [], [], [], [], True
    for r in range(n_rounds):  # alternate: --jobs 1, --jobs 2, ...
        for jobs, cs, ws in ((1, c1, w1), (2, c2, w2)):
            t, wall, rows, other = jobs_run(jobs, motion)
            cs.append(t); ws.append(wall)
            if jobs == 2:
                others.append(other)
            if rows != reference_rows:
                identical = False
                diff = next((a, b) for a, b in zip(rows, reference_rows) if a != b) if len(rows) == len(reference_rows) else None
                print(f"bench: --jobs {jobs} rows differ from the first --jobs 1 run's: {diff}", file=sys.stderr)
        print(f"bench: jobs{' motion' if motion else ''} round {r + 1}/{n_rounds}: --jobs 1 {w1[-1]:.2f} s wall "
              f"({c1[-1]:.2f} s CPU), --jobs 2 {w2[-1]:.2f} s wall ({c2[-1]:.2f} s CPU; other work meanwhile "
              f"{others[-1]:.2f} cores)", file=sys.stderr)
    frames_run = sum(json.loads(r)["frames"] for r in reference_rows)
    jobs_results.append((motion, n_rounds, frames_run, c1, w1, c2, w2, identical, others))

print()
print(f"--jobs scaling: {len(jobs_clips)} clips at 1280x720 in .cache/bench/{os.path.basename(jobs_dir)} "
      f"({jobs_frames} frames), --threads 1, sides alternated; speed-up = median wall(--jobs 1) / median wall(--jobs 2), "
      f"2.00 is linear on {os.cpu_count()} cores; CPU is user + sys of the whole run; other work = CPU the rest of the "
      f"machine used during the --jobs 2 runs (/proc/stat), in cores: what it took from the second core")
print()
print("| run | rounds | frames scored | --jobs 1 wall (s, median [min–max]) | --jobs 2 wall (s, median [min–max]) "
      "| speed-up (per-round min–max) | --jobs 1 CPU (s) | --jobs 2 CPU (s) | CPU jobs 2 / jobs 1 | rows identical | other work during --jobs 2 (cores, median [min–max]) | target |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
for motion, n_rounds, frames_run, c1, w1, c2, w2, identical, others in jobs_results:
    name = (f"every default metric (flow included), --max-frames {MOTION_MAX_FRAMES}" if motion
            else "`--metrics FRAME_METRICS`")
    speedups = [a / b for a, b in zip(w1, w2)]
    print(f"| {name} | {n_rounds} | {frames_run} | {spread(w1)} | {spread(w2)} "
          f"| {statistics.median(w1) / statistics.median(w2):.2f}× ({min(speedups):.2f}–{max(speedups):.2f}) "
          f"| {spread(c1)} | {spread(c2)} | {statistics.median(c2) / statistics.median(c1):.2f} "
          f"| {'yes' if identical else 'NO'} | {statistics.median(others):.2f} [{min(others):.2f}–{max(others):.2f}] "
          f"| near-linear (2.0×) |")
if not all(r[7] for r in jobs_results):
    sys.exit("bench: the rows differ between --jobs 1 and --jobs 2 (see above): results must not depend on --jobs")

# ---------------------------------------------------------------------------
# Memory: peak RSS (/usr/bin/time -v) on a 1080p clip and a six-times-longer one: see the header.
mem_clips = os.environ["BENCH_MEM_CLIPS"].splitlines()
mem_secs = os.environ["BENCH_MEM_SECS"].split()

def peak(cmd):
    """(peak RSS in kB, CPU s) of cmd from /usr/bin/time -v."""
    got = subprocess.run(["/usr/bin/time", "-v", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if got.returncode != 0:
        sys.exit(f"bench: failed ({got.returncode}): {' '.join(cmd)}\n{got.stderr}")
    field = lambda key: float(re.search(rf"^\s*{re.escape(key)}: (\S+)$", got.stderr, re.M).group(1))
    return int(field("Maximum resident set size (kbytes)")), field("User time (seconds)") + field("System time (seconds)")

mem = []
for clip, secs in zip(mem_clips, mem_secs):
    frames = count_frames(clip)
    out = os.path.join(work, "mem-out")
    shutil.rmtree(out, ignore_errors=True)
    g_kb, g_cpu = peak([gallop, "score", clip, "--out", out, "--jobs", "1", "--threads", "1", "--quiet"])
    with open(os.path.join(out, "clips.jsonl")) as f:
        row = json.loads(f.readline())
    if row.get("status") != "ok" or row.get("frames") != frames:
        sys.exit(f"bench: gallop did not score all {frames} frames of {clip}: {row.get('status')} {row.get('error')}")
    f_kb, f_cpu = peak(ffmpeg_cmd(clip))
    print(f"bench: memory {os.path.basename(clip)}: gallop {g_kb} kB peak ({g_cpu:.1f} s CPU), "
          f"ffmpeg {f_kb} kB peak ({f_cpu:.1f} s CPU)", file=sys.stderr)
    mem.append((secs, frames, g_kb, g_cpu, f_kb, f_cpu, len(row["metrics"]), len(row["config"]["metrics"])))

mb = lambda kb: f"{kb * 1024 / 1e6:.1f}"
(s1, n1, g1, gc1, f1, fc1, v1, m1), (s2, n2, g2, gc2, f2, fc2, _, _) = mem
print()
print(f"Peak memory (maximum RSS from /usr/bin/time -v, MB = 10^6 bytes, one run each): bigbuckbunny upscaled to "
      f"1920x1080 and looped, x264 CRF 18; Gallop scores the default set ({m1} metrics, {v1} values, optical flow included) "
      f"with --jobs 1 --threads 1")
print()
print(f"| command | {s1} s clip ({n1} frames) | {s2} s clip ({n2} frames) | ratio {s2} s / {s1} s | target |")
print("|---|---:|---:|---:|---|")
print(f"| Gallop `score CLIP --jobs 1 --threads 1` (peak MB) | {mb(g1)} | {mb(g2)} | {g2 / g1:.2f}× | flat, < 200 MB |")
print(f"| FFmpeg `-threads 1 -i CLIP -f null -` (peak MB, context) | {mb(f1)} | {mb(f2)} | {f2 / f1:.2f}× | reported |")
print(f"| Gallop CPU (s, context) | {gc1:.1f} | {gc2:.1f} | {gc2 / gc1:.2f}× | reported |")
