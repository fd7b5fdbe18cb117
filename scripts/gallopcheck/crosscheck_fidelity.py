# Gallop's full-reference metrics and temporal flickering against FFmpeg, scikit-image, TensorFlow and VBench: see scripts/lib/verify/crosscheck-fidelity (scripts/verify crosscheck-fidelity).
import json, math, os, re, subprocess, sys
import numpy as np

from gallopcheck.common import verify_key

gallop, xc, work, msssim_ref = sys.argv[1:5]
tf_every = int(sys.argv[5])
PAIRS = ["bigbuckbunny-crf28.mp4", "bigbuckbunny-crf40.mp4", "carphone_pristine-crf28.mp4", "carphone_pristine-crf40.mp4"]
ORIGINALS = ["bigbuckbunny.mp4", "carphone_pristine.mp4", "carphone_distorted.mp4", "bikes.mp4"]
TOL_PSNR, TOL_SSIM_FAST, TOL_SSIM, TOL_MS, TOL_TF = 0.01, 0.0005, 0.001, 0.002, 0.0005
failures = []
gated = []   # the result of every row, for the key figure

def log(msg):
    print(f"crosscheck-fidelity: {msg}", file=sys.stderr, flush=True)

def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit(f"crosscheck-fidelity: failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr.decode(errors='replace')}")
    return p

def rows(path):
    with open(path) as f:
        return {r["path"]: r for r in (json.loads(line) for line in f if line.strip())}

g_ref = rows(os.path.join(work, "gallop-ref", "clips.jsonl"))
g_orig = rows(os.path.join(work, "gallop-orig", "clips.jsonl"))
for name, table in [(n, g_ref) for n in PAIRS] + [(n, g_orig) for n in ORIGINALS]:
    if table.get(name, {}).get("status") != "ok":
        sys.exit(f"crosscheck-fidelity: gallop did not score {name}: {table.get(name)}")

def series(row, metric):
    return row["extras"][metric]["series"]

def num(v):
    return math.inf if v is None else float(v)   # Gallop writes an infinite PSNR as null

def diff(a, b):
    a, b = num(a), num(b)
    if math.isinf(a) and math.isinf(b) and a == b:
        return 0.0
    return abs(a - b)

def fmt(v, digits):
    if v is None:
        return "null"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return f"{v:.{digits}f}"

