#!/bin/sh
# Rewrites the man page and the shell completions from the clap definition.
# Run it after changing any option; tests/generated.rs fails until you do.
set -eu
cd "$(dirname "$0")/.."
cargo build --quiet
bin="${CARGO_TARGET_DIR:-target}/debug/smtpsend"
mkdir -p man completions
"$bin" --generate man > man/smtpsend.1
"$bin" --generate bash > completions/smtpsend.bash
"$bin" --generate zsh > completions/_smtpsend
"$bin" --generate fish > completions/smtpsend.fish
"$bin" --generate elvish > completions/smtpsend.elv
"$bin" --generate powershell > completions/_smtpsend.ps1
echo "regenerated man/smtpsend.1 and completions/"
