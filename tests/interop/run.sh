#!/usr/bin/env bash
# The interop suite: the smtpsend binary against real servers and real callers on 127.0.0.1.
# Needs the peers installed (.ci/run installs them: postfix for smtp-sink, aiosmtpd, git-email,
# s-nail, mutt, chromium and Pillow for the browser check). Usage: tests/interop/run.sh [path/to/smtpsend]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-${CARGO_TARGET_DIR:-$root/target}/debug/smtpsend}
[ -x "$bin" ] || (cd "$root" && cargo build --quiet)
status=0
python3 "$here/check.py" "$bin" ${INTEROP_OUT:+--out "$INTEROP_OUT"} || status=1
sh "$here/real_callers.sh" "$bin" || status=1
exit $status
