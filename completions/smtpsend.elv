
use builtin;
use str;

set edit:completion:arg-completer[smtpsend] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'smtpsend'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'smtpsend'= {
            cand -f 'Sender for the envelope and the From: header; "Name <addr>" accepted'
            cand --from 'Sender for the envelope and the From: header; "Name <addr>" accepted'
            cand -F 'Display name for the From: header'
            cand --from-name 'Display name for the From: header'
            cand -s 'Subject: line; non-ASCII text is encoded (RFC 2047)'
            cand --subject 'Subject: line; non-ASCII text is encoded (RFC 2047)'
            cand -H 'Extra header, ''Name: value''; repeatable'
            cand --header 'Extra header, ''Name: value''; repeatable'
            cand --body 'Body text (instead of stdin)'
            cand --body-file 'Read the body text from a file (instead of stdin)'
            cand --html 'HTML part from a file, or from stdin with -; with a text body the message is multipart/alternative'
            cand --markdown 'Markdown from a file, or from stdin with -: rendered (CommonMark, tables, strikethrough, task lists) as the HTML part, sent as it is as the text part; the local images it shows go inline'
            cand -a 'Attach a file (type guessed from its name), or stdin with - (the text then comes from --body, --body-file or --markdown); a directory attaches its regular files; repeatable'
            cand --attach 'Attach a file (type guessed from its name), or stdin with - (the text then comes from --body, --body-file or --markdown); a directory attaches its regular files; repeatable'
            cand --inline 'Add an image the HTML shows as cid:NAME (NAME: its file name, or --attach-name); - for stdin; repeatable'
            cand --attach-name 'File name of the -a or --inline file just before it (an inline image''s cid: NAME)'
            cand --attach-type 'Media type of the -a or --inline file just before it (default: from its name)'
            cand --in-reply-to 'In-Reply-To: the Message-ID of the message this one answers (References ends with it)'
            cand --references 'References: Message-IDs of the thread, oldest first; repeatable, lists accepted'
            cand --priority 'Priority, as X-Priority and Importance'
            cand --message-id 'Message-ID to give the message (default: a new, unique one)'
            cand --bulk 'Send the complete message in PATH, or each *.eml file when PATH is a directory, over one connection; recipients come from each message''s header (as with -t) plus any recipient arguments; repeatable'
            cand --max-input-size 'Most bytes read from stdin (a complete message or the body text, held in memory) and from a body file that is a pipe; K, M and G multiply by 1024s (default 64M)'
            cand --to 'To: recipient; repeatable, comma-separated lists accepted'
            cand --cc 'Cc: recipient; repeatable, comma-separated lists accepted'
            cand --bcc 'Blind copy: envelope only, never written as a header; repeatable'
            cand --reply-to 'Reply-To: address; repeatable, comma-separated lists accepted'
            cand --envelope-from 'Envelope sender only (MAIL FROM); "<>" for the null sender'
            cand --server 'Server: HOST[:PORT], [IPv6]:PORT, smtp://HOST[:PORT], smtps://HOST[:PORT] (implicit TLS, port 465), lmtp://HOST[:PORT] (LMTP, port 24), /path/to/socket, unix:/path, smtp:///path or lmtp:///path (default localhost:25)'
            cand --tls 'When to use TLS: auto = implicit TLS on port 465 and smtps://, else STARTTLS whenever offered (on a loopback address or unix socket only when a login needs it)'
            cand --tls-ca-file 'Trust only the CA certificates in this PEM file (instead of the system''s)'
            cand --tls-cert 'Client certificate to present (PEM; needs --tls-key)'
            cand --tls-key 'Private key of the client certificate (PEM, PKCS#8; needs --tls-cert)'
            cand --tls-fingerprint 'Accept only the server certificate with this SHA-256 fingerprint (as --server-info prints it), whoever issued it, a self-signed one too; any other is refused (69). Implies TLS'
            cand --tls-min-version 'The lowest TLS version to accept (default 1.2)'
            cand --tls-server-name 'The name to send as SNI and to check the server certificate against, when it is not the server''s host name (connecting by address or through a tunnel)'
            cand --proxy 'Reach the server through a proxy: socks5h://[USER@]HOST:PORT (the proxy resolves the server''s name), socks5://... (resolved here) or http://... (HTTP CONNECT); "env" takes ALL_PROXY (NO_PROXY honoured). The proxy password comes from SMTPSEND_PROXY_PASSWORD, proxy-password-file or proxy-password-command, never the URL'
            cand --ehlo-name 'Name to give in EHLO/HELO (default: this host''s name, or its address literal)'
            cand --source-address 'Connect from this local address (one of this host''s; IPv4 or IPv6, as the server''s)'
            cand --timeout 'Deadline in seconds for connecting and for each server reply'
            cand --user 'Log in as this user (the password comes from SMTPSEND_PASSWORD, --password-file, --password-command or a prompt)'
            cand --auth 'SASL mechanism; auto picks SCRAM-SHA-256, then PLAIN/LOGIN over TLS, then CRAM-MD5. For xoauth2 and oauthbearer the password is the token'
            cand --password-file 'Read the password from the first line of this file (it must not be readable by group or others)'
            cand --password-command 'Run this shell command and use the first line it prints as the password; it is stopped (exit 78) if it takes longer than the command deadline (60 s, or --timeout)'
            cand --retries 'Try again this many times after a temporary failure, waiting 1s, 2s, 4s and so on (at most 60s) in between; never once the message data was sent and its reply was lost'
            cand --max-time 'Bound on the whole run in seconds, whatever the server does (0: none; default 3600): when it passes, the run ends as a temporary failure (75), queued when the outbox is on'
            cand --parallel 'Connections at once for --bulk and -q, 1 to 32 (default 1); each message still goes exactly once, and the transcript and --json say which connection carried it'
            cand --window 'Messages written ahead of their replies on each connection of --bulk and -q when the server offers PIPELINING and CHUNKING, 1 to 100 (default 16); a lost connection leaves at most this many unanswered, kept in the outbox by -q'
            cand --queue 'Outbox: on-failure keeps a message that hit a temporary failure and exits 0 ("queued as ID"); always writes it there first and removes it once the server took it'
            cand --drop-queue 'Remove a message from the outbox without sending it; repeatable'
            cand -N 'DSN: when the server should report, NEVER or a list of SUCCESS,FAILURE,DELAY (sendmail -N); sent only when the server offers DSN, else a warning'
            cand --dsn-notify 'DSN: when the server should report, NEVER or a list of SUCCESS,FAILURE,DELAY (sendmail -N); sent only when the server offers DSN, else a warning'
            cand -R 'DSN: what a failure report returns, the full message or its headers (sendmail -R)'
            cand --dsn-return 'DSN: what a failure report returns, the full message or its headers (sendmail -R)'
            cand -V 'DSN: envelope identifier quoted back in reports (sendmail -V ID; -V alone prints the version)'
            cand --dsn-envid 'DSN: envelope identifier quoted back in reports (sendmail -V ID; -V alone prints the version)'
            cand --verify 'Probe: ask the server about ADDR with VRFY and print its answer; exit 0 for 250, 251 and 252, 67 when it does not know the address, 69 when it does not answer VRFY'
            cand --expn 'Probe: expand a mailing list with EXPN and print its members, one per line'
            cand --config 'Configuration file (default $XDG_CONFIG_HOME/smtpsend/config.toml); the system file /etc/smtpsend/config.toml is read beneath it'
            cand --account 'Use this account from the configuration file'
            cand --setup 'Set up an account on a terminal: asks for the address (EMAIL), takes the provider''s settings from its domain when it knows them (else asks for the server), asks how to log in, tests the account as --check does, then adds it to the configuration file'
            cand --log-file 'Append one line per message and attempt to this file: time, account, server, TLS, user, sender, recipients and their replies, size, Message-ID, result (never a password)'
            cand -B 'Body type (sendmail -B): 8BITMIME declares BODY=8BITMIME; 7BIT refuses 8-bit data'
            cand --body-type 'Body type (sendmail -B): 8BITMIME declares BODY=8BITMIME; 7BIT refuses 8-bit data'
            cand --qualify-domain 'Append @DOMAIN to bare user names (`root`) in the envelope and in composed headers, and use it for the default sender user@DOMAIN (without it they go unqualified)'
            cand --markdown-allow-html 'Keep raw HTML written in the Markdown (by default it is shown as text)'
            cand --raw 'Stdin is a complete message: send it as is (Date, Message-ID, From added when missing; Bcc removed)'
            cand -t 'Stdin is a complete message; the recipients are its To, Cc and Bcc (or those of its most recent Resent-* block), plus any recipient arguments; Bcc and Resent-Bcc are removed'
            cand --read-recipients 'Stdin is a complete message; the recipients are its To, Cc and Bcc (or those of its most recent Resent-* block), plus any recipient arguments; Bcc and Resent-Bcc are removed'
            cand --lmtp 'Speak LMTP (RFC 2033) to a delivery agent: LHLO, then one reply per recipient after the data; exit 0 only when every recipient got the message (port 24 unless given)'
            cand --insecure-skip-verify 'Accept any server certificate and host name (insecure; prints a warning)'
            cand --no-chunking 'Send with DATA even when the server offers CHUNKING (BDAT, RFC 3030), for a server whose BDAT is broken; also turns off BINARYMIME'
            cand --oauth2-login 'Sign in to the account''s OAuth2 provider (oauth2 in the configuration file): print a web address and a code to enter there, wait, and store the refresh token a send uses'
            cand --partial 'Send when at least one recipient is accepted, reporting the refused ones'
            cand -q 'Deliver the messages in the outbox, one connection per server (sendmail -q)'
            cand --flush-queue 'Deliver the messages in the outbox, one connection per server (sendmail -q)'
            cand --list-queue 'List the outbox: id, age, sender, recipients, attempts, last error (sendmail -bp)'
            cand --server-info 'Probe: print the greeting, each EHLO extension explained, the size limit, login mechanisms, and the TLS session (version, cipher, certificate, fingerprint); with STARTTLS, what the server offers before and after it'
            cand --check 'Probe: connect, EHLO (TLS and login as configured), NOOP, QUIT; exit 0 when all worked, else the usual exit code (a health check for CI)'
            cand -d 'Print the protocol transcript on stderr; -dd adds timestamps, -ddd shows the message data'
            cand -v 'Print the protocol transcript on stderr; -dd adds timestamps, -ddd shows the message data'
            cand --debug 'Print the protocol transcript on stderr; -dd adds timestamps, -ddd shows the message data'
            cand --dry-run 'Print the envelope and the exact message that would be sent; connect to nothing'
            cand --json 'Print the outcome as JSON on stdout'
            cand --show-config 'Print the effective settings and where each comes from (password masked), then exit; with --json as a JSON object'
            cand --version 'Print version (-V alone does too)'
            cand -h 'Print help: -h a summary, --help everything'
            cand --help 'Print help: -h a summary, --help everything'
            cand --check-aliases 'Check the account''s alias file and print what each name stands for, then exit (what newaliases and sendmail -bi do)'
        }
    ]
    $completions[$command]
}
