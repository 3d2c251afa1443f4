#!/usr/bin/env bash
# checkstyle.sh SRCDIR: the layout and dialect rules of CODE_STYLE.md that a
# machine can check. clang-format decides the layout (.clang-format); the
# grep pass finds what it cannot. Prints every offence as file:line.
set -uo pipefail
cd "${1:-.}" || exit 2
# tests/abi/frozen holds the released ABI headers byte for byte, and
# sdk/include/sluice/plugin.h must equal the latest of them (compat11).
files=$(find core plugins sdk modules tests bench -name '*.[ch]' \
        -not -path 'tests/data/*' -not -path 'tests/abi/frozen/*' \
        -not -path sdk/include/sluice/plugin.h 2>/dev/null | LC_ALL=C sort)
rc=0
if ! command -v clang-format >/dev/null; then
    echo "checkstyle: clang-format not found (Debian package clang-format)" >&2
    exit 2
fi
# shellcheck disable=SC2086
clang-format --dry-run -Werror $files || rc=1
report() { # PATTERN WHY
    local out
    # shellcheck disable=SC2086
    out=$(LC_ALL=C grep -nE -- "$1" $files) || return 0
    printf '%s\n' "$out" | sed "s|\$|   <- $2|"
    rc=1
}
report '== *NULL\b|\bNULL *==' 'write !p, not a comparison with NULL'
# "p != NULL" stays where it is an int (return, =, an argument).
report '!= *NULL *(&&|\|\||\?|\) *\{?$)|(&&|\|\||\bif \(|\bwhile \() *NULL *!=' 'write p, not a comparison with NULL'
report '(&&|\|\||\bif \(|\bwhile \() *[A-Za-z_][A-Za-z0-9_>.-]* *!= *NULL' 'write p, not a comparison with NULL'

report '#include *"\.\./' 'no "../" includes: add the directory to the include path'
report '(/\*|//).*(DESIGN(\.md)?\b|[Ii]ssue *#?[0-9]+|#[0-9]{2,})' 'comments say why here, not where a document or issue does'
# clang-format wraps code; a string literal it leaves whole is allowed.
report '^[^"]{101,}$' 'lines stay within 100 columns'
exit $rc
