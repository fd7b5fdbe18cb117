"""Simulated CI checks for `gallop check` (scripts/check-sim runs this).

Pools: clips of one synthetic model scored once (STEADY), and of the same
scenes with a small injected regression (REGRESSED). Each simulated check
draws disjoint seed sets for the baseline and the candidate (prompts are the
same: a checkpoint is scored on the suite's prompts), renames the candidate's
seeds to the baseline's so clips pair, and runs `gallop check`. Equal-model
pairs measure the false-alarm rate; REGRESSED candidates the detection rate.
Standard library only.
"""
import json
import math
import os
import random
import subprocess
import sys
import tempfile
from collections import Counter


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def by_seed(rows):
    out = {}
    for r in rows:
        out.setdefault(r["seed"], []).append(r)
    return out


def relabel(rows, model, seed):
    out = []
    for r in rows:
        r = dict(r)
        r["model"] = model
        r["seed"] = seed
        r["path"] = f"{model}/{r['prompt']}-{seed}.mp4"
        out.append(r)
    return out


def write(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def wilson(k, n, z=1.96):
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def run_checks(gallop, steady, candidate_pool, trials, seeds_per_side, rng, tmp, config=None):
    a, b = by_seed(steady), by_seed(candidate_pool)
    seeds = sorted(set(a) & set(b))
    failures, metrics = 0, Counter()
    for t in range(trials):
        picked = rng.sample(seeds, 2 * seeds_per_side)
        base_seeds, cand_seeds = picked[:seeds_per_side], picked[seeds_per_side:]
        base, cand = [], []
        for i, (s, c) in enumerate(zip(base_seeds, cand_seeds)):
            base += relabel(a[s], "m", i + 1)
            cand += relabel(b[c], "m", i + 1)
        bp, cp, jp = (os.path.join(tmp, n) for n in ("base.jsonl", "cand.jsonl", "verdict.json"))
        write(bp, base)
        write(cp, cand)
        args = [gallop, "check", cp, "--baseline", bp, "--quiet", "--json", jp] + (["--config", config] if config else [])
        r = subprocess.run(args, capture_output=True, text=True)
        if r.returncode not in (0, 1):
            sys.exit(f"check-sim: gallop check exited {r.returncode}: {r.stderr}")
        if r.returncode == 1:
            failures += 1
            verdict = json.load(open(jp))
            for m in verdict["models"]:
                for name, x in m["metrics"].items():
                    if x["verdict"] == "regression":
                        metrics[name] += 1
    return failures, metrics


def main():
    gallop, steady_path, regressed_path, label = sys.argv[1:5]
    trials = int(os.environ.get("TRIALS", "200"))
    seeds_per_side = int(os.environ.get("SEEDS_PER_SIDE", "2"))
    rng = random.Random(20261128)
    steady, regressed = load(steady_path), load(regressed_path)
    prompts = len({r["prompt"] for r in steady})
    gated = ["temporal_flickering", "flicker_index", "freeze_ratio", "scene_cuts", "warping_error", "motion_smoothness",
             "sharpness", "noise_sigma"]
    with tempfile.TemporaryDirectory() as tmp:
        fa, fa_metrics = run_checks(gallop, steady, steady, trials, seeds_per_side, rng, tmp)
        det, det_metrics = run_checks(gallop, steady, regressed, trials, seeds_per_side, rng, tmp)
        # Calibration: every tolerance 0, so a metric fails whenever its interval excludes no change.
        zero = os.path.join(tmp, "zero.yaml")
        with open(zero, "w") as f:
            f.write("gate:\n  default: {absolute: 0}\n  tolerances:\n" + "".join(f"    {m}: {{absolute: 0}}\n" for m in gated))
        cal, cal_metrics = run_checks(gallop, steady, steady, trials, seeds_per_side, rng, tmp, config=zero)
    print(f"{trials} simulated checks each; {prompts} prompts x {seeds_per_side} seeds a side; default tolerances\n")
    print("| candidate | checks failed | rate | 95% interval (Wilson) | metrics that regressed |")
    print("|---|---:|---:|---|---|")
    for name, k, ms in (("equal model (other seeds)", fa, fa_metrics), (label, det, det_metrics)):
        lo, hi = wilson(k, trials)
        shown = ", ".join(f"{m} {n}" for m, n in ms.most_common()) or "none"
        print(f"| {name} | {k} of {trials} | {100 * k / trials:.1f}% | {100 * lo:.1f}–{100 * hi:.1f}% | {shown} |")
    print(f"\nCalibration, equal models with every tolerance 0 (a metric fails when its 95% interval excludes no change,")
    print(f"one-sided: 2.5% expected of a calibrated interval): {cal} of {trials} checks failed; per metric:")
    print("| metric | checks it failed | rate |\n|---|---:|---:|")
    for m in gated:
        print(f"| {m} | {cal_metrics[m]} | {100 * cal_metrics[m] / trials:.1f}% |")
    print(f"\nThe {trials} checks draw from one pool of 20 seeds a prompt, so they are not independent; "
          "the intervals above treat them as if they were.")


if __name__ == "__main__":
    main()
