#!/usr/bin/env bash
# restyle.sh [SRCDIR]: convert the C sources to CODE_STYLE.md once.
#
# 1. Comparisons with NULL become the house form: "x == NULL" -> "!x",
#    "x != NULL" -> "x" (and "NULL == x" likewise). Only where that cannot
#    change the meaning: x is a postfix expression (a name with ->, ., [] or
#    call suffixes, optionally behind unary *, or a parenthesized
#    expression such as (p = malloc(n))), and the comparison is a
#    whole operand of (, &&, ||, ?, :, ;, =, return or a comma, which all bind
#    looser than == and !=; "x != NULL" becomes "x" only where a truth value
#    is read (if, while, for, &&, ||, ?), since elsewhere it is an int.
#    Anything else is left for a person, and checkstyle.sh names it.
# 2. clang-format -i with the tree's .clang-format.
set -euo pipefail
cd "${1:-.}"
files=$(find core plugins sdk modules tests bench -name '*.[ch]' \
        -not -path 'tests/data/*' -not -path 'tests/abi/frozen/*' \
        -not -path sdk/include/sluice/plugin.h 2>/dev/null | LC_ALL=C sort)
# shellcheck disable=SC2086
perl -0777 -pi -e '
    my $id   = qr/[A-Za-z_][A-Za-z0-9_]*/;
    my $args = qr/\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)/;    # parentheses, two levels nested
    my $idx  = qr/\[[^][]*\]/;
    my $pfx  = qr/(?:\**$id|$args)(?:(?:->|\.)$id|$idx|$args)*/;
    my $l    = qr/(?:\(|&&|\|\||\?|:|;|[^=!<>]=|\breturn|,)\s*/;
    my $r    = qr/(?=\s*(?:\)|&&|\|\||\?|:|;|,))/;
    s/($l)($pfx)\s*==\s*NULL$r/$1!$2/g;
    s/($l)NULL\s*==\s*($pfx)$r/$1!$2/g;
    # "x" is not "x != NULL" where an int is wanted (return, =, an
    # argument): only in a test of if/while/for or an operand of &&, || or ?.
    my $bl = qr/(?:&&|\|\||\bif\s*\(|\bwhile\s*\(|;)\s*/;
    my $br = qr/(?=\s*(?:&&|\|\||\?))/;
    s/($bl)($pfx)\s*!=\s*NULL$r/$1$2/g;
    s/($l)($pfx)\s*!=\s*NULL$br/$1$2/g;
    s/($bl)NULL\s*!=\s*($pfx)$r/$1$2/g;
    s/($l)NULL\s*!=\s*($pfx)$br/$1$2/g;
' $files
# shellcheck disable=SC2086
clang-format -i $files
