#!/usr/bin/env bash
# The Debian package as a machine uses it, end to end (run as root; .ci/run runs it after
# `dpkg -i`): the links sendmail, mailq and newaliases; one system file, an alias file and a
# group-readable password file; `echo hi | sendmail root` run as nobody with no HOME,
# reaching a local relay (aiosmtpd) addressed to the alias target with a From the relay
# accepts; the line in the log file and in a syslog socket the test reads, without the
# password; with the relay down the message is queued (in the spool, nobody having no home)
# and delivered exactly once by the next send and by `smtpsend -q`; `-q --server` reroutes.
#
# Usage: tests/interop/package.sh [ROOT]   ROOT is where the package's files are: / after
# `dpkg -i` (the default; the package's control fields are checked too), or a directory the
# package was extracted into with `dpkg-deb -x`. It writes /etc/smtpsend/config.toml,
# /var/spool/smtpsend and /var/log/smtpsend.log, and removes them afterwards (a system file
# that was there before is put back).
set -euo pipefail
root=${1:-/}
root=$(cd "$root" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
bin=$root/usr/bin/smtpsend
work=$(mktemp -d)
chmod 755 "$work"
password="pkg-Relay-Secret-$$"
relay_pid=
second_pid=
syslog_pid=
failures=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1" >&2; failures=$((failures + 1)); }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }

# --- the machine's files, put back afterwards ---
[ -e /etc/smtpsend/config.toml ] && cp -p /etc/smtpsend/config.toml "$work/config.toml.before"
cleanup() {
    for pid in $relay_pid $second_pid $syslog_pid; do kill "$pid" 2>/dev/null || true; done
    rm -f /etc/smtpsend/config.toml /etc/smtpsend/aliases /etc/smtpsend/relay.pass
    if [ -e "$work/config.toml.before" ]; then
        cp -p "$work/config.toml.before" /etc/smtpsend/config.toml
    else
        rmdir /etc/smtpsend 2>/dev/null || true
    fi
    rm -rf /var/spool/smtpsend /var/log/smtpsend.log "$work"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
second_port=$(free_port)

# start_relay NAME PORT: aiosmtpd storing into $work/NAME, AUTH (CRAM-MD5, PLAIN, LOGIN)
start_relay() {
    mkdir -p "$work/$1"
    rm -f "$work/$1.port"
    python3 "$here/aiosmtpd_server.py" --dir "$work/$1" --port-file "$work/$1.port" \
        --port "$2" --auth "relay:$password" 2>>"$work/$1.log" &
    local pid=$!
    for _ in $(seq 1 100); do [ -s "$work/$1.port" ] && break; sleep 0.1; done
    [ -s "$work/$1.port" ] || { cat "$work/$1.log" >&2; echo "package: $1 did not start" >&2; exit 2; }
    if [ "$1" = relay ]; then relay_pid=$pid; else second_pid=$pid; fi
}
stop_relay() { kill "$relay_pid"; wait "$relay_pid" 2>/dev/null || true; relay_pid=; }
# count NAME: the messages NAME has stored
count() { find "$work/$1" -name '*.json' | wc -l; }
# with_subject NAME SUBJECT: how many stored messages of NAME have this subject
with_subject() { grep -l "^Subject: $2" "$work/$1"/*.eml 2>/dev/null | wc -l; }

# --- the system's configuration, as docs/sendmail.md sets a host up ---
install -d -m 755 /etc/smtpsend
printf 'root: admin@example.com\npostmaster: root\n' > /etc/smtpsend/aliases
printf '%s\n' "$password" > /etc/smtpsend/relay.pass
chown root:nogroup /etc/smtpsend/relay.pass
chmod 640 /etc/smtpsend/relay.pass
cat > /etc/smtpsend/config.toml <<EOF
default = "relay"
spool = "/var/spool/smtpsend"

[accounts.relay]
server = "127.0.0.1:$port"
from = "%U@example.com"
aliases = "/etc/smtpsend/aliases"
rewrite-local-headers = true
user = "relay"
password-file = "/etc/smtpsend/relay.pass"
log-file = "/var/log/smtpsend.log"
syslog = "mail"
EOF
chmod 644 /etc/smtpsend/config.toml
install -d -m 755 /var/spool/smtpsend
install -d -o nobody -g nogroup -m 700 /var/spool/smtpsend/nobody
install -m 622 /dev/null /var/log/smtpsend.log

# A syslog socket of the test's own: every datagram, one per line, into syslog.txt.
python3 - "$work/log.sock" "$work/syslog.txt" <<'EOF' &
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(out, "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
EOF
syslog_pid=$!
for _ in $(seq 1 50); do [ -S "$work/log.sock" ] && break; sleep 0.1; done

# as_nobody CMD…: as nobody:nogroup, no HOME, nothing in the environment but PATH and the
# test's syslog socket (documented as a test hook)
as_nobody() {
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
        env -i PATH=/usr/bin:/bin SMTPSEND_SYSLOG_SOCKET="$work/log.sock" "$@"
}

# --- the package: its links, its man page, and (installed) its control fields ---
for link in usr/sbin/sendmail usr/lib/sendmail usr/bin/mailq usr/bin/newaliases; do
    check "$link is smtpsend" [ "$(readlink -f "$root/$link")" = "$(readlink -f "$bin")" ]
done
check "the man page is installed" [ -s "$root/usr/share/man/man1/smtpsend.1.gz" ]
check "the systemd units are installed" [ -s "$root/usr/lib/systemd/system/smtpsend-queue@.timer" ]
if [ "$root" = / ]; then
    for field in Provides Conflicts Replaces; do
        check "the package's $field is mail-transport-agent" \
            sh -c "dpkg-query -W -f='\${$field}' smtpsend | grep -qx mail-transport-agent"
    done
    check "installing postfix would remove smtpsend (the conflict is real)" \
        sh -c "apt-get -s install postfix 2>/dev/null | grep -q '^Remv smtpsend'"
fi
sendmail=$root/usr/sbin/sendmail

# --- 1. echo hi | sendmail root, as nobody with no HOME ---
start_relay relay "$port"
if echo hi | as_nobody "$sendmail" root 2>"$work/err" && [ ! -s "$work/err" ]; then
    pass "echo hi | sendmail root as nobody without HOME"
else
    cat "$work/err" >&2; fail "echo hi | sendmail root as nobody without HOME"
fi
envelope() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(",".join(v) if isinstance(v,list) else v)' "$work/relay/1.json" "$1"; }
check "it reached the relay addressed to the alias target" [ "$(envelope rcpt_tos)" = admin@example.com ]
check "the envelope sender is nobody@example.com (from = %U@example.com)" [ "$(envelope mail_from)" = nobody@example.com ]
check "the message has a From the relay accepts" grep -qE '^From: <?nobody@example.com>?' "$work/relay/1.eml"
check "the message is the text piped in" sh -c "tail -n 1 '$work/relay/1.eml' | grep -qx 'hi.\?'"

# --- 2. the log file and the system log ---
check "the log file has one line" [ "$(wc -l < /var/log/smtpsend.log)" = 1 ]
check "the line names account, user, sender, recipient and reply" \
    grep -q 'result=sent exit=0 account=relay server=127.0.0.1:[0-9]* user=relay from=<nobody@example.com> to=<admin@example.com>:250 ' /var/log/smtpsend.log
check "the system log got the same line" \
    sh -c "grep -F \"\$(cut -d' ' -f2- /var/log/smtpsend.log)\" '$work/syslog.txt' | grep -q '^<22>'"

# --- 3. the relay down: queued in the spool, sent by the next send, exactly once ---
stop_relay
if printf 'Subject: kept\n\nwhile the relay was down\n' | as_nobody "$sendmail" root 2>"$work/err" \
    && grep -q '^smtpsend: queued as ' "$work/err"; then
    pass "with the relay down the message is queued (exit 0)"
else
    cat "$work/err" >&2; fail "with the relay down the message is queued (exit 0)"
fi
check "it is in nobody's spool" sh -c "ls /var/spool/smtpsend/nobody | grep -q '\.json$'"
as_nobody "$root/usr/bin/mailq" > "$work/mailq" || true
check "mailq (as nobody) lists it" grep -q '^1 message in /var/spool/smtpsend/nobody' "$work/mailq"
start_relay relay "$port"
printf 'Subject: next\n\nthe next send\n' | as_nobody "$sendmail" root
check "the next send delivered its own message" [ "$(with_subject relay next)" = 1 ]
check "and the queued one, exactly once" [ "$(with_subject relay kept)" = 1 ]
check "the spool is empty again" sh -c "! ls /var/spool/smtpsend/nobody | grep -q '\.json$'"

# --- 4. queued again, delivered by smtpsend -q ---
stop_relay
printf 'Subject: flushed\n\nfor -q\n' | as_nobody "$sendmail" root 2>/dev/null
start_relay relay "$port"
check "smtpsend -q (as nobody) exits 0" as_nobody "$bin" -q
as_nobody "$bin" -q
check "-q delivered it exactly once" [ "$(with_subject relay flushed)" = 1 ]
check "the relay has 4 messages in all" [ "$(count relay)" = 4 ]

# --- 5. -q --server reroutes ---
stop_relay
printf 'Subject: rerouted\n\nto the other relay\n' | as_nobody "$sendmail" root 2>/dev/null
start_relay second "$second_port"
as_nobody "$bin" --list-queue --server "127.0.0.1:$second_port" > "$work/listed" || true
check "--list-queue --server shows the new route" grep -qF \
    "via 127.0.0.1:$second_port (account relay), rerouted (queued for 127.0.0.1:$port (account relay))" \
    "$work/listed"
check "smtpsend -q --server sends it to the other relay" as_nobody "$bin" -q --server "127.0.0.1:$second_port"
check "where it arrived, once" [ "$(with_subject second rerouted)" = 1 ]

# --- 6. newaliases checks the alias file ---
as_nobody "$root/usr/bin/newaliases" > "$work/newaliases" || true
check "newaliases (as nobody) shows the alias" grep -qx 'root: admin@example.com' "$work/newaliases"

# --- 7. no secret anywhere ---
check "the password is in neither log" sh -c "! grep -qF '$password' /var/log/smtpsend.log '$work/syslog.txt'"
check "a line for every attempt: 8 in the log file" [ "$(wc -l < /var/log/smtpsend.log)" = 8 ]
sleep 0.2
check "and 8 in the system log" [ "$(grep -c 'smtpsend\[' "$work/syslog.txt")" = 8 ]

echo "--- sendmail --show-config, as nobody without HOME ---"
as_nobody "$sendmail" --show-config
echo "--- /var/log/smtpsend.log ---"
cat /var/log/smtpsend.log
echo "--- the test's syslog socket ---"
cat "$work/syslog.txt"

if [ "$failures" -gt 0 ]; then
    echo "package: $failures failed" >&2
    exit 1
fi
echo "package: all passed"
