# The learned metrics' rows of scripts/bench (issue 25, point 4), by the rules of
# shared/reference/benchmarks.md: CPU time (user + sys), one thread a side, decoding included on both sides, the
# two sides run alternately, medians with the spread (min–max). Speed is reported, never asserted; each row says
# whether its target (≤ 1.0×) is met.
#
# Weights: the full-size random-weight models of gallopcheck.learned (.cache/learned/<key>-<layout>), arranged as
# `--weights DIR` wants (DIR/dino_vitb16 → timm layout, DIR/clip_vitb32 and DIR/clip_vitl14 → OpenAI/open_clip
# layout with open_clip's BPE vocabulary beside, DIR/laion_aesthetic). Speed does not depend on the weights' values.
# Clip: the first F frames of bigbuckbunny (1280x720), the same frames on both sides.
# Gallop:  gallop score CLIPS --weights DIR --metrics M --max-frames F --jobs 1 --threads 1 --quiet --out TMP
#          [--prompts P for clip_score]; the whole process (start, weight mapping, decode, preprocessing, encoders).
# PyTorch: a process of this module (`--peer M`) running VBench 0.1.5's code path with torch.set_num_threads(1):
#          PyAV rgb24 decode of the same F frames (codec thread_count 1), VBench's transforms (torchvision), the
#          reference models of gallopcheck.learned loaded from the same safetensors, VBench's batches (DINO one
#          frame at a time, B/32 all frames in one batch, L/14 batches of 32) and formulas. Its figure is the
#          process's CPU time from after the imports to the score: weight loading
#          and decode inside, interpreter and library import (python, torch, torchvision, av, open_clip) outside (about 1-2 s that a Python user also pays;
#          leaving it out favours the peer).
# Before timing, both sides' clip scores are printed and must agree within 1e-4 (the cross-check's tolerance).
# Then frames a second of each encoder in gallop-embed at --threads 1 and 2 on random inputs of the metric's size:
# wall time of N2 frames minus N1 frames (weight loading and process start cancel), per the machine's load.
#
# Usage: python -m gallopcheck.bench_learned --gallop BIN --gallop-embed BIN --models DIR --clip MP4
#        --frames F --rounds N --work DIR [--metrics M[,M...]]  (a subset of the four, in this module's order;
#        only their models are linked and only their encoders' gallop-embed rows run)
import argparse
import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

from gallopcheck.common import cpu_seconds, spread

PROMPT = "a cartoon rabbit in a sunny meadow"
METRICS = ("subject_consistency", "background_consistency", "aesthetic_quality", "clip_score")
ENCODER = {"subject_consistency": "DINO ViT-B/16", "background_consistency": "CLIP ViT-B/32",
           "aesthetic_quality": "CLIP ViT-L/14 + LAION head", "clip_score": "CLIP ViT-B/32 image + text"}
TOLERANCE = 1e-4
# The models (.cache/learned/<key>-<layout>) each metric's rows need: --metrics runs a subset with only those present.
NEEDS = {"subject_consistency": ("dino_vitb16",), "background_consistency": ("clip_vitb32",),
         "aesthetic_quality": ("clip_vitl14", "laion_aesthetic"), "clip_score": ("clip_vitb32",)}


def peer(metric, models, clip, frames):
    """VBench 0.1.5's code path for one metric on the first `frames` frames; prints {"cpu", "score"} as JSON."""
    from gallopcheck import learned  # imports torch, torchvision (patched as learned.py does), numpy
    import av
    import numpy as np
    import torch
    import torch.nn.functional as F
    import open_clip  # the tokenizer of clip_score, imported outside the timing as the other libraries are
    from safetensors.torch import load_file
    torch.set_num_threads(1)
    start = time.process_time()
    rgb = []
    with av.open(clip) as container:
        stream = container.streams.video[0]
        stream.thread_count = 1
        for frame in container.decode(stream):
            rgb.append(frame.to_ndarray(format="rgb24"))
            if len(rgb) == frames:
                break
    x = torch.from_numpy(np.stack(rgb)).float().permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        if metric == "subject_consistency":
            model = learned.DinoViT(**learned.FULL_DINO).eval()
            model.load_state_dict(load_file(os.path.join(models, "dino_vitb16-timm", "model.safetensors")), strict=True)
            x = learned.dino_transform(224)(x)
            feats = torch.cat([model(x[i:i + 1]) for i in range(len(x))])
            score = learned.consistency(feats)
        elif metric in ("background_consistency", "clip_score"):
            model = learned.openai_clip(**learned.FULL_B32)
            model.load_state_dict(load_file(os.path.join(models, "clip_vitb32-openai", "open_clip_model.safetensors")),
                                  strict=True)
            feats = model.encode_image(learned.clip_transform(224)(x))
            if metric == "background_consistency":
                score = learned.consistency(feats)
            else:
                text = model.encode_text(open_clip.tokenize([PROMPT]))
                score = learned.clip_score(feats, text[0])
        else:
            model = learned.openai_clip(**learned.FULL_L14)
            model.load_state_dict(load_file(os.path.join(models, "clip_vitl14-openai", "open_clip_model.safetensors")),
                                  strict=True)
            head = torch.nn.Linear(768, 1)
            head.load_state_dict(load_file(os.path.join(models, "laion_aesthetic-laion", "model.safetensors")), strict=True)
            x = learned.clip_transform(224)(x)
            feats = torch.cat([model.encode_image(x[i:i + 32]) for i in range(0, len(x), 32)])
            score = learned.aesthetic_score(head(F.normalize(feats, dim=-1)).squeeze(-1))
    print(json.dumps({"cpu": time.process_time() - start, "score": float(score)}))


