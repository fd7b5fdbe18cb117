"""Prints XCTest's last summary in a log ("Executed N tests, with [S tests skipped and] F failures") as one plain
line, "P passed, F failed, S skipped" (scripts/test and the verify parts sanitize-address and sanitize-thread end
with it). Prints nothing when the log holds no summary (the build or the run stopped first). Standard library only."""
import re
import sys

SUMMARY = re.compile(r"^\s*Executed (\d+) tests?, with (?:(\d+) tests? skipped and )?(\d+) failures?", re.M)


def main():
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        found = SUMMARY.findall(f.read())
    if found:
        total, skipped, failed = (int(x or 0) for x in found[-1])
        print(f"{total - failed - skipped} passed, {failed} failed, {skipped} skipped")


if __name__ == "__main__":
    main()
