#!/bin/sh
# Real programs handing mail to smtpsend installed as "sendmail", each delivering to a local
# aiosmtpd server on 127.0.0.1: a cron-style call, git send-email, s-nail and mutt.
# Checks that the message arrived unchanged and went to the right recipients.
#
# Usage: tests/interop/real_callers.sh [path/to/smtpsend]
# Needs python3 with aiosmtpd, git with send-email (Debian: git-email), s-nail, mutt.
# A caller that is not installed is reported as "skip"; SMTPSEND_INTEROP_STRICT=1 makes
# that a failure (the CI sets it after installing them).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-${SMTPSEND_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/smtpsend}}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
[ -x "$bin" ] || { echo "real_callers: no smtpsend binary at $bin (cargo build first)" >&2; exit 2; }

work=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

failures=0
pass() { echo "ok   - $1"; }
fail() { echo "FAIL - $1" >&2; failures=$((failures + 1)); }
skip() {
    if [ "${SMTPSEND_INTEROP_STRICT:-0}" = 1 ]; then fail "$1 (not installed)"; else echo "skip - $1 (not installed)"; fi
}

# --- the server: aiosmtpd storing each message as N.eml (raw data) and N.env (envelope) ---
store=$work/store
mkdir -p "$store"
cat > "$work/server.py" <<'EOF'
import asyncio, json, os, socket, sys
from aiosmtpd.controller import Controller

store, port_file = sys.argv[1], sys.argv[2]

