#!/usr/bin/env bash
# Slow clients: one address cannot take every connection slot, a request
# head and a body each have a total deadline (a trickle of bytes does not
# extend it), and under slowhttptest in slow-headers and slow-body modes
# other clients still get /healthz and their webhooks answered.
#
# The attackers connect from 127.0.0.1, the other clients from 127.0.0.2
# (curl --interface): both are loopback.
. "$SRCDIR/tests/integration/lib.sh"

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; http_threads = 2; workers = 2; shutdown_timeout = "10s";
          max_connections = 256; max_connections_per_address = 32;
          head_timeout = "3s"; body_timeout = "4s"; };
flows = ( { id = "noop"; executor = "shell"; config = { argv = ["/bin/true"]; }; } );
triggers = ( { id = "in"; path = "/hooks/in"; flows = ["noop"]; methods = ["POST"]; } );
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }
trap '' PIPE

# from ADDR PATH [CURL ARGS]: the status of one request from source ADDR.
from() {
    local addr=$1 path=$2; shift 2
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 --interface "$addr" "$@" \
        "http://127.0.0.1:$PORT$path" 2>/dev/null || true
}

# ---- per-address limit ----
fds=()
for _ in $(seq 40); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" && fds+=("$fd")
    printf 'POST /hooks/in HTTP/1.1\r\nHost: x\r\n' >&"$fd" 2>/dev/null
done
sleep 0.3
is "$(from 127.0.0.1 /healthz)" 000 "a 41st connection from the same address is refused"
is "$(from 127.0.0.2 /healthz)" 200 "another address is still served"
for fd in "${fds[@]}"; do exec {fd}<&-; done
# The server counts a closed connection only once it has seen the close:
# until then a new one from 127.0.0.1 is still over the limit (and reset).
served_again() { [ "$(from 127.0.0.1 /healthz)" = 200 ]; }
check "the address is served again once its connections close" \
    wait_for "127.0.0.1 served again" 10 served_again

# ---- deadlines: a trickle does not keep a request alive ----
# trickle FIRST EACH: send FIRST, then EACH once a second, up to 12 times,
# stopping when an answer arrives; sets GOT (the answer, CRs removed) and
# SENT (how many of EACH were written).
trickle() {
    local line= rc
    exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
    printf "$1" >&"$fd"
    SENT=0 GOT=
    for _ in $(seq 12); do
        rc=0
        IFS= read -r -t 1 line <&"$fd" || rc=$?
        if [ "$rc" = 0 ]; then
            GOT="$line"$'\n'$(timeout 3 cat <&"$fd" 2>/dev/null)
            break
        fi
        if [ -n "$line" ]; then # the answer began as read timed out
            GOT="$line"$(timeout 3 cat <&"$fd" 2>/dev/null)
            break
        fi
        [ "$rc" -gt 128 ] || break # closed without an answer
        printf "$2" >&"$fd" 2>/dev/null || break
        SENT=$((SENT + 1))
    done
    GOT=$(printf '%s' "$GOT" | tr -d '\r')
    exec {fd}<&-
}
trickle 'POST /hooks/in HTTP/1.1\r\nHost: x\r\n' 'X-Trickle: y\r\n'
like "$GOT" '^HTTP/1.1 408 ' "a head sent one header a second gets 408 at head_timeout"
like "$GOT" '"code":"request_timeout"' "the 408 is the JSON envelope"
check "the head was cut before 12 headers had trickled in ($SENT sent)" test "$SENT" -lt 12
trickle 'POST /hooks/in HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n' 'a'
like "$GOT" '^HTTP/1.1 408 ' "a body sent one byte a second gets 408 at body_timeout"
check "the body was cut before 12 bytes had trickled in ($SENT sent)" test "$SENT" -lt 12

# A client that keeps writing past the deadline without reading (as one
# that pipelines or streams does) still gets the 408: the server reads and
# drops what follows for a while instead of resetting the connection, which
# would discard the answer unread. 40 headers, one per 0.1 s, from a head
# that began 3 s before the end of the server's 2 s of lingering.
exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
printf 'POST /hooks/in HTTP/1.1\r\nHost: x\r\n' >&"$fd"
for _ in $(seq 40); do
    printf 'X-More: y\r\n' >&"$fd" 2>/dev/null || break
    sleep 0.1
done
GOT=$(timeout 3 cat <&"$fd" 2>/dev/null | tr -d '\r')
exec {fd}<&-
like "$GOT" '^HTTP/1.1 408 ' "a client writing on past head_timeout reads the 408, not a reset"

# ---- slowhttptest: slow headers, then slow body ----
# poll SECONDS: rounds of /healthz and a webhook from the other address
# for that long; sets ROUNDS, HEALTHY and ACCEPTED (answered 200 and 202).
# A request that gets no answer takes its whole --max-time, so a blocked
# server yields few rounds, most of them failed.
poll() {
    ROUNDS=0 HEALTHY=0 ACCEPTED=0
    local end=$((SECONDS + $1))
    while [ "$SECONDS" -lt "$end" ]; do
        ROUNDS=$((ROUNDS + 1))
        [ "$(from 127.0.0.2 /healthz)" = 200 ] && HEALTHY=$((HEALTHY + 1))
        [ "$(from 127.0.0.2 /hooks/in -X POST -d '{}')" = 202 ] && ACCEPTED=$((ACCEPTED + 1))
        sleep 0.3
    done
}
# attack NAME MODE...: slowhttptest from 127.0.0.1 for 15 s; the other
# address polls from its 3rd second to its 13th. The threshold: at least 90%
# of the rounds answered. With the protections off (no per-address limit,
# deadlines of an hour) the attackers hold all 256 slots and the same run
# answers only a few of the polls.
attack() {
    local name=$1; shift
    timeout 40 slowhttptest "$@" -c 300 -r 150 -i 2 -l 15 -x 24 -p 3 \
        -u "http://127.0.0.1:$PORT/hooks/in" -t POST > "$T/sht-$name.log" 2>&1 &
    local pid=$!
    sleep 3 # the attack holds its connections by now
    poll 10
    wait "$pid"
    check "$name: /healthz answered in $HEALTHY of $ROUNDS rounds (at least 90%)" \
        test $((HEALTHY * 10)) -ge $((ROUNDS * 9))
    check "$name: other clients' webhooks accepted in $ACCEPTED of $ROUNDS rounds (at least 90%)" \
        test $((ACCEPTED * 10)) -ge $((ROUNDS * 9))
}
if command -v slowhttptest > /dev/null; then
    attack slow-headers -H
    attack slow-body -B -s 8192
else
    skip "slowhttptest runs" "slowhttptest is not installed (Debian package slowhttptest)"
fi
check "the attacking address is served again once it stops" \
    wait_for "127.0.0.1 served again" 10 served_again

done_testing