# One table per check. A row: clip, quantity, Gallop (clip), peer (clip), |Δ| clip,
# max |Δ| per frame (and where), tolerance, result.
def table(title, peer, digits, entries, note=None):
    print()
    print(f"### {title}")
    if note:
        print()
        print(note)
    print()
    print(f"| clip | value | Gallop | {peer} | \\|Δ\\| clip | max \\|Δ\\| per frame (frame) | tolerance | result |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for e in entries:
        g, p, tol = e["gallop"], e["peer"], e["tol"]
        dc = diff(g, p) if g is not None or p is not None else 0.0
        frame = "–"
        worst = 0.0
        if e.get("frames") is not None:
            gs, ps = e["frames"]
            if len(gs) != len(ps):
                sys.exit(f"crosscheck-fidelity: {e['clip']} {e['value']}: {len(gs)} Gallop frames, {len(ps)} peer frames")
            ds = [diff(a, b) for a, b in zip(gs, ps)]
            k = int(np.argmax(ds))
            worst = ds[k]
            frame = f"{fmt(worst, 6)} ({e.get('first', 0) + k * e.get('step', 1)})"
        result = e.get("result") or ("PASS" if dc <= tol and worst <= tol else "FAIL")
        gated.append(result)
        if result == "FAIL":
            failures.append(f"{title}: {e['clip']} {e['value']}")
        value = e["value"] + (f" vs {e['peer_name']}" if e.get("peer_name") else "")
        print(f"| {e['clip']} | {value} | {fmt(g, digits)} | {fmt(p, digits)} | {fmt(dc, 6)} | {frame} | {tol} | {result} |")

# ---------------------------------------------------------------------------
# FFmpeg: psnr and ssim filters, per-frame stats files and the summary lines.
def ffmpeg_pair(name, c_code):
    dist, ref = os.path.join(xc, "dist", name), os.path.join(xc, "ref", name)
    tag = "c" if c_code else "simd"
    s, p = os.path.join(work, f"{name}.{tag}.ssim.log"), os.path.join(work, f"{name}.{tag}.psnr.log")
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "info"] + (["-cpuflags", "0"] if c_code else []) + [
        "-threads", "1", "-i", dist, "-threads", "1", "-i", ref, "-filter_threads", "1",
        "-lavfi", f"[0:v][1:v]ssim=stats_file={s};[0:v][1:v]psnr=stats_file={p}", "-f", "null", "-"]
    err = run(cmd).stderr.decode(errors="replace")
    m = re.search(r"SSIM Y:(\S+) .* All:(\S+)", err)
    q = re.search(r"PSNR y:(\S+) u:(\S+) v:(\S+) average:(\S+)", err)
    if not m or not q:
        sys.exit(f"crosscheck-fidelity: no SSIM/PSNR summary from ffmpeg on {name}:\n{err}")
    out = {"ssim_y": float(m[1]), "ssim_all": float(m[2]),
           "psnr_y": float(q[1]), "psnr_u": float(q[2]), "psnr_v": float(q[3]), "psnr_avg": float(q[4])}
    frames = {"Y": [], "All": [], "psnr_y": [], "psnr_u": [], "psnr_v": [], "mse_y": []}
    with open(s) as f:
        for line in f:
            kv = dict(t.split(":", 1) for t in line.split() if ":" in t)
            frames["Y"].append(float(kv["Y"])); frames["All"].append(float(kv["All"]))
    with open(p) as f:
        for line in f:
            kv = dict(t.split(":", 1) for t in line.split() if ":" in t)
            for k in ("psnr_y", "psnr_u", "psnr_v", "mse_y"):
                frames[k].append(float(kv[k]))
    out["frames"] = frames
    return out

log("FFmpeg psnr + ssim filters (as built, and -cpuflags 0)")
ff = {name: {"simd": ffmpeg_pair(name, False), "c": ffmpeg_pair(name, True)} for name in PAIRS}
for name in PAIRS:
    n = g_ref[name]["frames"]
    for tag in ("simd", "c"):
        got = len(ff[name][tag]["frames"]["Y"])
        if got != n or len(ff[name][tag]["frames"]["psnr_y"]) != n:
            sys.exit(f"crosscheck-fidelity: FFmpeg ({tag}) compared {got} frames of {name}, Gallop {n}")

entries = []
for name in PAIRS:
    g, f = g_ref[name], ff[name]["simd"]
    m = g["metrics"]
    entries.append(dict(clip=name, value="psnr (luma; per frame, clip from mean MSE)", gallop=m["psnr"], peer=f["psnr_y"],
                        tol=TOL_PSNR, frames=(series(g, "psnr"), f["frames"]["psnr_y"])))
    for k, fk in (("psnr_u", "psnr_u"), ("psnr_v", "psnr_v"), ("psnr_avg", "psnr_avg")):
        entries.append(dict(clip=name, value=k, gallop=m[k], peer=f[fk], tol=TOL_PSNR))
table("1. PSNR vs FFmpeg's psnr filter (dB)", "FFmpeg", 4, entries,
      note="Per-frame peer values are the stats file's psnr_y (printed to 0.01 dB, so up to 0.005 dB of the "
           "difference is FFmpeg's rounding); clip values are FFmpeg's summary line (y, u, v, average). Frames count from 0.")

