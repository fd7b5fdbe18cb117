# Extracts CLIP's BPE merges (open_clip's bpe_simple_vocab_16e6.txt.gz, uncompressed) from the open_clip_torch
# wheel into a folder (system python3, no venv): see scripts/lib/fetch-clip-vocab.
import gzip, os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
target = os.path.join(dest, "bpe_simple_vocab_16e6.txt")
if not (os.path.exists(target) and os.path.getsize(target) > 0):
    with zipfile.ZipFile(wheel) as z, z.open("open_clip/bpe_simple_vocab_16e6.txt.gz") as src:
        data = gzip.decompress(src.read())
    with open(target + ".part", "wb") as out:
        out.write(data)
    os.replace(target + ".part", target)
