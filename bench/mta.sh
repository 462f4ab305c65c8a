#!/usr/bin/env bash
# A private, full Postfix on 127.0.0.1 for the benchmark, with Dovecot for its SASL:
#
#   bash bench/mta.sh start   # writes $BENCH_MTA_DIR/mta.env (the ports, the CA file)
#   bash bench/mta.sh stop
#
# Two listeners on OS-chosen free ports of 127.0.0.1: plain SMTP (PIPELINING, CHUNKING,
# open to 127.0.0.0/8, like a relay for the local network) and submission (STARTTLS
# required, AUTH PLAIN and LOGIN through Dovecot's auth service, mail only after a login).
# Everything lives under BENCH_MTA_DIR (default /tmp/smtpsend-bench-mta): configuration,
# queue, logs, certificate; the system's Postfix and Dovecot configuration is not touched.
# Accepted mail is thrown away by Postfix's discard transport. Run as root (Postfix and
# Dovecot drop their privileges to their own users).
set -euo pipefail

DIR=${BENCH_MTA_DIR:-/tmp/smtpsend-bench-mta}
USER_NAME=bench
PASSWORD=bench-secret-pw

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

stop() {
    if [ -f "$DIR/etc/main.cf" ]; then
        postfix -c "$DIR/etc" stop >/dev/null 2>&1 || true
    fi
    if [ -f "$DIR/dovecot/dovecot.conf" ]; then
        doveadm -c "$DIR/dovecot/dovecot.conf" stop >/dev/null 2>&1 || true
    fi
}

write_certificate() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$DIR/key.pem" -out "$DIR/cert.pem" >/dev/null 2>&1
    chmod 600 "$DIR/key.pem"
}

write_dovecot() {
    mkdir -p "$DIR/dovecot/run" "$DIR/dovecot/state"
    printf '%s:{PLAIN}%s\n' "$USER_NAME" "$PASSWORD" >"$DIR/dovecot/passwd"
    chmod 644 "$DIR/dovecot/passwd"
    cat >"$DIR/dovecot/dovecot.conf" <<EOF
# Only the auth service, for Postfix's SASL (smtpd_sasl_type = dovecot).
protocols =
base_dir = $DIR/dovecot/run
state_dir = $DIR/dovecot/state
log_path = $DIR/dovecot/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DIR/dovecot/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  unix_listener $DIR/spool/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
}

write_postfix() {
    local smtp=$1 submission=$2
    mkdir -p "$DIR/etc" "$DIR/spool" "$DIR/data"
    cat >"$DIR/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $DIR/spool
data_directory = $DIR/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = $DIR
maillog_file = $DIR/maillog
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = bench.localhost
mydestination =
mynetworks = 127.0.0.0/8
default_transport = discard:benchmark
smtpd_peername_lookup = no
alias_maps =
alias_database =
local_recipient_maps =
smtpd_error_sleep_time = 0
in_flow_delay = 0
message_size_limit = 0
smtpd_tls_cert_file = $DIR/cert.pem
smtpd_tls_key_file = $DIR/key.pem
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
EOF
    cat >"$DIR/etc/master.cf" <<EOF
127.0.0.1:$smtp inet n - n - - smtpd
127.0.0.1:$submission inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
}

start() {
    stop
    rm -rf "$DIR"
    mkdir -p "$DIR"
    chmod 755 "$DIR"
    local smtp submission
    smtp=$(free_port)
    submission=$(free_port)
    write_certificate
    write_postfix "$smtp" "$submission"
    write_dovecot
    # The queue's subdirectories, owned by postfix, as `postfix check` wants them.
    postfix -c "$DIR/etc" set-permissions >/dev/null 2>&1
    postfix -c "$DIR/etc" check >/dev/null
    dovecot -c "$DIR/dovecot/dovecot.conf"
    postfix -c "$DIR/etc" start >/dev/null
    cat >"$DIR/mta.env" <<EOF
SMTP_PORT=$smtp
SUBMISSION_PORT=$submission
CA_FILE=$DIR/cert.pem
USER=$USER_NAME
PASSWORD=$PASSWORD
EOF
    for port in "$smtp" "$submission"; do
        for _ in $(seq 100); do
            if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; then
                break
            fi
            sleep 0.1
        done
    done
    echo "Postfix on 127.0.0.1:$smtp (SMTP) and 127.0.0.1:$submission (submission); see $DIR/mta.env"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 64
    ;;
esac