def weights_dir(models, root, vocab_gz, keys):
    """DIR/<key> for --weights: symlinks to the model files, plus CLIP's uncompressed BPE vocabulary."""
    shutil.rmtree(root, ignore_errors=True)
    for key, layout in (("dino_vitb16", "timm"), ("clip_vitb32", "openai"), ("clip_vitl14", "openai"),
                        ("laion_aesthetic", "laion")):
        if key not in keys:
            continue
        src = os.path.join(models, f"{key}-{layout}")
        dst = os.path.join(root, key)
        os.makedirs(dst)
        for name in os.listdir(src):
            os.symlink(os.path.join(src, name), os.path.join(dst, name))
        if key.startswith("clip_"):
            with gzip.open(vocab_gz, "rb") as f, open(os.path.join(dst, "bpe_simple_vocab_16e6.txt"), "wb") as g:
                g.write(f.read())


def gallop_cmd(a, clips, prompts, metric, out):
    cmd = [a.gallop, "score", clips, "--weights", os.path.join(a.work, "weights"), "--metrics", metric,
           "--max-frames", str(a.frames), "--jobs", "1", "--threads", "1", "--quiet", "--out", out]
    return cmd + (["--prompts", prompts] if metric == "clip_score" else [])


def peer_cmd(a, metric):
    return [sys.executable, "-m", "gallopcheck.bench_learned", "--peer", metric, "--models", a.models,
            "--clip", a.clip, "--frames", str(a.frames)]


