# Gallop's optical flow against OpenCV's DIS and known answers: see scripts/lib/verify/crosscheck-flow (scripts/verify crosscheck-flow).
import glob, math, os, subprocess, sys
import numpy as np
import cv2
from gallopcheck.common import dis, verify_key

gallop, clips, work = sys.argv[1:4]
cv2.setNumThreads(1)
MARGIN = 16          # px from the border excluded from the known-answer EPE
GATE_EPE = 0.5       # px, translations of at most GATE_SHIFT px
GATE_SHIFT = 8.0
GATE_PAN = 0.05      # relative error of a pan's mean magnitude
OUTLIER = 16.0       # px: a vector this far from OpenCV medium's is a gross error (two patch widths)

FLOW_CONFIG = os.environ.get("GALLOP_FLOW_CONFIG")   # a YAML config whose options.flow `gallop flow` uses


def run(cmd):
    if cmd[:2] == [gallop, "flow"] and FLOW_CONFIG:
        cmd = cmd + ["--config", FLOW_CONFIG]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"crosscheck-flow: failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
    return p

def read_pgm(path):
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None or img.dtype != np.uint8 or img.ndim != 2:
        sys.exit(f"crosscheck-flow: {path} is not an 8-bit PGM")
    return img

def read_flo(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"PIEH":
        sys.exit(f"crosscheck-flow: {path} is not a Middlebury .flo")
    w, h = np.frombuffer(data[4:12], dtype="<i4")
    flow = np.frombuffer(data[12:], dtype="<f4")
    if flow.size != w * h * 2:
        sys.exit(f"crosscheck-flow: {path}: {flow.size} floats for {w}x{h}")
    return flow.reshape(h, w, 2).astype(np.float32)

def describe(d):
    return (f"finest scale {d.getFinestScale()}, patch {d.getPatchSize()}, stride {d.getPatchStride()}, "
            f"{d.getGradientDescentIterations()} iterations, {d.getVariationalRefinementIterations()} refinement iterations")

def epe(a, b):
    return np.hypot(a[..., 0] - b[..., 0], a[..., 1] - b[..., 1])

def mag(a):
    return np.hypot(a[..., 0], a[..., 1])

def residual(f1, f2, flow):
    """|frame1(x) - frame2(x + flow(x))| per pixel, bilinear, border replicated."""
    h, w = f1.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    warped = cv2.remap(f2.astype(np.float32), gx + flow[..., 0], gy + flow[..., 1],
                       cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.abs(warped - f1.astype(np.float32))

def border_mask(h, w, m=MARGIN):
    mask = np.zeros((h, w), bool)
    mask[:m, :] = mask[-m:, :] = True
    mask[:, :m] = mask[:, -m:] = True
    return mask

print(f"OpenCV {cv2.__version__} (one thread); gallop {run([gallop, '--version']).stdout.strip()}")
print(f"OpenCV DIS medium: {describe(dis('medium'))}")
print(f"OpenCV DIS as Gallop: {describe(dis('gallop'))}")

# ---------------------------------------------------------------------------
# 1. Gallop vs OpenCV on the same frames.
print("\n## 1. Gallop vs OpenCV DIS on the same motion-size frames\n")
rows, notes = [], []
for name, nframes in (("bigbuckbunny.mp4", 40), ("bikes.mp4", 60)):
    out = os.path.join(work, "flow-" + os.path.splitext(name)[0])
    run([gallop, "flow", os.path.join(clips, name), "--out", out, "--max-frames", str(nframes)])
    frames = [read_pgm(p) for p in sorted(glob.glob(os.path.join(out, "frame_*.pgm")))]
    flos = sorted(glob.glob(os.path.join(out, "flow_*.flo")))
    if len(frames) != nframes or len(flos) != nframes - 1:
        sys.exit(f"crosscheck-flow: {name}: {len(frames)} frames, {len(flos)} flows (wanted {nframes}, {nframes - 1})")
    h, w = frames[0].shape
    border = border_mask(h, w)
    med, ref = dis("medium"), dis("gallop")
    per_pair = []   # dicts of per-pair means
    worst = None
    for i, path in enumerate(flos, start=1):
        if os.path.basename(path) != f"flow_{i:05d}.flo":
            sys.exit(f"crosscheck-flow: unexpected {path}")
        g = read_flo(path)
        if g.shape[:2] != (h, w):
            sys.exit(f"crosscheck-flow: {path} is {g.shape[1]}x{g.shape[0]}, frames {w}x{h}")
        if not np.isfinite(g).all():
            notes.append(f"{name} pair {i - 1}->{i}: Gallop flow has {np.count_nonzero(~np.isfinite(g))} non-finite values")
            g = np.nan_to_num(g)
        a, b = frames[i - 1], frames[i]
        o = med.calc(a, b, None)
        r = ref.calc(a, b, None)
        e = epe(g, o)
        rec = dict(epe=e.mean(), epe_border=e[border].mean(), epe_inner=e[~border].mean(),
                   out_g=(e > OUTLIER).mean(), out_r=(epe(r, o) > OUTLIER).mean(),
                   max_g=mag(g).max(), max_o=mag(o).max(), max_r=mag(r).max(),
                   diff=np.abs(a.astype(np.float32) - b.astype(np.float32)).mean(), pair=i,
                   epe_ref=epe(g, r).mean(), epe_med_ref=epe(o, r).mean(),
                   mg=mag(g).mean(), mo=mag(o).mean(), mr=mag(r).mean(),
                   ug=g[..., 0].mean(), vg=g[..., 1].mean(), uo=o[..., 0].mean(), vo=o[..., 1].mean(),
                   res0=residual(a, b, np.zeros_like(g)).mean(), resg=residual(a, b, g).mean(),
                   reso=residual(a, b, o).mean(), resr=residual(a, b, r).mean())
        per_pair.append(rec)
        if worst is None or rec["epe"] > worst[0]:
            # the 32x32 block (aligned) where the two disagree most
            blocks = e[: h // 32 * 32, : w // 32 * 32].reshape(h // 32, 32, w // 32, 32).mean(axis=(1, 3))
            by, bx = np.unravel_index(np.argmax(blocks), blocks.shape)
            sl = (slice(by * 32, by * 32 + 32), slice(bx * 32, bx * 32 + 32))
            rg, ro = residual(a, b, g)[sl].mean(), residual(a, b, o)[sl].mean()
            worst = (rec["epe"], i, bx * 32, by * 32, blocks[by, bx],
                     g[sl].reshape(-1, 2).mean(0), o[sl].reshape(-1, 2).mean(0), rg, ro)
    m = lambda k: float(np.mean([p[k] for p in per_pair]))
    rows.append((name, w, h, len(flos), m("epe"), float(np.median([p["epe"] for p in per_pair])),
                 max(p["epe"] for p in per_pair), m("epe_inner"), m("epe_border"), m("mg"), m("mo"), m("mr"),
                 (m("ug"), m("vg")), (m("uo"), m("vo")), m("epe_ref"), m("epe_med_ref"),
                 m("res0"), m("resg"), m("reso"), m("resr"), worst,
                 m("out_g"), m("out_r"), max(p["max_g"] for p in per_pair), max(p["max_o"] for p in per_pair),
                 max(p["max_r"] for p in per_pair), [p for p in per_pair if p["epe"] > 5]))

print("| clip | size | pairs | EPE Gallop–OpenCV medium: mean | median of pair means | worst pair "
      "| interior (≥16 px) | border band (<16 px) | EPE Gallop–OpenCV as Gallop | EPE medium–as Gallop |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r[0]} | {r[1]}x{r[2]} | {r[3]} | {r[4]:.3f} | {r[5]:.3f} | {r[6]:.3f} | {r[7]:.3f} | {r[8]:.3f} "
          f"| {r[14]:.3f} | {r[15]:.3f} |")
print()
print(f"Gross errors: share of pixels more than {OUTLIER:.0f} px from OpenCV medium's vector, and the largest |f| over all pairs:")
print()
print("| clip | gross, Gallop | gross, OpenCV as Gallop | max |f| Gallop | max |f| OpenCV medium | max |f| OpenCV as Gallop |")
print("|---|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r[0]} | {100 * r[21]:.2f}% | {100 * r[22]:.2f}% | {r[23]:.1f} | {r[24]:.1f} | {r[25]:.1f} |")
print()
print("| clip | mean |f| Gallop (= EPE vs zero) | OpenCV medium | OpenCV as Gallop | ratio Gallop/medium "
      "| mean (u,v) Gallop | mean (u,v) medium |")
print("|---|---:|---:|---:|---:|---|---|")
for r in rows:
    print(f"| {r[0]} | {r[9]:.3f} | {r[10]:.3f} | {r[11]:.3f} | {r[9] / r[10]:.3f} "
          f"| ({r[12][0]:+.3f}, {r[12][1]:+.3f}) | ({r[13][0]:+.3f}, {r[13][1]:+.3f}) |")
print()
print("Photometric residual, mean |frame1(x) − frame2(x + f(x))| in grey levels (lower: the flow explains the motion better):")
print()
print("| clip | zero flow | Gallop | OpenCV medium | OpenCV as Gallop |")
print("|---|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r[0]} | {r[16]:.2f} | {r[17]:.2f} | {r[18]:.2f} | {r[19]:.2f} |")
print()
for r in rows:
    _, pair, x, y, be, gm, om, rg, ro = r[20]
    print(f"- {r[0]}: largest disagreement in pair {pair - 1}->{pair} (EPE {r[20][0]:.3f}); worst 32x32 block at "
          f"x {x}–{x + 31}, y {y}–{y + 31} (of {r[1]}x{r[2]}): EPE {be:.2f}, mean flow Gallop ({gm[0]:+.2f}, {gm[1]:+.2f}), "
          f"OpenCV ({om[0]:+.2f}, {om[1]:+.2f}); residual there Gallop {rg:.2f}, OpenCV {ro:.2f}")
for r in rows:
    for p in r[26]:
        print(f"- {r[0]} pair {p['pair'] - 1}->{p['pair']}: EPE Gallop–OpenCV {p['epe']:.2f} px; mean |f| Gallop {p['mg']:.2f}, "
              f"OpenCV medium {p['mo']:.2f}; mean |frame difference| {p['diff']:.1f} grey levels"
              f"{' (a scene cut: no true flow)' if p['diff'] > 30 else ''}")
for n in notes:
    print(f"- {n}")

# ---------------------------------------------------------------------------
# 2. Known answers on real frames.
print("\n## 2. Known answers: real frames warped by a known motion\n")
dump = os.path.join(work, "bbb-frames")
run([gallop, "flow", os.path.join(clips, "bigbuckbunny.mp4"), "--out", dump, "--frames-only"])
paths = sorted(glob.glob(os.path.join(dump, "frame_*.pgm")))
if len(paths) < 3:
    sys.exit(f"crosscheck-flow: only {len(paths)} frames of bigbuckbunny")
picks = [0, len(paths) // 2, len(paths) - 1]
# Gated: three bigbuckbunny frames. Reported only: bikes frame 1 (from part 1's dump), whose
# large white wall (x ≈ 160–360) is nearly textureless.
sets = [(f"bigbuckbunny frames {', '.join(map(str, picks))}", [read_pgm(paths[k]) for k in picks], True),
        ("bikes frame 1 (low texture; reported, not gated)", [read_pgm(os.path.join(work, "flow-bikes", "frame_00001.pgm"))], False)]

def translation(tx, ty):
    return np.array([[1, 0, tx], [0, 1, ty]], np.float64)

def about_centre(angle, scale, w, h):
    cx, cy = (w - 1) / 2, (h - 1) / 2
    c, s = scale * math.cos(angle), scale * math.sin(angle)
    A = np.array([[c, -s], [s, c]])
    t = np.array([cx, cy]) - A @ np.array([cx, cy])
    return np.hstack([A, t[:, None]])

cases = [("pan (0.5, 0)", lambda w, h: translation(0.5, 0), True),
         ("pan (3.3, −1.7)", lambda w, h: translation(3.3, -1.7), True),
         ("pan (8, 0)", lambda w, h: translation(8, 0), True),
         ("pan (−6, 5.5)", lambda w, h: translation(-6, 5.5), True),
         ("pan (0, −4)", lambda w, h: translation(0, -4), True),
         ("pan (12, 0), beyond the target", lambda w, h: translation(12, 0), True),
         ("zoom 1.03 about the centre", lambda w, h: about_centre(0, 1.03, w, h), False),
         ("rotation 0.02 rad about the centre", lambda w, h: about_centre(0.02, 1.0, w, h), False)]

pixfmts = ["gray", "yuv444p"]
med, ref = dis("medium"), dis("gallop")
failures, tables, npair = [], [], 0
for set_label, bases, gated in sets:
    h, w = bases[0].shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    inner = ~border_mask(h, w)
    table = []
    for label, make, is_pan in cases:
        M = make(w, h)
        truth = np.stack([M[0, 0] * gx + M[0, 1] * gy + M[0, 2] - gx,
                          M[1, 0] * gx + M[1, 1] * gy + M[1, 2] - gy], axis=-1)
        tlen = math.hypot(M[0, 2], M[1, 2]) if is_pan else None
        res = dict(g=[], o=[], r=[], gmag=[], omag=[], gvec=[], p99=[], gmax=[], omax=[])
        for f1 in bases:
            f2 = cv2.warpAffine(f1, M, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
            pair = os.path.join(work, "pairs", str(npair)); npair += 1
            os.makedirs(pair, exist_ok=True)
            cv2.imwrite(os.path.join(pair, "frame_1.pgm"), f1)
            cv2.imwrite(os.path.join(pair, "frame_2.pgm"), f2)
            g = None
            for fmt in pixfmts:   # the first format that round-trips bit-exactly through gallop's reader
                clip, out = os.path.join(pair, f"pair-{fmt}.mkv"), os.path.join(pair, f"out-{fmt}")
                run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-framerate", "25", "-i", os.path.join(pair, "frame_%d.pgm"),
                     "-c:v", "ffv1", "-pix_fmt", fmt, clip])
                run([gallop, "flow", clip, "--out", out])
                d1, d2 = read_pgm(os.path.join(out, "frame_00000.pgm")), read_pgm(os.path.join(out, "frame_00001.pgm"))
                if d1.shape == f1.shape and np.array_equal(d1, f1) and np.array_equal(d2, f2):
                    g = read_flo(os.path.join(out, "flow_00001.flo"))
                    if fmt != pixfmts[0]:
                        print(f"(note: -pix_fmt {pixfmts[0]} did not round-trip; used {fmt})")
                    pixfmts = [fmt]
                    break
            if g is None:
                sys.exit(f"crosscheck-flow: no pixel format round-trips the pair exactly through gallop flow ({pair})")
            o, r = med.calc(f1, f2, None), ref.calc(f1, f2, None)
            eg, eo = epe(g, truth), epe(o, truth)
            res["g"].append(eg[inner].mean())
            res["o"].append(eo[inner].mean())
            res["r"].append(epe(r, truth)[inner].mean())
            res["gmag"].append(mag(g)[inner].mean())
            res["omag"].append(mag(o)[inner].mean())
            res["gvec"].append(g[inner].mean(axis=0))
            res["p99"].append(np.percentile(eg[inner], 99))
            res["gmax"].append(eg.max())
            res["omax"].append(eo.max())
        mean = lambda key: float(np.mean(res[key]))
        line = dict(label=label, g=mean("g"), gworst=max(res["g"]), o=mean("o"), r=mean("r"),
                    truth=float(mag(truth)[inner].mean()), gmag=mean("gmag"), omag=mean("omag"),
                    gvec=np.mean(res["gvec"], axis=0), p99=max(res["p99"]), gmax=max(res["gmax"]), omax=max(res["omax"]))
        table.append(line)
        if gated and is_pan and tlen <= GATE_SHIFT + 1e-9:
            if line["g"] >= GATE_EPE:
                failures.append(f"{label}: Gallop EPE {line['g']:.3f} px ≥ {GATE_EPE} px")
            if abs(line["gmag"] / tlen - 1) > GATE_PAN:
                failures.append(f"{label}: mean magnitude {line['gmag']:.3f} px for a pan of {tlen:.3f} px "
                                f"({100 * (line['gmag'] / tlen - 1):+.1f}%, limit ±{100 * GATE_PAN:.0f}%)")
    tables.append((set_label, w, h, len(bases), table))

print(f"Second frame by cv2.warpAffine (INTER_CUBIC, BORDER_REFLECT); true flow A·x + t − x. Pair clips: FFV1 "
      f"-pix_fmt {pixfmts[0]}, checked bit-exact through gallop flow. EPE over pixels ≥ {MARGIN} px from the border, "
      f"mean over the frames of the set (Gallop's worst frame in brackets); the max columns take every pixel, "
      f"border band included (there the second frame holds reflected content for pans).")
for set_label, w, h, n, table in tables:
    print(f"\n{set_label} ({w}x{h}):\n")
    print("| motion | true mean |f| | EPE Gallop [worst frame] | Gallop 99th pct | EPE OpenCV medium | EPE OpenCV as Gallop "
          "| mean |f| Gallop | vs true | mean |f| OpenCV medium | Gallop mean (u,v) | max error Gallop | max error OpenCV medium |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    for l in table:
        err = 100 * (l["gmag"] / l["truth"] - 1)
        print(f"| {l['label']} | {l['truth']:.3f} | {l['g']:.3f} [{l['gworst']:.3f}] | {l['p99']:.2f} | {l['o']:.3f} "
              f"| {l['r']:.3f} | {l['gmag']:.3f} | {err:+.1f}% | {l['omag']:.3f} "
              f"| ({l['gvec'][0]:+.3f}, {l['gvec'][1]:+.3f}) | {l['gmax']:.1f} | {l['omax']:.1f} |")
print()
# Item 2 of issue 17: accuracy at least DIS medium's, as the mean known-answer EPE over every motion of the gated frames.
for set_label, w, h, n, table in tables[:1]:
    g_mean, o_mean = sum(l["g"] for l in table) / len(table), sum(l["o"] for l in table) / len(table)
    worse = [l["label"] for l in table if l["g"] > l["o"] + 0.002]
    print(f"Mean EPE over the {len(table)} motions of {set_label}: Gallop {g_mean:.4f} px, OpenCV DIS medium {o_mean:.4f} px "
          f"({'at least as accurate' if g_mean <= o_mean else 'LESS accurate'}; motions where Gallop is worse by more "
          f"than 0.002 px: {', '.join(worse) if worse else 'none'}).")
    print()
# ---------------------------------------------------------------------------
# 3. Noise: Gaussian noise added to the clip raises the mean flow no more than it raises DIS medium's.
print("\n## 3. Flow under noise: the same frames with Gaussian noise\n")
NOISE_FRAMES = 60
SIGMAS = (10, 25)
NOISE_SLACK = 0.25   # px/frame at the analysis size: the gate allows Gallop's rise this much above medium's


def probe_size(path):
    out = run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
               "-of", "csv=p=0", path]).stdout
    return tuple(int(x) for x in out.strip().split(",")[:2])


def noisy_clip(src, sigma, dst, w, h, raw):
    """The clip's first frames, Gaussian noise of σ grey levels added to the stored luma (seeded), as lossless FFV1."""
    rng = np.random.default_rng(1000 + sigma)
    out = raw.copy()
    y = out[:, : w * h].astype(np.float64) + rng.normal(0, sigma, (out.shape[0], w * h))
    out[:, : w * h] = np.clip(np.rint(y), 0, 255).astype(np.uint8)
    p = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{w}x{h}",
                        "-r", "25", "-i", "-", "-c:v", "ffv1", dst], input=out.tobytes(), stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit(f"crosscheck-flow: ffmpeg could not write {dst}: {p.stderr.decode(errors='replace')}")


print(f"Each clip's first {NOISE_FRAMES} frames with Gaussian noise of σ grey levels added to the stored luma (seeded), "
      f"encoded losslessly; `gallop flow` reads each version at its analysis size, and OpenCV's DIS medium runs on the "
      f"same analysis-size frames it writes. Mean |f| in px/frame at the analysis size over the pairs that are not scene "
      f"cuts (mean |frame difference| of the clean frames ≤ 30); the rise is each σ's mean less the clean clip's, and "
      f"Gallop − medium is the mean over pairs of the difference of the two rises, with its 95% interval (paired, "
      f"normal approximation, the pairs taken as independent: consecutive pairs share their content, so the interval "
      f"is too narrow). Gate: Gallop's rise ≤ medium's + {NOISE_SLACK} px/frame; a rise below medium's by more than "
      f"that (noise hiding motion) is noted, not gated.\n")
print("| clip | analysis size | pairs | σ | mean |f| Gallop | DIS medium | rise Gallop | rise medium | Gallop − medium [95%] |")
print("|---|---|---:|---:|---:|---:|---:|---:|---|")
medium = dis("medium")
noise_rows, noise_notes = [], []
for name in ("bigbuckbunny.mp4", "bikes.mp4", "carphone_pristine.mp4", "carphone_distorted.mp4"):
    src = os.path.join(clips, name)
    w, h = probe_size(src)
    decoded = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", src, "-frames:v", str(NOISE_FRAMES), "-f", "rawvideo",
                              "-pix_fmt", "yuv420p", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if decoded.returncode != 0:
        sys.exit(f"crosscheck-flow: ffmpeg could not decode {src}: {decoded.stderr.decode(errors='replace')}")
    raw = np.frombuffer(decoded.stdout, np.uint8).reshape(NOISE_FRAMES, -1)
    per_sigma = {}
    for sigma in (0,) + SIGMAS:
        base = os.path.join(work, f"noise-{os.path.splitext(name)[0]}-{sigma}")
        noisy_clip(src, sigma, base + ".mkv", w, h, raw)
        run([gallop, "flow", base + ".mkv", "--out", base])
        frames = [read_pgm(p) for p in sorted(glob.glob(os.path.join(base, "frame_*.pgm")))]
        flos = [read_flo(p) for p in sorted(glob.glob(os.path.join(base, "flow_*.flo")))]
        if sigma == 0:
            keep = [i for i in range(len(flos)) if np.abs(frames[i + 1].astype(np.float32) - frames[i]).mean() <= 30]
            size = f"{frames[0].shape[1]}x{frames[0].shape[0]}"
        g = np.array([mag(flos[i]).mean() for i in keep])
        o = np.array([mag(medium.calc(frames[i], frames[i + 1], None)).mean() for i in keep])
        per_sigma[sigma] = (g, o)
    g0, o0 = per_sigma[0]
    for sigma in SIGMAS:
        g, o = per_sigma[sigma]
        rg, ro = g.mean() - g0.mean(), o.mean() - o0.mean()
        d = (g - g0) - (o - o0)
        half = 1.96 * d.std(ddof=1) / math.sqrt(len(d))
        noise_rows.append((name, sigma, rg, ro))
        print(f"| {name} | {size} | {len(keep)} | {sigma} | {g.mean():.3f} (clean {g0.mean():.3f}) | {o.mean():.3f} "
              f"(clean {o0.mean():.3f}) | {rg:+.3f} | {ro:+.3f} | {d.mean():+.3f} [{d.mean() - half:+.3f}, {d.mean() + half:+.3f}] |")
        if rg > ro + NOISE_SLACK:
            failures.append(f"{name}, σ {sigma}: noise raises Gallop's mean flow by {rg:.3f} px/frame, DIS medium's by {ro:.3f}")
        elif rg < ro - NOISE_SLACK:
            noise_notes.append(f"{name}, σ {sigma}: noise changes Gallop's mean flow by {rg:+.3f} px/frame, DIS medium's by "
                               f"{ro:+.3f} (clean: Gallop {g0.mean():.3f}, medium {o0.mean():.3f})")
print()
for n in noise_notes:
    print(f"- note: {n}")
if noise_notes:
    print()

verify_key(f"{len(failures)} gated failures (known-answer EPE, pan lengths, noise)")
if failures:
    print(f"FAIL (Gallop's targets: on the gated frames EPE < 0.5 px for pans up to 8 px and a pan of d px reads d ± 5%; "
          f"noise raises the mean flow no more than DIS medium's + {NOISE_SLACK} px/frame):")
    for f in failures:
        print(f"- {f}")
    sys.exit(1)
print("PASS: on the gated frames Gallop's EPE < 0.5 px for every pan up to 8 px, and every such pan reads its length ± 5%; "
      f"noise raises Gallop's mean flow no more than DIS medium's + {NOISE_SLACK} px/frame on every clip.")
