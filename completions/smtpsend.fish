complete -c smtpsend -s f -l from -d 'Sender for the envelope and the From: header; "Name <addr>" accepted' -r -f
complete -c smtpsend -s F -l from-name -d 'Display name for the From: header' -r -f
complete -c smtpsend -s s -l subject -d 'Subject: line; non-ASCII text is encoded (RFC 2047)' -r -f
complete -c smtpsend -s H -l header -d 'Extra header, \'Name: value\'; repeatable' -r -f
complete -c smtpsend -l body -d 'Body text (instead of stdin)' -r -f
complete -c smtpsend -l body-file -d 'Read the body text from a file (instead of stdin)' -r -F
complete -c smtpsend -l html -d 'HTML part from a file, or from stdin with -; with a text body the message is multipart/alternative' -r -F
complete -c smtpsend -l markdown -d 'Markdown from a file, or from stdin with -: rendered (CommonMark, tables, strikethrough, task lists) as the HTML part, sent as it is as the text part; the local images it shows go inline' -r -F
complete -c smtpsend -s a -l attach -d 'Attach a file (type guessed from its name), or stdin with - (the text then comes from --body, --body-file or --markdown); a directory attaches its regular files; repeatable' -r -F
complete -c smtpsend -l inline -d 'Add an image the HTML shows as cid:NAME (NAME: its file name, or --attach-name); - for stdin; repeatable' -r -F
complete -c smtpsend -l attach-name -d 'File name of the -a or --inline file just before it (an inline image\'s cid: NAME)' -r -f
complete -c smtpsend -l attach-type -d 'Media type of the -a or --inline file just before it (default: from its name)' -r -f
complete -c smtpsend -l in-reply-to -d 'In-Reply-To: the Message-ID of the message this one answers (References ends with it)' -r -f
complete -c smtpsend -l references -d 'References: Message-IDs of the thread, oldest first; repeatable, lists accepted' -r -f
complete -c smtpsend -l priority -d 'Priority, as X-Priority and Importance' -r -f -a "high\t'X-Priority: 1 (Highest), Importance: high'
normal\t'X-Priority: 3 (Normal), Importance: normal'
low\t'X-Priority: 5 (Lowest), Importance: low'"
complete -c smtpsend -l message-id -d 'Message-ID to give the message (default: a new, unique one)' -r -f
complete -c smtpsend -l bulk -d 'Send the complete message in PATH, or each *.eml file when PATH is a directory, over one connection; recipients come from each message\'s header (as with -t) plus any recipient arguments; repeatable' -r -F
complete -c smtpsend -l max-input-size -d 'Most bytes read from stdin (a complete message or the body text, held in memory) and from a body file that is a pipe; K, M and G multiply by 1024s (default 64M)' -r
complete -c smtpsend -l to -d 'To: recipient; repeatable, comma-separated lists accepted' -r -f
complete -c smtpsend -l cc -d 'Cc: recipient; repeatable, comma-separated lists accepted' -r -f
complete -c smtpsend -l bcc -d 'Blind copy: envelope only, never written as a header; repeatable' -r -f
complete -c smtpsend -l reply-to -d 'Reply-To: address; repeatable, comma-separated lists accepted' -r -f
complete -c smtpsend -l envelope-from -d 'Envelope sender only (MAIL FROM); "<>" for the null sender' -r -f
complete -c smtpsend -l server -d 'Server: HOST[:PORT], [IPv6]:PORT, smtp://HOST[:PORT], smtps://HOST[:PORT] (implicit TLS, port 465), lmtp://HOST[:PORT] (LMTP, port 24), /path/to/socket, unix:/path, smtp:///path or lmtp:///path (default localhost:25)' -r -f -a "(smtpsend --generate servers 2>/dev/null)"
complete -c smtpsend -l tls -d 'When to use TLS: auto = implicit TLS on port 465 and smtps://, else STARTTLS whenever offered (on a loopback address or unix socket only when a login needs it)' -r -f -a "auto\t'Implicit TLS on port 465 and for smtps://; otherwise STARTTLS whenever the server offers it, except on a loopback address or a unix socket'
starttls\t'STARTTLS, or fail (exit 69) when the server does not offer it'
implicit\t'TLS from the first byte (SMTPS)'
none\t'Never TLS; credentials then go only to a loopback address or a unix socket'"
complete -c smtpsend -l tls-ca-file -d 'Trust only the CA certificates in this PEM file (instead of the system\'s)' -r -F
complete -c smtpsend -l tls-cert -d 'Client certificate to present (PEM; needs --tls-key)' -r -F
complete -c smtpsend -l tls-key -d 'Private key of the client certificate (PEM, PKCS#8; needs --tls-cert)' -r -F
complete -c smtpsend -l tls-fingerprint -d 'Accept only the server certificate with this SHA-256 fingerprint (as --server-info prints it), whoever issued it, a self-signed one too; any other is refused (69). Implies TLS' -r -f
complete -c smtpsend -l tls-min-version -d 'The lowest TLS version to accept (default 1.2)' -r -f -a "1.2\t''
1.3\t''"
complete -c smtpsend -l tls-server-name -d 'The name to send as SNI and to check the server certificate against, when it is not the server\'s host name (connecting by address or through a tunnel)' -r -f
complete -c smtpsend -l proxy -d 'Reach the server through a proxy: socks5h://[USER@]HOST:PORT (the proxy resolves the server\'s name), socks5://... (resolved here) or http://... (HTTP CONNECT); "env" takes ALL_PROXY (NO_PROXY honoured). The proxy password comes from SMTPSEND_PROXY_PASSWORD, proxy-password-file or proxy-password-command, never the URL' -r -f
complete -c smtpsend -l ehlo-name -d 'Name to give in EHLO/HELO (default: this host\'s name, or its address literal)' -r -f
complete -c smtpsend -l source-address -d 'Connect from this local address (one of this host\'s; IPv4 or IPv6, as the server\'s)' -r -f
complete -c smtpsend -l timeout -d 'Deadline in seconds for connecting and for each server reply' -r
complete -c smtpsend -l user -d 'Log in as this user (the password comes from SMTPSEND_PASSWORD, --password-file, --password-command or a prompt)' -r -f
complete -c smtpsend -l auth -d 'SASL mechanism; auto picks SCRAM-SHA-256, then PLAIN/LOGIN over TLS, then CRAM-MD5. For xoauth2 and oauthbearer the password is the token' -r -f -a "auto\t'The strongest the server offers: SCRAM-SHA-256, then PLAIN/LOGIN over TLS, then CRAM-MD5'
plain\t''
login\t''
cram-md5\t''
xoauth2\t''
oauthbearer\t''
scram-sha-256\t''"
complete -c smtpsend -l password-file -d 'Read the password from the first line of this file (it must not be readable by group or others)' -r -F
complete -c smtpsend -l password-command -d 'Run this shell command and use the first line it prints as the password; it is stopped (exit 78) if it takes longer than the command deadline (60 s, or --timeout)' -r -f
complete -c smtpsend -l retries -d 'Try again this many times after a temporary failure, waiting 1s, 2s, 4s and so on (at most 60s) in between; never once the message data was sent and its reply was lost' -r
complete -c smtpsend -l max-time -d 'Bound on the whole run in seconds, whatever the server does (0: none; default 3600): when it passes, the run ends as a temporary failure (75), queued when the outbox is on' -r
complete -c smtpsend -l parallel -d 'Connections at once for --bulk and -q, 1 to 32 (default 1); each message still goes exactly once, and the transcript and --json say which connection carried it' -r
complete -c smtpsend -l window -d 'Messages written ahead of their replies on each connection of --bulk and -q when the server offers PIPELINING and CHUNKING, 1 to 100 (default 16); a lost connection leaves at most this many unanswered, kept in the outbox by -q' -r
complete -c smtpsend -l queue -d 'Outbox: on-failure keeps a message that hit a temporary failure and exits 0 ("queued as ID"); always writes it there first and removes it once the server took it' -r -f -a "never\t'A temporary failure exits 75'
on-failure\t'Keep the message after a temporary failure and exit 0'
always\t'Write the message to the outbox first, send it, remove it once the server took it'"
complete -c smtpsend -l drop-queue -d 'Remove a message from the outbox without sending it; repeatable' -r -f -a "(smtpsend --generate queue-ids 2>/dev/null)"
complete -c smtpsend -s N -l dsn-notify -d 'DSN: when the server should report, NEVER or a list of SUCCESS,FAILURE,DELAY (sendmail -N); sent only when the server offers DSN, else a warning' -r
complete -c smtpsend -s R -l dsn-return -d 'DSN: what a failure report returns, the full message or its headers (sendmail -R)' -r -f -a "full\t'The whole message'
hdrs\t'The headers only'"
complete -c smtpsend -s V -l dsn-envid -d 'DSN: envelope identifier quoted back in reports (sendmail -V ID; -V alone prints the version)' -r -f
complete -c smtpsend -l verify -d 'Probe: ask the server about ADDR with VRFY and print its answer; exit 0 for 250, 251 and 252, 67 when it does not know the address, 69 when it does not answer VRFY' -r -f
complete -c smtpsend -l expn -d 'Probe: expand a mailing list with EXPN and print its members, one per line' -r -f
complete -c smtpsend -l config -d 'Configuration file (default $XDG_CONFIG_HOME/smtpsend/config.toml); the system file /etc/smtpsend/config.toml is read beneath it' -r -F
complete -c smtpsend -l account -d 'Use this account from the configuration file' -r -f -a "(smtpsend --generate accounts 2>/dev/null)"
complete -c smtpsend -l setup -d 'Set up an account on a terminal: asks for the address (EMAIL), takes the provider\'s settings from its domain when it knows them (else asks for the server), asks how to log in, tests the account as --check does, then adds it to the configuration file' -r -f
complete -c smtpsend -l log-file -d 'Append one line per message and attempt to this file: time, account, server, TLS, user, sender, recipients and their replies, size, Message-ID, result (never a password)' -r -F
complete -c smtpsend -s B -l body-type -d 'Body type (sendmail -B): 8BITMIME declares BODY=8BITMIME; 7BIT refuses 8-bit data' -r -f -a "8BITMIME\t'Declare BODY=8BITMIME when the server offers it'
7BIT\t'Plain 7-bit data: declare nothing, refuse a message with 8-bit bytes'"
complete -c smtpsend -l qualify-domain -d 'Append @DOMAIN to bare user names (`root`) in the envelope and in composed headers, and use it for the default sender user@DOMAIN (without it they go unqualified)' -r -f
complete -c smtpsend -l markdown-allow-html -d 'Keep raw HTML written in the Markdown (by default it is shown as text)'
complete -c smtpsend -l raw -d 'Stdin is a complete message: send it as is (Date, Message-ID, From added when missing; Bcc removed)'
complete -c smtpsend -s t -l read-recipients -d 'Stdin is a complete message; the recipients are its To, Cc and Bcc (or those of its most recent Resent-* block), plus any recipient arguments; Bcc and Resent-Bcc are removed'
complete -c smtpsend -l lmtp -d 'Speak LMTP (RFC 2033) to a delivery agent: LHLO, then one reply per recipient after the data; exit 0 only when every recipient got the message (port 24 unless given)'
complete -c smtpsend -l insecure-skip-verify -d 'Accept any server certificate and host name (insecure; prints a warning)'
complete -c smtpsend -l no-chunking -d 'Send with DATA even when the server offers CHUNKING (BDAT, RFC 3030), for a server whose BDAT is broken; also turns off BINARYMIME'
complete -c smtpsend -l oauth2-login -d 'Sign in to the account\'s OAuth2 provider (oauth2 in the configuration file): print a web address and a code to enter there, wait, and store the refresh token a send uses'
complete -c smtpsend -l partial -d 'Send when at least one recipient is accepted, reporting the refused ones'
complete -c smtpsend -s q -l flush-queue -d 'Deliver the messages in the outbox, one connection per server (sendmail -q)'
complete -c smtpsend -l list-queue -d 'List the outbox: id, age, sender, recipients, attempts, last error (sendmail -bp)'
complete -c smtpsend -l server-info -d 'Probe: print the greeting, each EHLO extension explained, the size limit, login mechanisms, and the TLS session (version, cipher, certificate, fingerprint); with STARTTLS, what the server offers before and after it'
complete -c smtpsend -l check -d 'Probe: connect, EHLO (TLS and login as configured), NOOP, QUIT; exit 0 when all worked, else the usual exit code (a health check for CI)'
complete -c smtpsend -s d -s v -l debug -d 'Print the protocol transcript on stderr; -dd adds timestamps, -ddd shows the message data'
complete -c smtpsend -l dry-run -d 'Print the envelope and the exact message that would be sent; connect to nothing'
complete -c smtpsend -l json -d 'Print the outcome as JSON on stdout'
complete -c smtpsend -l show-config -d 'Print the effective settings and where each comes from (password masked), then exit; with --json as a JSON object'
complete -c smtpsend -l version -d 'Print version (-V alone does too)'
complete -c smtpsend -s h -l help -d 'Print help: -h a summary, --help everything'
complete -c smtpsend -l check-aliases -d 'Check the account\'s alias file and print what each name stands for, then exit (what newaliases and sendmail -bi do)'
