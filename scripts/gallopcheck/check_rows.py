"""Rows for scripts/lib/check-bench (run by scripts/bench): N paired clips of a baseline and a candidate.

Each row is a real `gallop score` row (its metrics, extras with per-frame
series, frame times and config) with its model, prompt, seed and path
renamed and its numbers jittered, so the files are the size real results of
that many clips are. Standard library only.
Usage: python3 -m gallopcheck.check_rows TEMPLATE_JSONL N OUT_DIR
"""
import json
import os
import random
import sys


def main():
    template_path, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    templates = [json.loads(l) for l in open(template_path) if l.strip()]
    rng = random.Random(7)
    os.makedirs(out, exist_ok=True)
    for side, scale in (("baseline", 0.0), ("candidate", 0.01)):
        with open(os.path.join(out, side + ".jsonl"), "w") as f:
            for i in range(n):
                r = dict(templates[i % len(templates)])
                prompt, seed = f"p{i // 5}", i % 5 + 1
                r.update(model="m", prompt=prompt, seed=seed, path=f"m/{prompt}-{seed}.mp4")
                r["metrics"] = {k: (v * (1 + scale + rng.gauss(0, 0.02)) if v is not None else None) for k, v in r["metrics"].items()}
                f.write(json.dumps(r, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
