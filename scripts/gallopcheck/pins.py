"""Exits 0 when this python has every name==version pin given, 1 naming the first that differs (scripts/lib/common.sh's
venv_python runs it before using the venv). Standard library only."""
import sys
from importlib.metadata import PackageNotFoundError, version


def main():
    for pin in sys.argv[1:]:
        name, want = pin.split("==")
        try:
            got = version(name)
        except PackageNotFoundError:
            got = None
        if got != want:
            sys.exit(f"pins: {name} is {got or 'not installed'}, want {want}")


if __name__ == "__main__":
    main()
