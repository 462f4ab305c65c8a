
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'smtpsend' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'smtpsend'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'smtpsend' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Sender for the envelope and the From: header; "Name <addr>" accepted')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Sender for the envelope and the From: header; "Name <addr>" accepted')
            [CompletionResult]::new('-F', '-F ', [CompletionResultType]::ParameterName, 'Display name for the From: header')
            [CompletionResult]::new('--from-name', '--from-name', [CompletionResultType]::ParameterName, 'Display name for the From: header')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Subject: line; non-ASCII text is encoded (RFC 2047)')
            [CompletionResult]::new('--subject', '--subject', [CompletionResultType]::ParameterName, 'Subject: line; non-ASCII text is encoded (RFC 2047)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Extra header, ''Name: value''; repeatable')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Extra header, ''Name: value''; repeatable')
            [CompletionResult]::new('--body', '--body', [CompletionResultType]::ParameterName, 'Body text (instead of stdin)')
            [CompletionResult]::new('--body-file', '--body-file', [CompletionResultType]::ParameterName, 'Read the body text from a file (instead of stdin)')
            [CompletionResult]::new('--html', '--html', [CompletionResultType]::ParameterName, 'HTML part from a file, or from stdin with -; with a text body the message is multipart/alternative')
            [CompletionResult]::new('--markdown', '--markdown', [CompletionResultType]::ParameterName, 'Markdown from a file, or from stdin with -: rendered (CommonMark, tables, strikethrough, task lists) as the HTML part, sent as it is as the text part; the local images it shows go inline')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Attach a file (type guessed from its name), or stdin with - (the text then comes from --body, --body-file or --markdown); a directory attaches its regular files; repeatable')
            [CompletionResult]::new('--attach', '--attach', [CompletionResultType]::ParameterName, 'Attach a file (type guessed from its name), or stdin with - (the text then comes from --body, --body-file or --markdown); a directory attaches its regular files; repeatable')
            [CompletionResult]::new('--inline', '--inline', [CompletionResultType]::ParameterName, 'Add an image the HTML shows as cid:NAME (NAME: its file name, or --attach-name); - for stdin; repeatable')
            [CompletionResult]::new('--attach-name', '--attach-name', [CompletionResultType]::ParameterName, 'File name of the -a or --inline file just before it (an inline image''s cid: NAME)')
            [CompletionResult]::new('--attach-type', '--attach-type', [CompletionResultType]::ParameterName, 'Media type of the -a or --inline file just before it (default: from its name)')
            [CompletionResult]::new('--in-reply-to', '--in-reply-to', [CompletionResultType]::ParameterName, 'In-Reply-To: the Message-ID of the message this one answers (References ends with it)')
            [CompletionResult]::new('--references', '--references', [CompletionResultType]::ParameterName, 'References: Message-IDs of the thread, oldest first; repeatable, lists accepted')
            [CompletionResult]::new('--priority', '--priority', [CompletionResultType]::ParameterName, 'Priority, as X-Priority and Importance')
            [CompletionResult]::new('--message-id', '--message-id', [CompletionResultType]::ParameterName, 'Message-ID to give the message (default: a new, unique one)')
            [CompletionResult]::new('--bulk', '--bulk', [CompletionResultType]::ParameterName, 'Send the complete message in PATH, or each *.eml file when PATH is a directory, over one connection; recipients come from each message''s header (as with -t) plus any recipient arguments; repeatable')
            [CompletionResult]::new('--max-input-size', '--max-input-size', [CompletionResultType]::ParameterName, 'Most bytes read from stdin (a complete message or the body text, held in memory) and from a body file that is a pipe; K, M and G multiply by 1024s (default 64M)')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'To: recipient; repeatable, comma-separated lists accepted')
            [CompletionResult]::new('--cc', '--cc', [CompletionResultType]::ParameterName, 'Cc: recipient; repeatable, comma-separated lists accepted')
            [CompletionResult]::new('--bcc', '--bcc', [CompletionResultType]::ParameterName, 'Blind copy: envelope only, never written as a header; repeatable')
            [CompletionResult]::new('--reply-to', '--reply-to', [CompletionResultType]::ParameterName, 'Reply-To: address; repeatable, comma-separated lists accepted')
            [CompletionResult]::new('--envelope-from', '--envelope-from', [CompletionResultType]::ParameterName, 'Envelope sender only (MAIL FROM); "<>" for the null sender')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'Server: HOST[:PORT], [IPv6]:PORT, smtp://HOST[:PORT], smtps://HOST[:PORT] (implicit TLS, port 465), lmtp://HOST[:PORT] (LMTP, port 24), /path/to/socket, unix:/path, smtp:///path or lmtp:///path (default localhost:25)')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'When to use TLS: auto = implicit TLS on port 465 and smtps://, else STARTTLS whenever offered (on a loopback address or unix socket only when a login needs it)')
            [CompletionResult]::new('--tls-ca-file', '--tls-ca-file', [CompletionResultType]::ParameterName, 'Trust only the CA certificates in this PEM file (instead of the system''s)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Client certificate to present (PEM; needs --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'Private key of the client certificate (PEM, PKCS#8; needs --tls-cert)')
            [CompletionResult]::new('--tls-fingerprint', '--tls-fingerprint', [CompletionResultType]::ParameterName, 'Accept only the server certificate with this SHA-256 fingerprint (as --server-info prints it), whoever issued it, a self-signed one too; any other is refused (69). Implies TLS')
            [CompletionResult]::new('--tls-min-version', '--tls-min-version', [CompletionResultType]::ParameterName, 'The lowest TLS version to accept (default 1.2)')
            [CompletionResult]::new('--tls-server-name', '--tls-server-name', [CompletionResultType]::ParameterName, 'The name to send as SNI and to check the server certificate against, when it is not the server''s host name (connecting by address or through a tunnel)')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Reach the server through a proxy: socks5h://[USER@]HOST:PORT (the proxy resolves the server''s name), socks5://... (resolved here) or http://... (HTTP CONNECT); "env" takes ALL_PROXY (NO_PROXY honoured). The proxy password comes from SMTPSEND_PROXY_PASSWORD, proxy-password-file or proxy-password-command, never the URL')
            [CompletionResult]::new('--ehlo-name', '--ehlo-name', [CompletionResultType]::ParameterName, 'Name to give in EHLO/HELO (default: this host''s name, or its address literal)')
            [CompletionResult]::new('--source-address', '--source-address', [CompletionResultType]::ParameterName, 'Connect from this local address (one of this host''s; IPv4 or IPv6, as the server''s)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline in seconds for connecting and for each server reply')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Log in as this user (the password comes from SMTPSEND_PASSWORD, --password-file, --password-command or a prompt)')
            [CompletionResult]::new('--auth', '--auth', [CompletionResultType]::ParameterName, 'SASL mechanism; auto picks SCRAM-SHA-256, then PLAIN/LOGIN over TLS, then CRAM-MD5. For xoauth2 and oauthbearer the password is the token')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'Read the password from the first line of this file (it must not be readable by group or others)')
            [CompletionResult]::new('--password-command', '--password-command', [CompletionResultType]::ParameterName, 'Run this shell command and use the first line it prints as the password; it is stopped (exit 78) if it takes longer than the command deadline (60 s, or --timeout)')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Try again this many times after a temporary failure, waiting 1s, 2s, 4s and so on (at most 60s) in between; never once the message data was sent and its reply was lost')
            [CompletionResult]::new('--max-time', '--max-time', [CompletionResultType]::ParameterName, 'Bound on the whole run in seconds, whatever the server does (0: none; default 3600): when it passes, the run ends as a temporary failure (75), queued when the outbox is on')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Connections at once for --bulk and -q, 1 to 32 (default 1); each message still goes exactly once, and the transcript and --json say which connection carried it')
            [CompletionResult]::new('--window', '--window', [CompletionResultType]::ParameterName, 'Messages written ahead of their replies on each connection of --bulk and -q when the server offers PIPELINING and CHUNKING, 1 to 100 (default 16); a lost connection leaves at most this many unanswered, kept in the outbox by -q')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Outbox: on-failure keeps a message that hit a temporary failure and exits 0 ("queued as ID"); always writes it there first and removes it once the server took it')
            [CompletionResult]::new('--drop-queue', '--drop-queue', [CompletionResultType]::ParameterName, 'Remove a message from the outbox without sending it; repeatable')
            [CompletionResult]::new('-N', '-N ', [CompletionResultType]::ParameterName, 'DSN: when the server should report, NEVER or a list of SUCCESS,FAILURE,DELAY (sendmail -N); sent only when the server offers DSN, else a warning')
            [CompletionResult]::new('--dsn-notify', '--dsn-notify', [CompletionResultType]::ParameterName, 'DSN: when the server should report, NEVER or a list of SUCCESS,FAILURE,DELAY (sendmail -N); sent only when the server offers DSN, else a warning')
            [CompletionResult]::new('-R', '-R ', [CompletionResultType]::ParameterName, 'DSN: what a failure report returns, the full message or its headers (sendmail -R)')
            [CompletionResult]::new('--dsn-return', '--dsn-return', [CompletionResultType]::ParameterName, 'DSN: what a failure report returns, the full message or its headers (sendmail -R)')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'DSN: envelope identifier quoted back in reports (sendmail -V ID; -V alone prints the version)')
            [CompletionResult]::new('--dsn-envid', '--dsn-envid', [CompletionResultType]::ParameterName, 'DSN: envelope identifier quoted back in reports (sendmail -V ID; -V alone prints the version)')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'Probe: ask the server about ADDR with VRFY and print its answer; exit 0 for 250, 251 and 252, 67 when it does not know the address, 69 when it does not answer VRFY')
            [CompletionResult]::new('--expn', '--expn', [CompletionResultType]::ParameterName, 'Probe: expand a mailing list with EXPN and print its members, one per line')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (default $XDG_CONFIG_HOME/smtpsend/config.toml); the system file /etc/smtpsend/config.toml is read beneath it')
            [CompletionResult]::new('--account', '--account', [CompletionResultType]::ParameterName, 'Use this account from the configuration file')
            [CompletionResult]::new('--setup', '--setup', [CompletionResultType]::ParameterName, 'Set up an account on a terminal: asks for the address (EMAIL), takes the provider''s settings from its domain when it knows them (else asks for the server), asks how to log in, tests the account as --check does, then adds it to the configuration file')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Append one line per message and attempt to this file: time, account, server, TLS, user, sender, recipients and their replies, size, Message-ID, result (never a password)')
            [CompletionResult]::new('-B', '-B ', [CompletionResultType]::ParameterName, 'Body type (sendmail -B): 8BITMIME declares BODY=8BITMIME; 7BIT refuses 8-bit data')
            [CompletionResult]::new('--body-type', '--body-type', [CompletionResultType]::ParameterName, 'Body type (sendmail -B): 8BITMIME declares BODY=8BITMIME; 7BIT refuses 8-bit data')
            [CompletionResult]::new('--qualify-domain', '--qualify-domain', [CompletionResultType]::ParameterName, 'Append @DOMAIN to bare user names (`root`) in the envelope and in composed headers, and use it for the default sender user@DOMAIN (without it they go unqualified)')
            [CompletionResult]::new('--markdown-allow-html', '--markdown-allow-html', [CompletionResultType]::ParameterName, 'Keep raw HTML written in the Markdown (by default it is shown as text)')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Stdin is a complete message: send it as is (Date, Message-ID, From added when missing; Bcc removed)')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Stdin is a complete message; the recipients are its To, Cc and Bcc (or those of its most recent Resent-* block), plus any recipient arguments; Bcc and Resent-Bcc are removed')
            [CompletionResult]::new('--read-recipients', '--read-recipients', [CompletionResultType]::ParameterName, 'Stdin is a complete message; the recipients are its To, Cc and Bcc (or those of its most recent Resent-* block), plus any recipient arguments; Bcc and Resent-Bcc are removed')
            [CompletionResult]::new('--lmtp', '--lmtp', [CompletionResultType]::ParameterName, 'Speak LMTP (RFC 2033) to a delivery agent: LHLO, then one reply per recipient after the data; exit 0 only when every recipient got the message (port 24 unless given)')
            [CompletionResult]::new('--insecure-skip-verify', '--insecure-skip-verify', [CompletionResultType]::ParameterName, 'Accept any server certificate and host name (insecure; prints a warning)')
            [CompletionResult]::new('--no-chunking', '--no-chunking', [CompletionResultType]::ParameterName, 'Send with DATA even when the server offers CHUNKING (BDAT, RFC 3030), for a server whose BDAT is broken; also turns off BINARYMIME')
            [CompletionResult]::new('--oauth2-login', '--oauth2-login', [CompletionResultType]::ParameterName, 'Sign in to the account''s OAuth2 provider (oauth2 in the configuration file): print a web address and a code to enter there, wait, and store the refresh token a send uses')
            [CompletionResult]::new('--partial', '--partial', [CompletionResultType]::ParameterName, 'Send when at least one recipient is accepted, reporting the refused ones')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Deliver the messages in the outbox, one connection per server (sendmail -q)')
            [CompletionResult]::new('--flush-queue', '--flush-queue', [CompletionResultType]::ParameterName, 'Deliver the messages in the outbox, one connection per server (sendmail -q)')
            [CompletionResult]::new('--list-queue', '--list-queue', [CompletionResultType]::ParameterName, 'List the outbox: id, age, sender, recipients, attempts, last error (sendmail -bp)')
            [CompletionResult]::new('--server-info', '--server-info', [CompletionResultType]::ParameterName, 'Probe: print the greeting, each EHLO extension explained, the size limit, login mechanisms, and the TLS session (version, cipher, certificate, fingerprint); with STARTTLS, what the server offers before and after it')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Probe: connect, EHLO (TLS and login as configured), NOOP, QUIT; exit 0 when all worked, else the usual exit code (a health check for CI)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Print the protocol transcript on stderr; -dd adds timestamps, -ddd shows the message data')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print the protocol transcript on stderr; -dd adds timestamps, -ddd shows the message data')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Print the protocol transcript on stderr; -dd adds timestamps, -ddd shows the message data')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the envelope and the exact message that would be sent; connect to nothing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the outcome as JSON on stdout')
            [CompletionResult]::new('--show-config', '--show-config', [CompletionResultType]::ParameterName, 'Print the effective settings and where each comes from (password masked), then exit; with --json as a JSON object')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version (-V alone does too)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help: -h a summary, --help everything')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help: -h a summary, --help everything')
            [CompletionResult]::new('--check-aliases', '--check-aliases', [CompletionResultType]::ParameterName, 'Check the account''s alias file and print what each name stands for, then exit (what newaliases and sendmail -bi do)')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