def fast_entries(tag, gate):
    out = []
    for name in PAIRS:
        g, f, c = g_ref[name], ff[name][tag], ff[name]["c"]
        m = g["metrics"]
        for value, gv, fv, gs, fs, cs, cv in (
                ("ssim_fast (Y)", m["ssim_fast"], f["ssim_y"], series(g, "ssim_fast"), f["frames"]["Y"], c["frames"]["Y"], c["ssim_y"]),
                ("ssim_fast_all (All)", m["ssim_fast_all"], f["ssim_all"], None, None, None, c["ssim_all"])):
            e = dict(clip=name, value=value, gallop=gv, peer=fv, tol=TOL_SSIM_FAST, frames=(gs, fs) if gs else None)
            if not gate:
                # FFmpeg's SIMD against its own C code: a disagreement there is FFmpeg's, not Gallop's.
                self_d = max([abs(cv - fv)] + ([abs(a - b) for a, b in zip(cs, fs)] if cs else []))
                g_d = max([abs(gv - fv)] + ([abs(a - b) for a, b in zip(gs, fs)] if gs else []))
                gc_d = max([abs(gv - cv)] + ([abs(a - b) for a, b in zip(gs, cs)] if gs else []))
                if g_d > TOL_SSIM_FAST and self_d > TOL_SSIM_FAST and gc_d <= TOL_SSIM_FAST:
                    e["result"] = f"FFMPEG-SIMD (its C code differs by {self_d:.6f})"
            out.append(e)
    return out

table("2a. ssim_fast vs FFmpeg's ssim filter, C code (-cpuflags 0): the gate", "FFmpeg C", 6, fast_entries("c", True))
table("2b. ssim_fast vs FFmpeg's ssim filter as built (x86 SIMD)", "FFmpeg SIMD", 6, fast_entries("simd", False),
      note="FFMPEG-SIMD: FFmpeg's SIMD result differs from its own C code by more than the tolerance and Gallop "
           "matches the C code (not counted as a failure).")

# FFmpeg's SIMD vs C per plane (information: which planes FFmpeg disagrees with itself on).
print()
print("FFmpeg ssim, as built vs -cpuflags 0 (same FFmpeg): |Δ| of the clip's Y and All, and the largest per-frame |Δ| of Y and All")
print()
print("| clip | \\|Δ\\| Y clip | \\|Δ\\| All clip | max \\|Δ\\| Y per frame | max \\|Δ\\| All per frame | luma / chroma width mod 16 |")
print("|---|---:|---:|---:|---:|---|")
for name in PAIRS:
    s, c = ff[name]["simd"], ff[name]["c"]
    w = g_ref[name]["width"]
    fy = max(abs(a - b) for a, b in zip(s["frames"]["Y"], c["frames"]["Y"]))
    fa = max(abs(a - b) for a, b in zip(s["frames"]["All"], c["frames"]["All"]))
    print(f"| {name} | {abs(s['ssim_y'] - c['ssim_y']):.6f} | {abs(s['ssim_all'] - c['ssim_all']):.6f} | {fy:.6f} | {fa:.6f} "
          f"| {w % 16} / {((w + 1) // 2) % 16} |")
psnr_same = all(ff[n]["simd"]["frames"]["psnr_y"] == ff[n]["c"]["frames"]["psnr_y"] and
                all(ff[n]["simd"][k] == ff[n]["c"][k] for k in ("psnr_y", "psnr_u", "psnr_v", "psnr_avg")) for n in PAIRS)
print()
print(f"FFmpeg's psnr, as built vs -cpuflags 0: {'identical' if psnr_same else 'DIFFERENT'} on every pair.")

# ---------------------------------------------------------------------------
# Luma planes: PyAV's stored Y plane (line_size honoured), checked against
# ffmpeg's extractplanes=y; and, for information, plain `-pix_fmt gray`.
import av

def luma(path):
    with av.open(path) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        out = []
        for fr in c.decode(s):
            if fr.format.name not in ("yuv420p", "yuvj420p"):
                sys.exit(f"crosscheck-fidelity: {path} decodes to {fr.format.name}, expected yuv420p")
            p = fr.planes[0]
            out.append(np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:fr.height, :fr.width].copy())
    return np.stack(out)

