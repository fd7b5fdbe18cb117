"""Replaces each README table between `<!-- gallop metrics --markdown: NAME -->`
and `<!-- end -->` with `gallop metrics --markdown`'s block of that name
(scripts/lib/verify/docs runs this: scripts/setup --docs). With --check it
changes nothing and exits 1 when a table differs. A block the README lacks, or one it
holds that gallop no longer prints, is an error naming it. Standard library only.
"""
import re
import subprocess
import sys

BLOCK = re.compile(r"<!-- gallop metrics --markdown: (\w+) -->\n.*?<!-- end -->\n", re.S)


def main():
    args = sys.argv[1:]
    check = args[:1] == ["--check"]
    gallop, readme = args[1:3] if check else args[0:2]
    printed = subprocess.run([gallop, "metrics", "--markdown"], check=True, capture_output=True, text=True).stdout
    blocks = {m.group(1): m.group(0) for m in BLOCK.finditer(printed)}
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    held = [m.group(1) for m in BLOCK.finditer(text)]
    missing = sorted(set(blocks) - set(held))
    stale = sorted(set(held) - set(blocks))
    if missing or stale:
        sys.exit(f"docs: {readme}: " + "; ".join(
            ([f"no marker for the table(s) {', '.join(missing)}: add '<!-- gallop metrics --markdown: NAME -->' and '<!-- end -->' where each goes"] if missing else [])
            + ([f"table(s) {', '.join(stale)} are no longer printed by gallop metrics --markdown: remove their blocks"] if stale else [])))
    new = BLOCK.sub(lambda m: blocks[m.group(1)], text)
    if check:
        differ = [m.group(1) for m in BLOCK.finditer(text) if m.group(0) != blocks[m.group(1)]]
        if differ:
            sys.exit(f"docs: {readme}: the table(s) {', '.join(differ)} differ from gallop metrics --markdown")
        print(f"docs: {readme}: {len(held)} tables current")
        return
    if new != text:
        with open(readme, "w", encoding="utf-8") as f:
            f.write(new)
    print(f"docs: {readme}: {len(held)} tables {'rewritten' if new != text else 'already current'}")


if __name__ == "__main__":
    main()
