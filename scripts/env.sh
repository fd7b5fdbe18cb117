# Sourced by the scripts: repository root, Swift on PATH, a cache folder.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH=/opt/swift/usr/bin:$PATH
fi
CACHE="$ROOT/.cache"
mkdir -p "$CACHE"