def ffmpeg_gray(path, h, w, extract):
    vf = ["-vf", "extractplanes=y"] if extract else []
    raw = run(["ffmpeg", "-nostdin", "-v", "error", "-i", path] + vf + ["-f", "rawvideo", "-pix_fmt", "gray", "-"]).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w)

log("decoding luma planes (PyAV)")
lumas = {}
check_rows = []
for name in PAIRS:
    for side in ("dist", "ref"):
        path = os.path.join(xc, side, name)
        key = os.path.realpath(path)
        if key in lumas:
            continue
        y = luma(path)
        lumas[key] = y
        n, h, w = y.shape
        ex, gr = ffmpeg_gray(path, h, w, True), ffmpeg_gray(path, h, w, False)
        same_ex = ex.shape == y.shape and np.array_equal(ex, y)
        d_gray = int(np.abs(gr.astype(int) - y).max()) if gr.shape == y.shape else None
        check_rows.append((os.path.relpath(key, os.path.dirname(xc)), n, same_ex, d_gray))
        if not same_ex:
            failures.append(f"luma decode: PyAV's Y plane != ffmpeg extractplanes=y on {path}")
print()
print("Luma decoding: PyAV frame.planes[0] (line_size honoured) vs `ffmpeg -vf extractplanes=y -f rawvideo -pix_fmt gray` "
      "and vs plain `-pix_fmt gray` (which converts limited to full range)")
print()
print("| clip | frames | PyAV == extractplanes=y | max \\|PyAV − plain -pix_fmt gray\\| |")
print("|---|---:|---|---:|")
for clip, n, same, d in check_rows:
    print(f"| {clip} | {n} | {'yes' if same else 'NO'} | {d} |")

def pair_luma(name):
    return lumas[os.path.realpath(os.path.join(xc, "dist", name))], lumas[os.path.realpath(os.path.join(xc, "ref", name))]

for name in PAIRS:
    a, b = pair_luma(name)
    if len(a) != g_ref[name]["frames"] or len(b) != len(a):
        sys.exit(f"crosscheck-fidelity: PyAV decoded {len(a)}/{len(b)} frames of {name}, Gallop {g_ref[name]['frames']}")
    # The planes are FFmpeg's: per-frame luma MSE from them vs FFmpeg's stats (printed to 0.01).
    mse = ((a.astype(np.int64) - b) ** 2).reshape(len(a), -1).mean(axis=1)
    d = np.abs(mse - np.array(ff[name]["simd"]["frames"]["mse_y"])).max()
    if d > 0.005 + 1e-9:
        failures.append(f"luma decode: MSE from PyAV planes differs from FFmpeg's mse_y by {d} on {name}")

# ---------------------------------------------------------------------------
# 3. scikit-image SSIM.
import skimage
from skimage.metrics import structural_similarity
log("scikit-image SSIM per frame")
entries = []
for name in PAIRS:
    a, b = pair_luma(name)
    sk = [structural_similarity(x.astype(np.float64), y.astype(np.float64), gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False, data_range=255) for x, y in zip(a, b)]
    g = g_ref[name]
    entries.append(dict(clip=name, value="ssim (mean over frames)", gallop=g["metrics"]["ssim"], peer=float(np.mean(sk)),
                        tol=TOL_SSIM, frames=(series(g, "ssim"), sk)))
table(f"3. ssim vs scikit-image {skimage.__version__} structural_similarity (Gaussian, σ 1.5, population covariance, "
      "data_range 255, float64)", "scikit-image", 6, entries)

# ---------------------------------------------------------------------------
# 4. MS-SSIM.
from scipy.ndimage import correlate1d
WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])

def gauss11():
    x = np.arange(11) - 5.0
    g = np.exp(-x * x / (2 * 1.5 ** 2))
    return g / g.sum()

G = gauss11()

