# Gallop's native VMAF against libvmaf: the model resource converter (and, later, the cross-check).
#
#   python3 scripts/gallopcheck/vmaf_crosscheck.py model [--source PATH] [--out PATH]
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
# Standard library only.
import argparse, hashlib, json, os, sys, urllib.request

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
    sys.exit(f"vmaf_crosscheck: {msg}")


def source_bytes(path):
    if path is None:
        cache = os.path.join(ROOT, ".cache", "vmaf")
        path = os.path.join(cache, f"vmaf_v0.6.1-{TAG}.json")
        if not os.path.exists(path):
            os.makedirs(cache, exist_ok=True)
            print(f"vmaf_crosscheck: downloading {URL}", file=sys.stderr)
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
        "converter": "scripts/gallopcheck/vmaf_crosscheck.py model",
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
    print(f"vmaf_crosscheck: wrote {args.out} ({len(model['vectors'])} support vectors)", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description="Gallop's native VMAF against libvmaf 2.3.0.")
    sub = ap.add_subparsers(dest="command", required=True)
    mp = sub.add_parser("model", help="convert libvmaf's vmaf_v0.6.1.json into GallopMetrics' resource")
    mp.add_argument("--source", help="a local copy of libvmaf v2.3.0's model/vmaf_v0.6.1.json (else downloaded into .cache/vmaf)")
    mp.add_argument("--out", default=OUT, help=f"the resource to write (default {os.path.relpath(OUT, ROOT)})")
    args = ap.parse_args()
    if args.command == "model":
        write_model(args)


if __name__ == "__main__":
    main()