def run_peer(a, metric):
    """The peer's result, with "whole": the CPU (user + sys) of the whole process, imports included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    got = subprocess.run(peer_cmd(a, metric), capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if got.returncode != 0:
        sys.exit(f"bench: the PyTorch peer failed on {metric}:\n{got.stderr[-2000:]}")
    res = json.loads(got.stdout.strip().splitlines()[-1])
    res["whole"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return res


def run_gallop(a, clips, prompts, metric, out):
    shutil.rmtree(out, ignore_errors=True)
    got = subprocess.run(gallop_cmd(a, clips, prompts, metric, out), capture_output=True, text=True)
    if got.returncode != 0:
        sys.exit(f"bench: gallop failed on {metric}:\n{got.stderr[-2000:]}")
    with open(os.path.join(out, "clips.jsonl")) as f:
        row = [json.loads(line) for line in f if line.strip()]
    if len(row) != 1 or row[0].get("frames") != a.frames or row[0]["metrics"].get(metric) is None:
        sys.exit(f"bench: gallop did not score {metric} on {a.frames} frames: {row}")
    return row[0]["metrics"][metric]


def embed_fps(a, keys):
    """Frames a second of each encoder in gallop-embed at 1 and 2 threads: N2 − N1 frames over the wall-time
    difference of two runs on random float inputs (process start and weight loading cancel)."""
    import numpy as np
    io = os.path.join(a.work, "embed")
    os.makedirs(io, exist_ok=True)
    rng = np.random.default_rng(25)
    rows = []
    for label, mode, folder, h, w, batch, n1, n2 in (
            ("DINO ViT-B/16", "dino", "dino_vitb16-timm", 224, 398, 1, 1, 5),
            ("CLIP ViT-B/32", "clip-image", "clip_vitb32-openai", 224, 224, 8, 8, 32),
            ("CLIP ViT-L/14", "clip-image", "clip_vitl14-openai", 224, 224, 8, 2, 6)):
        if folder.rsplit("-", 1)[0] not in keys:
            continue
        res = []
        for threads in (1, 2):
            walls = []
            for n in (n1, n2):
                src = os.path.join(io, f"{mode}-{n}.f32")
                rng.standard_normal(n * 3 * h * w, dtype=np.float32).tofile(src)
                cmd = [a.gallop_embed, mode, os.path.join(a.models, folder), src, os.path.join(io, "out.f32"),
                       "--images", str(n), str(h), str(w), "--batch", str(min(batch, n)), "--threads", str(threads)]
                t = time.monotonic()
                got = subprocess.run(cmd, capture_output=True, text=True)
                walls.append(time.monotonic() - t)
                if got.returncode != 0:
                    sys.exit(f"bench: gallop-embed failed: {' '.join(cmd)}\n{got.stderr[-1000:]}")
            res.append((n2 - n1) / (walls[1] - walls[0]))
            print(f"bench: gallop-embed {label} --threads {threads}: {res[-1]:.2f} frames/s", file=sys.stderr)
        rows.append((label, f"{h}x{w}", batch, n1, n2, res[0], res[1]))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", choices=METRICS)
    ap.add_argument("--gallop")
    ap.add_argument("--gallop-embed")
    ap.add_argument("--models", required=True)
    ap.add_argument("--clip", required=True)
    ap.add_argument("--frames", type=int, required=True)
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--work")
    ap.add_argument("--metrics", help="comma-separated subset of " + ", ".join(METRICS) + " (default: all four)")
    a = ap.parse_args()
    metrics = METRICS
    if a.metrics:
        named = a.metrics.split(",")
        unknown = [m for m in named if m not in METRICS]
        if unknown or not named:
            ap.error(f"--metrics: unknown metric {', '.join(unknown)}; the learned rows are {', '.join(METRICS)}")
        metrics = tuple(m for m in METRICS if m in named)
    keys = {k for m in metrics for k in NEEDS[m]}
    if a.peer:
        return peer(a.peer, a.models, a.clip, a.frames)
    import importlib.util  # found, not imported: open_clip imports torchvision, which needs learned.py's patch
    weights_dir(a.models, os.path.join(a.work, "weights"),
                os.path.join(importlib.util.find_spec("open_clip").submodule_search_locations[0],
                             "bpe_simple_vocab_16e6.txt.gz"), keys)
    clips = os.path.join(a.work, "learned-clips")
    shutil.rmtree(clips, ignore_errors=True)
    os.makedirs(os.path.join(clips, "bench"))
    os.symlink(os.path.abspath(a.clip), os.path.join(clips, "bench", "bbb.mp4"))
    prompts = os.path.join(a.work, "learned-prompts.yaml")
    with open(prompts, "w") as f:
        f.write(f'suite: bench\nversion: 1\nprompts:\n  - id: bbb\n    text: "{PROMPT}"\n    tags: [animals]\n')
    out = os.path.join(a.work, "learned-out")
    rows = []
    for metric in metrics:
        p, g = run_peer(a, metric)["score"], run_gallop(a, clips, prompts, metric, out)
        print(f"bench: {metric}: PyTorch {p:.6f}, Gallop {g:.6f}", file=sys.stderr)
        if abs(p - g) > TOLERANCE * max(1.0, abs(p)):
            sys.exit(f"bench: Gallop's {metric} {g:.6f} differs from PyTorch's {p:.6f}")
        pe, whole, ga = [], [], []
        for r in range(a.rounds):  # alternate: PyTorch, Gallop, PyTorch, ...
            res = run_peer(a, metric)
            pe.append(res["cpu"])
            whole.append(res["whole"])
            shutil.rmtree(out, ignore_errors=True)
            ga.append(cpu_seconds(gallop_cmd(a, clips, prompts, metric, out)))
            print(f"bench: {metric} round {r + 1}/{a.rounds}: PyTorch {pe[-1]:.3f} s ({whole[-1]:.3f} s with imports), Gallop {ga[-1]:.3f} s CPU",
                  file=sys.stderr)
        rows.append((metric, pe, whole, ga, g))
    fps = embed_fps(a, keys)
    print()
    print(f"Learned metrics against PyTorch {__import__('torch').__version__} running VBench 0.1.5's code path, one "
          f"thread a side, both sides decoding the first {a.frames} frames of bigbuckbunny 1280x720 "
          "(full-size random weights)")
    print()
    print("| metric (encoder; Gallop's score) | frames | PyTorch (s CPU after imports, median [min–max]) | PyTorch with imports | PyTorch ms/frame | Gallop (s CPU, median "
          "[min–max]) | Gallop ms/frame | ratio Gallop/PyTorch (per-round min–max) | target |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for metric, pe, whole, ga, v in rows:
        ratios = [x / y for y, x in zip(pe, ga)]
        ratio = statistics.median(ga) / statistics.median(pe)
        print(f"| `{metric}` ({ENCODER[metric]}; {v:.4f}) | {a.frames} | {spread(pe)} | {statistics.median(whole):.3f} "
              f"| {1000 * statistics.median(pe) / a.frames:.0f} | {spread(ga)} | {1000 * statistics.median(ga) / a.frames:.0f} "
              f"| {ratio:.2f}× ({min(ratios):.2f}–{max(ratios):.2f}) | ≤ 1.0× {'met' if ratio <= 1.0 else 'not met'} |")
    print()
    print("gallop-embed frames a second (wall time, (N2 − N1) frames over the difference of the two runs: weight "
          "loading and start excluded; random inputs of the metric's size)")
    print()
    print("| encoder | input | batch | N1, N2 | frames/s, --threads 1 | frames/s, --threads 2 | speed-up |")
    print("|---|---|---:|---|---:|---:|---:|")
    for label, size, batch, n1, n2, f1, f2 in fps:
        print(f"| {label} | {size} | {batch} | {n1}, {n2} | {f1:.2f} | {f2:.2f} | {f2 / f1:.2f}× |")


if __name__ == "__main__":
    main()
