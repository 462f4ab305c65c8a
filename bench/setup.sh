#!/usr/bin/env bash
# Installs the peers the benchmark compares against (Debian packages and aiosmtpd).
set -euo pipefail
apt-get update -qq
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix msmtp curl swaks s-nail openssl time \
    libnet-ssleay-perl libio-socket-ssl-perl >/dev/null
pip install -q aiosmtpd
