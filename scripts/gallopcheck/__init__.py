"""The Python behind scripts/: the benchmark's peers and tables, the cross-checks and the gated checks.

Run as `python -m gallopcheck.MODULE` with scripts/ on PYTHONPATH (scripts/lib/common.sh sets it). Modules that
import a peer (numpy, OpenCV, PyAV, scikit-image, arena-rank, ...) run in the one venv, .cache/venv, pinned by
requirements.txt; the rest need only the standard library and run under the system's python3. Shared helpers
(running and timing gallop, the registry's metric lists, frame counts, table cells) are in gallopcheck.common.
Gallop itself never uses Python.
"""