def ssim_cs_valid(x, y):
    """TF's _ssim_per_channel: 11x11 Gaussian (σ 1.5), VALID, K1 0.01, K2 0.03, L 255, compensation 1."""
    def filt(img):
        return correlate1d(correlate1d(img, G, axis=0, mode="constant"), G, axis=1, mode="constant")[5:-5, 5:-5]
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = filt(x), filt(y)
    vx, vy, cxy = filt(x * x) - mx * mx, filt(y * y) - my * my, filt(x * y) - mx * my
    lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    cs = (2 * cxy + c2) / (vx + vy + c2)
    return float(np.mean(lum * cs)), float(np.mean(cs))

def pool2(img):
    """TF: pad odd sizes by repeating the last row/column (SYMMETRIC), then 2x2 VALID average pooling."""
    h, w = img.shape
    img = np.pad(img, ((0, h % 2), (0, w % 2)), mode="symmetric")
    return 0.25 * (img[0::2, 0::2] + img[1::2, 0::2] + img[0::2, 1::2] + img[1::2, 1::2])

def msssim_numpy(x, y):
    x, y = x.astype(np.float64), y.astype(np.float64)
    terms = []
    for scale in range(5):
        s, cs = ssim_cs_valid(x, y)
        terms.append(max(0.0, cs if scale < 4 else s))
        if scale < 4:
            x, y = pool2(x), pool2(y)
    return float(np.prod(np.power(terms, WEIGHTS)))

tf_note = None
if msssim_ref == "tf":
    try:
        import tensorflow as tf
        tf_name = f"TensorFlow {tf.__version__} tf.image.ssim_multiscale"
    except Exception as exc:  # noqa: BLE001
        msssim_ref = f"numpy:import tensorflow failed: {exc}"
if msssim_ref != "tf":
    tf_note = (f"TensorFlow NOT used ({msssim_ref[6:]}); the gate is the numpy re-implementation of "
               "tf.image.ssim_multiscale / pytorch-msssim (float64, same windows, weights, relu and pooling).")

def msssim_tf(a, b, batch=8):
    out = []
    for i in range(0, len(a), batch):
        x = tf.constant(a[i:i + batch, :, :, None].astype(np.float32))
        y = tf.constant(b[i:i + batch, :, :, None].astype(np.float32))
        out.extend(float(v) for v in tf.image.ssim_multiscale(x, y, max_val=255.0).numpy())
    return out

log("MS-SSIM per frame (" + (f"TensorFlow on every {tf_every}th frame, numpy on all" if msssim_ref == "tf" else "numpy") + ")")
entries, info = [], []
for name in PAIRS:
    g = g_ref[name]
    gs = series(g, "ms_ssim")
    if min(g["width"], g["height"]) < 161:
        warned = any("ms_ssim" in w for w in g.get("warnings", []))
        ok = g["metrics"]["ms_ssim"] is None and all(v is None for v in gs) and warned
        entries.append(dict(clip=name, value=f"ms_ssim ({g['width']}x{g['height']}: null with a warning expected)",
                            gallop=g["metrics"]["ms_ssim"], peer=None, tol="null + warning",
                            result="PASS" if ok else "FAIL"))
        info.append((name, "Gallop's warning: " + ("; ".join(w for w in g.get("warnings", []) if "ms_ssim" in w) or "(none)")))
        continue
    a, b = pair_luma(name)
    npv = [msssim_numpy(x, y) for x, y in zip(a, b)]
    if msssim_ref == "tf":
        idx = list(range(0, len(a), tf_every))
        tfv = msssim_tf(a[idx], b[idx])
        gsub, nsub = [gs[i] for i in idx], [npv[i] for i in idx]
        entries.append(dict(clip=name, value=f"ms_ssim, {len(idx)} of {len(a)} frames (0, {tf_every}, {2 * tf_every}, …; clip = their mean)",
                            gallop=float(np.mean(gsub)), peer=float(np.mean(tfv)), tol=TOL_MS, frames=(gsub, tfv),
                            step=tf_every, peer_name="TensorFlow"))
        d = max(abs(p - q) for p, q in zip(tfv, nsub))
        info.append((name, f"numpy re-implementation vs TensorFlow on the {len(idx)} sampled frames: max |Δ| per frame "
                           f"{d:.2e}, mean {abs(np.mean(tfv) - np.mean(nsub)):.2e}"))
    entries.append(dict(clip=name, value=f"ms_ssim, all {len(a)} frames (mean over frames)", gallop=g["metrics"]["ms_ssim"],
                        peer=float(np.mean(npv)), tol=TOL_MS, frames=(gs, npv), peer_name="numpy re-impl."))
