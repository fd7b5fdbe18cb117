# Prints a clips.jsonl's rows without their timing, one sorted JSON line each (to compare runs): see scripts/lib/verify/slurm (scripts/verify slurm).
import json,sys
rows=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for r in rows: r.pop("timing", None)
print("\n".join(sorted(json.dumps(r, sort_keys=True) for r in rows)))
