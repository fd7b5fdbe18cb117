# `gallop arena` against LMArena's arena-rank and choix on the same votes: see scripts/lib/verify/crosscheck-arena (scripts/verify crosscheck-arena).
import json, math, os, random, subprocess, sys

import choix
import numpy as np
import pandas as pd
from arena_rank.models.bradley_terry import BradleyTerry
from arena_rank.utils.data_utils import PairDataset

from gallopcheck.common import verify_key

gallop, work = sys.argv[1:3]
TRUTH = {"alpha": 1150.0, "bravo": 1080.0, "charlie": 1000.0, "delta": 950.0, "echo": 850.0}
VOTES, TIE_RATE, SEED = 3000, 0.3, 20261203
NEWCOMER = "foxtrot"
MIN_VOTES = 50                       # gallop arena's default --min-votes
TOL_SAME, TOL_LMARENA = 0.05, 0.5    # rating points
PRIOR = "__prior__"                  # the virtual model of Gallop's prior (one tie per model)
SCALE = 400 / math.log(10)
failures = []


def log(msg):
    print(f"crosscheck-arena: {msg}", file=sys.stderr, flush=True)


def make_votes():
    """Seeded votes from known ratings: ties most often between close models, a third written both_bad."""
    g = random.Random(SEED)
    names = sorted(TRUTH)
    rows = []
    for k in range(VOTES):
        a, b = g.sample(names, 2)
        s = 1 / (1 + 10 ** ((TRUTH[b] - TRUTH[a]) / 400))
        q = TIE_RATE * 4 * s * (1 - s)
        u = g.random()
        if u < s - q / 2:
            w = "model_a"
        elif u < s + q / 2:
            w = "tie"
            if g.random() < 1 / 3:
                w = "tie (bothbad)" if k % 10 == 0 else "both_bad"
        else:
            w = "model_b"
        rows.append((a, b, w))
    # The newcomer: a win, a loss, a tie and a both-bad tie (finite without a prior, below the vote minimum).
    rows += [(NEWCOMER, "charlie", "model_a"), ("delta", NEWCOMER, "model_a"), (NEWCOMER, "bravo", "tie"), ("echo", NEWCOMER, "both_bad")]
    return rows


def write_csv(path, rows, categories=None):
    with open(path, "w") as f:
        f.write("model_a,model_b,winner" + (",category" if categories else "") + "\n")
        for k, (a, b, w) in enumerate(rows):
            f.write(f"{a},{b},{w}" + (f",{categories[k]}" if categories else "") + "\n")


