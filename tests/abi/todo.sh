# todo.sh - TAP TODO checks for known bugs outside tests/abi, sourced after
# tests/integration/lib.sh. A TODO check that fails is reported (with the
# bug) but does not fail the run; one that passes is an XPASS, which fails
# the run, so the marker is removed as soon as the bug is fixed.

# todo_is ACTUAL EXPECTED DESCRIPTION BUG
todo_is() {
    TAP_N=$((TAP_N + 1))
    if [ "$1" = "$2" ]; then
        echo "ok $TAP_N - $3 # TODO $4"
    else
        echo "not ok $TAP_N - $3 # TODO $4"
        diag "expected: $2" "got:      $1"
    fi
}
