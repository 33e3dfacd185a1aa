#!/usr/bin/env bash
# Style gate run by `make test`:
#  1. every C file follows .clang-format (`make format` fixes it);
#  2. no banned function: sprintf, vsprintf, strcpy, strcat, gets, strtok,
#     atoi (unbounded or unable to report errors; use snprintf, strtol...).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.c' '*.h')
[[ ${#files[@]} -gt 0 ]] || exit 0

status=0
if ! clang-format --dry-run --Werror "${files[@]}" 2> /tmp/pyhost-style.$$; then
  head -n 40 /tmp/pyhost-style.$$
  echo "check-style: the files above do not follow .clang-format; run 'make format'" >&2
  status=1
fi
rm -f /tmp/pyhost-style.$$

if grep -nE '\b(v?sprintf|strcpy|strcat|gets|strtok|atoi)[[:space:]]*\(' "${files[@]}"; then
  echo "check-style: banned functions above" >&2
  status=1
fi
exit $status