def run_gallop(csv, out, category=None):
    """The board of `category` (the first board when None: the only one, or the pooled one)."""
    p = subprocess.run([gallop, "arena", csv, "--out", out, "--quiet", "--bootstrap", "200"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit(f"crosscheck-arena: gallop arena failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
    with open(os.path.join(out, "arena.json")) as f:
        boards = json.load(f)["boards"]
    board = boards[0] if category is None else next(b for b in boards if b["category"] == category)
    return board, {m["model"]: m for m in board["models"]}


def arena_rank(rows, prior):
    """arena-rank's ratings (LMArena's BradleyTerry, default outcome map) and its sandwich intervals."""
    frame = pd.DataFrame(rows, columns=["model_a", "model_b", "winner"])
    if prior:
        models = sorted(set(frame.model_a) | set(frame.model_b))
        frame = pd.concat([frame, pd.DataFrame([(m, PRIOR, "tie") for m in models], columns=frame.columns)], ignore_index=True)
    data = PairDataset.from_pandas(frame)
    # As LMArena runs it: the defaults. For the exact comparison, its L-BFGS run to tighter tolerances
    # (at its default ftol of 1e-9 on the loss per vote, a 4-vote model stops ~0.04 points short).
    tight = {"ftol": 1e-14, "gtol": 1e-12, "max_iter": 10000} if prior else {}
    result = BradleyTerry(n_competitors=len(data.competitors), **tight).compute_ratings_and_cis(data, significance_level=0.05)
    ratings = dict(zip(result["competitors"], np.asarray(result["ratings"], dtype=float)))
    low = dict(zip(result["competitors"], np.asarray(result["rating_lower"], dtype=float)))
    high = dict(zip(result["competitors"], np.asarray(result["rating_upper"], dtype=float)))
    if prior:
        # The fit fixes differences only: centre the real models on 1000, as Gallop does.
        real = [m for m in ratings if m != PRIOR]
        shift = 1000 - np.mean([ratings[m] for m in real])
        return {m: ratings[m] + shift for m in real}, None
    return ratings, {m: (low[m], high[m]) for m in ratings}


def choix_ratings(rows):
    """choix's opt_pairwise on the same penalised likelihood: a win as two comparisons, a tie one each way."""
    models = sorted({m for a, b, _ in rows for m in (a, b)})
    index = {m: i for i, m in enumerate(models + [PRIOR])}
    data = []
    for a, b, w in rows:
        i, j = index[a], index[b]
        if w == "model_a":
            data += [(i, j), (i, j)]
        elif w == "model_b":
            data += [(j, i), (j, i)]
        else:
            data += [(i, j), (j, i)]
    c = index[PRIOR]
    for m in models:
        data += [(index[m], c), (c, index[m])]
    theta = choix.opt_pairwise(len(index), data, alpha=1e-12, method="Newton-CG", tol=1e-12)
    mean = np.mean([theta[index[m]] for m in models])
    return {m: 1000 + SCALE * (theta[index[m]] - mean) for m in models}


rows = make_votes()
csv = os.path.join(work, "votes.csv")
write_csv(csv, rows)
both_bad = sum(1 for _, _, w in rows if w in ("both_bad", "tie (bothbad)"))
ties = sum(1 for _, _, w in rows if w == "tie")
log(f"{len(rows)} votes ({ties} ties, {both_bad} both bad) on {len(TRUTH) + 1} models; gallop arena")
board, g = run_gallop(csv, os.path.join(work, "arena"))
plain_csv = os.path.join(work, "votes-plain-ties.csv")
write_csv(plain_csv, [(a, b, "tie" if w in ("both_bad", "tie (bothbad)") else w) for a, b, w in rows])
_, g_plain = run_gallop(plain_csv, os.path.join(work, "arena-plain"))
log("arena-rank (with Gallop's prior as votes, and as LMArena runs it), choix")
ar_prior, _ = arena_rank(rows, prior=True)
ar_plain, ar_ci = arena_rank(rows, prior=False)
ch = choix_ratings(rows)

print("### gallop arena against arena-rank and choix (rating points)")
print()
print(f"Votes: {len(rows)} ({ties} ties, {both_bad} both bad; seed {SEED}). Gallop's JSON gives ratings to 0.01.")
print()
print("| model | votes | ranked | Gallop | Gallop 95% interval | arena-rank + prior | \\|Δ\\| | choix + prior | \\|Δ\\| "
      "| arena-rank (LMArena, no prior) | \\|Δ\\| | \\|Δ\\| both centred on the ranked models | its sandwich 95% interval |")
print("|---|---:|:-:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
# Without the prior the newcomer's rating moves (the prior decides it), and with it the board mean that both
# centre on: every rating shifts by its pull / the number of models. So the gated comparison is of the
# ranked models' ratings each centred on the ranked models' mean (differences between them, which is
# what a rank reads).
ranked = [m for m in g if g[m]["votes"] >= MIN_VOTES]
g_mean, ar_mean = np.mean([g[m]["rating"] for m in ranked]), np.mean([ar_plain[m] for m in ranked])
worst = {"arena-rank + prior": 0.0, "choix + prior": 0.0, "arena-rank, ranked models (centred on them)": 0.0}
for m in sorted(g, key=lambda m: -g[m]["rating"]):
    r = g[m]["rating"]
    d_prior, d_choix, d_raw = abs(r - ar_prior[m]), abs(r - ch[m]), abs(r - ar_plain[m])
    d_plain = abs((r - g_mean) - (ar_plain[m] - ar_mean))
    worst["arena-rank + prior"] = max(worst["arena-rank + prior"], d_prior)
    worst["choix + prior"] = max(worst["choix + prior"], d_choix)
    gated = g[m]["votes"] >= MIN_VOTES
    if gated:
        worst["arena-rank, ranked models (centred on them)"] = max(worst["arena-rank, ranked models (centred on them)"], d_plain)
    for name, d, tol, gate in [("arena-rank + prior", d_prior, TOL_SAME, True), ("choix + prior", d_choix, TOL_SAME, True),
                               ("arena-rank", d_plain, TOL_LMARENA, gated)]:
        if gate and d > tol:
            failures.append(f"{m}: Gallop {r:.2f} vs {name} differ by {d:.3f} > {tol}")
    lo, hi = ar_ci[m]
    print(f"| {m} | {g[m]['votes']} | {'yes' if g[m]['ranked'] else 'no'} | {r:.2f} | {g[m]['low']:.0f}–{g[m]['high']:.0f} "
          f"| {ar_prior[m]:.2f} | {d_prior:.3f} | {ch[m]:.2f} | {d_choix:.3f} | {ar_plain[m]:.2f} | {d_raw:.3f} | {d_plain:.3f}{'' if gated else ' (not gated)'} "
          f"| {lo:.0f}–{hi:.0f} |")
print()
for name, d in worst.items():
    tol = TOL_LMARENA if name.startswith("arena-rank, ranked") else TOL_SAME
    print(f"- max |Δ| {name}: {d:.3f} points (tolerance {tol})")

# both_bad: counted apart, scored as a tie.
counted = sum(m["both_bad"] for m in board["models"]) // 2
print(f"- both-bad ties: file {both_bad}, Gallop's board {board['both_bad']} (per-model sum / 2: {counted}); plain ties: file {ties}, board {board['ties']}")
if board["both_bad"] != both_bad or counted != both_bad or board["ties"] != ties:
    failures.append(f"both_bad counted {board['both_bad']} (file {both_bad}), ties {board['ties']} (file {ties})")
same = max(abs(g[m]["rating"] - g_plain[m]["rating"]) for m in g)
print(f"- ratings with both_bad written as tie: max |Δ| {same:.3f} (must be 0)")
if same != 0:
    failures.append(f"both_bad is not scored as a tie: ratings move by {same}")
print(f"- {NEWCOMER} ({g[NEWCOMER]['votes']} votes): listed apart: {not g[NEWCOMER]['ranked']}; Gallop's interval {g[NEWCOMER]['low']:.0f}–{g[NEWCOMER]['high']:.0f}, "
      f"arena-rank's sandwich {ar_ci[NEWCOMER][0]:.0f}–{ar_ci[NEWCOMER][1]:.0f}")
if g[NEWCOMER]["ranked"]:
    failures.append(f"{NEWCOMER} has {g[NEWCOMER]['votes']} votes and is ranked")

# Categories: every third vote `with-audio`, the rest `text-to-video`. The with-audio board against arena-rank on
# those votes alone, with the prior; the pooled (first) board against the board of the same votes without the
# column (identical, intervals too).
CATEGORY = "with-audio"
categories = [CATEGORY if k % 3 == 0 else "text-to-video" for k in range(len(rows))]
cat_csv = os.path.join(work, "votes-categories.csv")
write_csv(cat_csv, rows, categories)
cat_board, g_cat = run_gallop(cat_csv, os.path.join(work, "arena-categories"), category=CATEGORY)
with open(os.path.join(work, "arena-categories", "arena.json")) as f:
    pooled = json.load(f)["boards"][0]
g_pooled = {m["model"]: m for m in pooled["models"]}
cat_rows = [r for r, c in zip(rows, categories) if c == CATEGORY]
if cat_board["category"] != CATEGORY or len(cat_rows) != cat_board["votes"] or not pooled["pooled"]:
    failures.append(f"the {CATEGORY} board has {cat_board['votes']} votes (the file {len(cat_rows)}); the first board pooled: {pooled.get('pooled')}")
log(f"arena-rank on the {len(cat_rows)} {CATEGORY} votes")
ar_cat, _ = arena_rank(cat_rows, prior=True)
d_cat = max(abs(g_cat[m]["rating"] - ar_cat[m]) for m in g_cat)
print(f"- category `{CATEGORY}` ({len(cat_rows)} votes, {len(g_cat)} models): max |Δ| against arena-rank + prior on its votes alone: {d_cat:.3f} points (tolerance {TOL_SAME})")
if set(g_cat) != set(ar_cat) or d_cat > TOL_SAME:
    failures.append(f"category {CATEGORY}: Gallop vs arena-rank + prior differ by {d_cat:.3f} > {TOL_SAME}")
keys = ("rating", "low", "high", "votes")
d_pooled = [m for m in g if any(g[m][k] != g_pooled[m][k] for k in keys)]
print(f"- pooled board of the categorised file against the board without the column: {len(g) - len(d_pooled)} of {len(g)} models identical (rating, interval, votes)")
if d_pooled or set(g) != set(g_pooled):
    failures.append(f"the pooled board differs from the board without categories for {d_pooled or sorted(set(g) ^ set(g_pooled))}")

print()
verify_key("max |Δ| vs arena-rank, choix, arena-rank without prior: " + " / ".join(f"{d:.3f}" for d in worst.values())
    + f" points (tolerances {TOL_SAME} / {TOL_SAME} / {TOL_LMARENA}); category {CATEGORY} vs arena-rank {d_cat:.3f}; {len(failures)} failures")
if failures:
    print("FAIL:\n" + "\n".join(f"- {f}" for f in failures))
    sys.exit(1)
print("PASS")