class Store:
    async def handle_DATA(self, server, session, envelope):
        number = len([n for n in os.listdir(store) if n.endswith(".env")]) + 1
        with open(os.path.join(store, f"{number}.eml"), "wb") as f:
            f.write(envelope.original_content)
        with open(os.path.join(store, f"{number}.env"), "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "mail_options": envelope.mail_options}, f)
        return "250 2.0.0 stored"

probe = socket.socket()
probe.bind(("127.0.0.1", 0))
port = probe.getsockname()[1]
probe.close()
controller = Controller(Store(), hostname="127.0.0.1", port=port)
controller.start()
with open(port_file + ".tmp", "w") as f:
    f.write(str(port))
os.rename(port_file + ".tmp", port_file)
try:
    asyncio.get_event_loop().run_forever()
except KeyboardInterrupt:
    pass
EOF
python3 "$work/server.py" "$store" "$work/port" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { cat "$work/server.log" >&2; echo "real_callers: aiosmtpd did not start" >&2; exit 2; }
port=$(cat "$work/port")

# --- smtpsend installed as sendmail, the way a user would: a link and a config file ---
mkdir -p "$work/sbin" "$work/home/.config/smtpsend"
ln -s "$bin" "$work/sbin/sendmail"
sendmail=$work/sbin/sendmail
cat > "$work/home/.config/smtpsend/config.toml" <<EOF
default = "local"

[accounts.local]
server = "127.0.0.1:$port"
from = "host@example.com"
EOF
export HOME="$work/home"
unset XDG_CONFIG_HOME SMTPSEND_SERVER SMTPSEND_CONFIG SMTPSEND_ACCOUNT SMTPSEND_FROM 2>/dev/null || true
# The machine's /etc/smtpsend/config.toml (package.sh writes one) is no part of these checks.
export SMTPSEND_SYSTEM_CONFIG=/nonexistent/smtpsend-system.toml

reset_store() { rm -f "$store"/*; }
# envelope FIELD: a field of the one stored envelope, as one line (lists comma-joined)
envelope() {
    python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(",".join(v) if isinstance(v,list) else v)' "$store/1.env" "$1"
}
one_message() {
    count=$(ls "$store" | grep -c '\.env$' || true)
    [ "$count" = 1 ] || { echo "    expected 1 message, the server has $count" >&2; return 1; }
}
# same_message HANDED RECEIVED: the received message is the one handed to sendmail, line ends
# aside (CRLF on the wire), except for the Date and Message-ID fields smtpsend adds when the
# handed message has none.
same_message() {
    python3 - "$1" "$2" <<'EOF'
import re, sys
def crlf(path):
    data = open(path, "rb").read().replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data.replace(b"\n", b"\r\n")
handed, received = crlf(sys.argv[1]), crlf(sys.argv[2])
head, sep, body = received.partition(b"\r\n\r\n")
head += b"\r\n"
for name in (b"date", b"message-id"):
    if not re.search(rb"(?im)^" + name + rb":", handed.partition(b"\r\n\r\n")[0]):
        head = re.sub(rb"(?im)^" + name + rb":[^\r\n]*\r\n([ \t][^\r\n]*\r\n)*", b"", head)
received = head[:-2] + sep + body
if handed != received:
    import difflib
    diff = difflib.unified_diff(handed.decode(errors="replace").splitlines(),
                                received.decode(errors="replace").splitlines(),
                                "handed to sendmail", "received", lineterm="")
    print("\n".join(list(diff)[:40]), file=sys.stderr)
    sys.exit(1)
EOF
}

# --- 1. cron: sendmail -FCronDaemon -i -B8BITMIME -oem user ---
reset_store
printf 'From: root (Cron Daemon)\nTo: user@example.com\nSubject: Cron <user@host> /usr/local/bin/backup\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\nX-Cron-Env: <SHELL=/bin/sh>\nX-Cron-Env: <HOME=/home/user>\n\nbackup finished: 3 files, Größe 12 MB\n.\n..dots stay\n' > "$work/cron.eml"
if "$sendmail" -FCronDaemon -i -B8BITMIME -oem user@example.com < "$work/cron.eml" 2>"$work/err" \
    && one_message \
    && [ "$(envelope rcpt_tos)" = "user@example.com" ] \
    && [ "$(envelope mail_from)" = "host@example.com" ] \
    && envelope mail_options | grep -q 'BODY=8BITMIME' \
    && same_message "$work/cron.eml" "$store/1.eml"; then
    pass "cron: sendmail -FCronDaemon -i -B8BITMIME -oem user@example.com"
else
    cat "$work/err" >&2; fail "cron: sendmail -FCronDaemon -i -B8BITMIME -oem user@example.com"
fi

# --- 2. git send-email --smtp-server=<path to the sendmail link> ---
git_send_email=
if git send-email -h >/dev/null 2>&1 || [ $? = 129 ]; then git_send_email=git; fi
if [ -z "$git_send_email" ] && [ -x /usr/lib/git-core/git-send-email ] && [ -x /usr/bin/git ]; then
    git_send_email=/usr/bin/git
fi
if [ -z "$git_send_email" ] || ! "$git_send_email" send-email -h 2>&1 | grep -q -- --smtp-server; then
    skip "git send-email"
else
    reset_store
    export GIT_AUTHOR_NAME="Dev Eloper" GIT_AUTHOR_EMAIL=dev@example.com
    export GIT_COMMITTER_NAME="Dev Eloper" GIT_COMMITTER_EMAIL=dev@example.com
    repo=$work/repo
    git init -q "$repo"
    printf 'hello\n' > "$repo/README"
    git -C "$repo" add README && git -C "$repo" commit -q -m "Initial"
    git -C "$repo" tag base
    printf 'hello\nGrüße aus der Änderung\n.leading dot\n' >> "$repo/README"
    git -C "$repo" commit -q -a -m "Add a greeting" -m "With a body line and ümlauts."
    git -C "$repo" format-patch -q -1 -o "$work/patches"
    if "$git_send_email" -C "$repo" send-email --smtp-server="$sendmail" --confirm=never \
            --to=maintainer@example.com --cc=list@example.com --bcc=archive@example.com \
            --suppress-cc=all --no-thread --quiet "$work/patches"/*.patch >"$work/err" 2>&1 \
        && one_message \
        && [ "$(envelope rcpt_tos)" = "maintainer@example.com,list@example.com,archive@example.com" ] \
        && [ "$(envelope mail_from)" = "dev@example.com" ] \
        && ! grep -qi '^bcc:' "$store/1.eml" \
        && git clone -q --branch base "$repo" "$work/clone" 2>/dev/null \
        && git -C "$work/clone" am -q "$store/1.eml" \
        && [ "$(git -C "$work/clone" rev-parse HEAD^{tree})" = "$(git -C "$repo" rev-parse HEAD^{tree})" ] \
        && [ "$(git -C "$work/clone" log -1 --format=%B)" = "$(git -C "$repo" log -1 --format=%B)" ]; then
        pass "git send-email --smtp-server=$sendmail (git am reproduces the commit)"
    else
        cat "$work/err" >&2; fail "git send-email --smtp-server=<smtpsend as sendmail>"
    fi
fi

# --- 3. s-nail with mta= pointing at a wrapper that keeps what s-nail hands over ---
if ! command -v s-nail >/dev/null 2>&1; then
    skip "s-nail"
else
    reset_store
    cat > "$work/sbin/keep-and-send" <<EOF
#!/bin/sh
printf '%s\n' "\$*" > "$work/snail.args"
tee "$work/snail.handed" | exec "$sendmail" "\$@"
EOF
    chmod +x "$work/sbin/keep-and-send"
    # s-nail runs its MTA with HOME reset to the passwd entry, so name the file directly.
    if printf 'Line one\nZeile zwei: Übermorgen\n' | SMTPSEND_CONFIG="$HOME/.config/smtpsend/config.toml" \
            MAILRC=/dev/null DEAD=/dev/null s-nail -n -Sv15-compat \
            -Smta="$work/sbin/keep-and-send" -Sttycharset=utf-8 -Ssendcharsets=utf-8 \
            -r "Snail User <snail@example.com>" -s "s-nail via smtpsend" \
            -c copy@example.com -b hidden@example.com to@example.com 2>"$work/err" \
        && one_message \
        && [ "$(envelope rcpt_tos)" = "to@example.com,copy@example.com,hidden@example.com" ] \
        && [ "$(envelope mail_from)" = "snail@example.com" ] \
        && ! grep -qi '^bcc:' "$store/1.eml" \
        && grep -q '^Subject: s-nail via smtpsend' "$store/1.eml" \
        && same_message "$work/snail.handed" "$store/1.eml"; then
        pass "s-nail -S mta=<smtpsend as sendmail> (argv: $(cat "$work/snail.args"))"
    else
        cat "$work/err" >&2; fail "s-nail -S mta=<smtpsend as sendmail>"
    fi
fi

# --- 4. mutt with sendmail="<link> -oem -oi" ---
if ! command -v mutt >/dev/null 2>&1; then
    skip "mutt"
else
    reset_store
    cat > "$work/muttrc" <<EOF
set sendmail="$sendmail -oem -oi"
set from="Mutt User <mutt@example.com>"
set use_from=yes
set envelope_from=yes
set send_charset="utf-8"
set charset="utf-8"
set record=""
set copy=no
set folder="$work"
set spoolfile="$work/spool"
set hostname="client.example.com"
EOF
    : > "$work/spool"
    if printf 'Body from mutt\nmit Umlauten: äöü\n' | mutt -n -F "$work/muttrc" -s "mutt via smtpsend" \
            -c copy@example.com -b hidden@example.com -- to@example.com >"$work/err" 2>&1 \
        && one_message \
        && [ "$(envelope rcpt_tos)" = "to@example.com,copy@example.com,hidden@example.com" ] \
        && [ "$(envelope mail_from)" = "mutt@example.com" ] \
        && ! grep -qi '^bcc:' "$store/1.eml" \
        && grep -q '^Subject: mutt via smtpsend' "$store/1.eml" \
        && python3 -c '
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
body = m.get_body(("plain",)).get_content()
sys.exit(0 if body == "Body from mutt\nmit Umlauten: äöü\n" else 1)' "$store/1.eml"; then
        pass "mutt set sendmail=\"<smtpsend as sendmail> -oem -oi\""
    else
        cat "$work/err" >&2; fail "mutt set sendmail=\"<smtpsend as sendmail> -oem -oi\""
    fi
fi

if [ "$failures" -gt 0 ]; then
    echo "real_callers: $failures failed" >&2
    exit 1
fi
echo "real_callers: all passed"
