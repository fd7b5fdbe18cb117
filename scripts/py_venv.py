# Exits 0 when this python has every name==version pin given (scripts/py-venv's pins_ok): see scripts/py-venv.
import sys
from importlib.metadata import version
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    if version(name) != want:
        sys.exit(1)
