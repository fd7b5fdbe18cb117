# Sourced by the scripts: repository root, Swift on PATH, a cache folder.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH=/opt/swift/usr/bin:$PATH
fi
CACHE="$ROOT/.cache"
mkdir -p "$CACHE"

# Sets GALLOP_BIN for the scripts that measure a binary: the one given in
# GALLOP_BIN, or this tree's release build, built (or brought up to date,
# which is quick when nothing changed) first. $1 names the caller in messages.
gallop_bin() {
    if [[ -n "${GALLOP_BIN:-}" ]]; then
        [[ -x "$GALLOP_BIN" ]] || { echo "$1: GALLOP_BIN=$GALLOP_BIN is not an executable" >&2; exit 1; }
    else
        GALLOP_BIN=$ROOT/.build/release/gallop
        "$ROOT/scripts/setup" >&2
        echo "$1: building gallop (swift build -c release)" >&2
        swift build -c release --package-path "$ROOT" --product gallop >&2
    fi
}