table("4. ms_ssim vs " + (tf_name + " (sampled frames) and a numpy re-implementation of it (all frames)"
                          if msssim_ref == "tf" else "a numpy re-implementation of tf.image.ssim_multiscale"),
      "peer", 6, entries, note=tf_note)
print()
for name, text in info:
    print(f"- {name}: {text}")

# ---------------------------------------------------------------------------
# 5. VBench temporal flickering on cv2.VideoCapture frames.
import cv2

def vbench_flicker(path):
    cap = cv2.VideoCapture(path)
    frames = []
    while cap.isOpened():
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    maes = [cv2.absdiff(np.array(frames[i], dtype=np.float32), np.array(frames[i + 1], dtype=np.float32)).mean()
            for i in range(len(frames) - 1)]
    return (255.0 - np.mean(maes).item()) / 255.0, [float(m) for m in maes], len(frames)

log("VBench temporal flickering (cv2.VideoCapture)")
entries, raw = [], []
for name, g, path in ([(n, g_orig[n], os.path.join(xc, "orig", n)) for n in ORIGINALS] +
                      [(n, g_ref[n], os.path.join(xc, "dist", n)) for n in PAIRS]):
    score, maes, n = vbench_flicker(path)
    s = series(g, "temporal_flickering")
    if n != g["frames"] or s[0] is not None:
        sys.exit(f"crosscheck-fidelity: OpenCV read {n} frames of {name}, Gallop {g['frames']} (series starts {s[0]})")
    # Per pair in score units: (255 - mae)/255, so |Δ| = |Δ mae| / 255.
    entries.append(dict(clip=name, value="temporal_flickering (per pair: (255 − mean\\|ΔRGB\\|)/255)",
                        gallop=g["metrics"]["temporal_flickering"], peer=score, tol=TOL_TF,
                        frames=([(255 - v) / 255 for v in s[1:]], [(255 - m) / 255 for m in maes]), first=1))
    d = [abs(v - m) for v, m in zip(s[1:], maes)]
    k = int(np.argmax(d))
    raw.append((name, float(np.mean(maes)), max(maes), d[k], k + 1))
table(f"5. temporal_flickering vs VBench's formula on OpenCV {cv2.__version__} frames (BGR, cv2.VideoCapture)",
      "VBench re-impl.", 6, entries,
      note="Per-pair rows: pair k = frames k−1 and k (k from 1). Originals: `gallop score orig --metrics temporal_flickering`; "
           "the -crf clips: the reference run.")
print()
print("The same in raw units (mean |ΔRGB| per pair, 0–255; Gallop's series is written to 6 decimals):")
print()
print("| clip | VBench mean over pairs | largest pair | max \\|Gallop − VBench\\| per pair (pair) |")
print("|---|---:|---:|---:|")
for name, mean, top, d, k in raw:
    print(f"| {name} | {mean:.6f} | {top:.6f} | {d:.2e} ({k}) |")

print()
verify_key(f"{len(failures)} of {sum(r != 'FFMPEG-SIMD' for r in gated)} gated rows beyond tolerance")
if failures:
    print(f"FAIL: {len(failures)} check(s) exceed their tolerance:")
    for f in failures:
        print(f"  - {f}")
    sys.exit(1)
print("All gated checks PASS.")
