"""Simulated CI checks for `gallop check` (the verify part check-sim: scripts/lib/verify/check-sim runs this).

Pools: clips of one synthetic model scored once (STEADY), of the same
scenes with a small injected regression (REGRESSED), and with a gross one
(GROSS). Each simulated check draws disjoint seed sets for the baseline and
the candidate (prompts are the same: a checkpoint is scored on the suite's
prompts), renames the candidate's seeds to the baseline's so clips pair, and
runs `gallop check`. Equal-model pairs measure the false-alarm rate;
REGRESSED and GROSS candidates the detection rate. The small-set table draws
a random subset of 3, 4, 5, 6 or 8 prompts for each check, where sets under 8
prompts are decided by the exact sign-flip test and under 5 can only be
undecided (exit 4). Standard library only.
"""
import json
import math
import os
import random
import subprocess
import sys
import tempfile
from collections import Counter

from gallopcheck.common import verify_key, metric_names


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


def run_checks(gallop, steady, candidate_pool, trials, seeds_per_side, rng, tmp, config=None, prompts=None):
    """Failed checks (exit 1) and the metrics that regressed in them; with `prompts`, each check is on a
    random subset of that many prompts, and undecided checks (exit 4) and their metrics are counted too."""
    a, b = by_seed(steady), by_seed(candidate_pool)
    seeds = sorted(set(a) & set(b))
    ids = sorted({r["prompt"] for r in steady})
    failures, metrics, undecided, undecided_metrics = 0, Counter(), 0, Counter()
    for t in range(trials):
        picked = rng.sample(seeds, 2 * seeds_per_side)
        base_seeds, cand_seeds = picked[:seeds_per_side], picked[seeds_per_side:]
        chosen = set(rng.sample(ids, prompts)) if prompts else set(ids)
        base, cand = [], []
        for i, (s, c) in enumerate(zip(base_seeds, cand_seeds)):
            base += relabel([r for r in a[s] if r["prompt"] in chosen], "m", i + 1)
            cand += relabel([r for r in b[c] if r["prompt"] in chosen], "m", i + 1)
        bp, cp, jp = (os.path.join(tmp, n) for n in ("base.jsonl", "cand.jsonl", "verdict.json"))
        write(bp, base)
        write(cp, cand)
        args = [gallop, "check", cp, "--baseline", bp, "--quiet", "--json", jp] + (["--config", config] if config else [])
        r = subprocess.run(args, capture_output=True, text=True)
        if r.returncode not in (0, 1, 4):
            sys.exit(f"check-sim: gallop check exited {r.returncode}: {r.stderr}")
        if r.returncode in (1, 4):
            verdict = json.load(open(jp))
            if r.returncode == 1:
                failures += 1
            else:
                undecided += 1
            for m in verdict["models"]:
                for name, x in m["metrics"].items():
                    if x["verdict"] == "regression":
                        metrics[name] += 1
                    if x["verdict"] == "undecided":
                        undecided_metrics[name] += 1
    return (failures, metrics, undecided, undecided_metrics) if prompts else (failures, metrics)


def small_sets(gallop, steady, regressed, gross, labels, trials, seeds_per_side, rng, tmp):
    """The small-set table: per set size, equal models, the gross and the small regression."""
    sizes = [int(x) for x in os.environ.get("SIZES", "3,4,5,6,8").split(",")]
    rows = []
    for n in sizes:
        cells = [run_checks(gallop, steady, pool, trials, seeds_per_side, rng, tmp, prompts=n) for pool in (steady, gross, regressed)]
        rows.append((n, cells))
    print(f"\nSmall sets: {trials} simulated checks per cell, each on a random subset of the prompts; {seeds_per_side} seeds a side; "
          "default tolerances. Regression = exit 1, undecided = exit 4 (no regression, some metric past its tolerance "
          "on too few prompts to decide).\n")
    print(f"| prompts | equal models: false alarms | equal: undecided | {labels[0]}: detected | undecided "
          f"| {labels[1]}: detected | undecided |")
    print("|---:|---:|---:|---:|---:|---:|---:|")

    def cell(k):
        lo, hi = wilson(k, trials)
        return f"{k} ({100 * k / trials:.1f}%, {100 * lo:.1f}–{100 * hi:.1f})"

    for n, cells in rows:
        (fa, _, fu, _), (gd, _, gu, _), (sd, _, su, _) = cells
        print(f"| {n} | {cell(fa)} | {cell(fu)} | {cell(gd)} | {cell(gu)} | {cell(sd)} | {cell(su)} |")
    print("\nMetrics behind the verdicts (regressed / undecided, summed over the checks of a cell):\n")
    print("| prompts | candidate | regressed | undecided |\n|---:|---|---|---|")
    for n, cells in rows:
        for name, (_, ms, _, us) in zip(("equal models", labels[0], labels[1]), cells):
            print(f"| {n} | {name} | {', '.join(f'{m} {k}' for m, k in ms.most_common()) or 'none'} "
                  f"| {', '.join(f'{m} {k}' for m, k in us.most_common()) or 'none'} |")


def main():
    gallop, steady_path, regressed_path, label = sys.argv[1:5]
    gross_path, gross_label = (sys.argv[5], sys.argv[6]) if len(sys.argv) > 6 else (None, None)
    trials = int(os.environ.get("TRIALS", "200"))
    seeds_per_side = int(os.environ.get("SEEDS_PER_SIDE", "2"))
    rng = random.Random(20261128)
    steady, regressed = load(steady_path), load(regressed_path)
    gross = load(gross_path) if gross_path else None
    prompts = len({r["prompt"] for r in steady})
    # The metrics with a default tolerance that these reference-free rows carry.
    gated = metric_names(gallop, reference=False, gated=True)
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
    verify_key(f"equal models: {fa} of {trials} checks failed; {label}: {det} of {trials} failed")
    print(f"\nThe {trials} checks draw from one pool of 20 seeds a prompt, so they are not independent; "
          "the intervals above treat them as if they were.")
    if gross is not None:
        with tempfile.TemporaryDirectory() as tmp:
            small_sets(gallop, steady, regressed, gross, (gross_label, label), trials, seeds_per_side, random.Random(20261203), tmp)


if __name__ == "__main__":
    main()
