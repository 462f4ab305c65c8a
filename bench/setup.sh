#!/usr/bin/env bash
# Installs the peers the benchmark compares against (Debian packages and aiosmtpd) and
# starts the private Postfix (with Dovecot SASL) it sends through (bench/mta.sh). Run as root.
set -euo pipefail
cd "$(dirname "$0")"
apt-get update -qq
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix dovecot-core msmtp curl swaks \
    s-nail openssl time python3-pip libnet-ssleay-perl libio-socket-ssl-perl >/dev/null
python3 -c 'import aiosmtpd' 2>/dev/null || pip install -q aiosmtpd
bash mta.sh start
