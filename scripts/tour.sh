#!/usr/bin/env bash
# A short tour of lwmic on this host (embedded mode: the engine runs inside lwmic).
set -euo pipefail
B=${1:-build/release}
L="$B/src/cli/lwmic"
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@" || true; }

sleep 600 & target=$!
trap 'kill $target 2>/dev/null || true' EXIT

run "$L" list Win32_Process --properties ProcessId,Name,WorkingSetSize,ThreadCount
run "$L" get "Win32_Process.Handle=\"$target\"" --format list --properties Name,ExecutablePath,CommandLine,CreationDate,ParentProcessId,PageFileUsage,Priority
run "$L" /format:csv get "Win32_Process=$target" --properties ProcessId,Name,CommandLine
run "$L" get "Win32_Process.Handle=\"$target\"" --format json --properties Name,ProcessId
run "$L" call "Win32_Process.Handle=\"$target\"" GetOwner
run "$L" call "Win32_Process.Handle=\"$target\"" Terminate Reason=1
run "$L" get "Win32_Process.Handle=\"$target\""
say "# the last call answers WBEM_E_NOT_FOUND: the process is gone"
