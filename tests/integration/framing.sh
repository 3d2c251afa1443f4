#!/usr/bin/env bash
# Request framing: every head two parsers could delimit differently is
# refused with a JSON 400/501/431 and the connection closed, and the request
# smuggled behind it never runs its flow. Raw bytes over /dev/tcp.
. "$SRCDIR/tests/integration/lib.sh"

# Each flow appends a line to its own file: a smuggled request would show
# as a line in sync.log.
write_config <<EOF2
$SERVER_BLOCK
flows = (
  { id = "inbox"; executor = "shell";
    config = { argv = ["/bin/sh", "-c", "echo ran >> '$T/inbox.log'"]; }; },
  { id = "smuggled"; executor = "shell";
    config = { argv = ["/bin/sh", "-c", "echo ran >> '$T/sync.log'"]; }; }
);
triggers = (
  { id = "in"; path = "/hooks/in"; flows = ["inbox"]; methods = ["POST"]; },
  { id = "sync"; path = "/hooks/sync"; flows = ["smuggled"]; methods = ["GET"]; mode = "sync"; }
);
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

# raw FORMAT: send printf FORMAT in one write, read until the server closes
# (at most 5 s). Sets RAW (CRs removed), CLOSED (1 when the server closed).
raw() {
    printf "$1" > "$T/payload"
    exec 3<>"/dev/tcp/127.0.0.1/$PORT"
    cat "$T/payload" >&3
    local rc=0
    timeout 5 cat <&3 > "$T/raw" || rc=$?
    exec 3<&-
    CLOSED=0; [ "$rc" = 0 ] && CLOSED=1
    RAW=$(tr -d '\r' < "$T/raw")
}
answers() { printf '%s\n' "$RAW" | grep -c '^HTTP/1\.1 '; }
first_status() { printf '%s\n' "$RAW" | sed -n 's/^HTTP\/1\.1 \([0-9]*\) .*/\1/p' | head -1; }
raw_code() { printf '%s\n' "$RAW" | grep '^{' | head -1 | jq -r '.error.code' 2>/dev/null; }
lines() { [ -f "$1" ] && wc -l < "$1" | tr -d ' ' || echo 0; }

# refused STATUS CODE DESCRIPTION: one JSON answer, Connection: close, closed.
refused() {
    is "$(first_status)" "$1" "$3: $1"
    is "$(raw_code)" "$2" "$3: error code $2"
    is "$(answers)" 1 "$3: exactly one answer on the wire"
    like "$RAW" $'\n''Connection: close' "$3: Connection: close"
    is "$CLOSED" 1 "$3: the server closed the connection"
}

SMUGGLE='GET /hooks/sync HTTP/1.1\r\nHost: x\r\n\r\n'

raw "POST /hooks/in HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\nabc$SMUGGLE"
refused 400 bad_request "two different Content-Length values"
raw "POST /hooks/in HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n$SMUGGLE"
refused 400 bad_request "Content-Length with Transfer-Encoding: chunked"
raw "POST /hooks/in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\nabc$SMUGGLE"
refused 400 bad_request "a space before the colon of Transfer-Encoding"
raw "POST /hooks/in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n chunked\r\nContent-Length: 3\r\n\r\nabc$SMUGGLE"
refused 400 bad_request "a folded Transfer-Encoding"
raw "POST /hooks/in HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\nContent-Length: 3\r\n\r\nabc$SMUGGLE"
refused 400 bad_request "a bare CR in a header value"
raw "POST /hooks/in HTTP/1.1\r\nHost: x\r\nX-A: a\0Content-Length: 30\r\nContent-Length: 3\r\n\r\nabc$SMUGGLE"
refused 400 bad_request "a NUL in a header value"
raw "POST /hooks/in HTTP/1.1\nHost: x\nContent-Length: 3\n\nabc$SMUGGLE"
refused 400 bad_request "bare LF line endings"
raw "POST /hooks/in HTTP/1.1\nHost: x\r\nContent-Length: 3\r\n\r\nabc$SMUGGLE"
refused 400 bad_request "a request line ended by a bare LF"
raw "POST /hooks/in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
refused 400 bad_request "Transfer-Encoding: xchunked"
raw "POST /hooks/in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
refused 400 bad_request "Transfer-Encoding: chunked, identity (chunked not last)"
raw "POST /hooks/in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
refused 501 not_implemented "Transfer-Encoding: gzip, chunked"
# chunked as a proxy reads it, but not as libmicrohttpd does: it would read
# the rest of the connection as this body.
raw "POST /hooks/in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked \r\n\r\n3\r\nabc\r\n0\r\n\r\n$SMUGGLE"
refused 400 bad_request "Transfer-Encoding: chunked with a trailing space"
raw "POST /hooks/in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ,chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n$SMUGGLE"
refused 400 bad_request "Transfer-Encoding: ,chunked"
raw "POST /hooks/in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n$SMUGGLE"
refused 400 bad_request "an empty Transfer-Encoding, then chunked"
raw "POST /hooks/in HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n$SMUGGLE"
refused 400 bad_request "Transfer-Encoding in an HTTP/1.0 request"
raw "POST /hooks/in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked,\r\n\r\n3\r\nabc\r\n0\r\n\r\n$SMUGGLE"
refused 400 bad_request "Transfer-Encoding: chunked, (libmicrohttpd reads it to the close)"
raw "POST /hooks/in HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n$SMUGGLE"
refused 400 bad_request "Transfer-Encoding in HTTP/1.0"
raw "POST /hooks/in HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
refused 400 bad_request "HTTP/1.1 without Host"
raw "POST /hooks/in HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: 2\r\n\r\n{}"
refused 400 bad_request "two Host headers"
many=$(for i in $(seq 800); do printf 'X-H%d: v\\r\\n' "$i"; done)
raw "POST /hooks/in HTTP/1.1\r\nHost: x\r\n${many}Content-Length: 2\r\n\r\n{}"
refused 431 headers_too_large "800 small headers"

# None of the requests above ran anything: the one sync request sent now is
# the only line in sync.log (it is answered once it has run, and any
# smuggled one would have run before it).
req GET /hooks/sync
is "$STATUS" 200 "a real GET /hooks/sync runs"
is "$(lines "$T/sync.log")" 1 "no smuggled request ran its flow"
is "$(lines "$T/inbox.log")" 0 "no refused request ran its flow"

# ---- what must be accepted ----
raw "POST http://127.0.0.1/hooks/in HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
is "$(first_status)" 202 "an absolute-form target is accepted (RFC 9112 3.2.2)"
raw "POST /hooks/in HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}"
is "$(first_status)" 202 "HTTP/1.0 without Host is accepted"
raw "POST /hooks/in HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
is "$(first_status)" 202 "a repeated identical Content-Length is accepted"
raw "POST /hooks/in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
is "$(first_status)" 202 "a chunked body is accepted"
inbox_has_4() { [ "$(lines "$T/inbox.log")" -ge 4 ]; }
wait_for "the accepted requests ran" 10 inbox_has_4
is "$(lines "$T/inbox.log")" 4 "the four accepted requests ran"

# ---- pipelining: requests behind an answer given from the head ----
H='GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'
raw "$H$H$H${H%\\r\\n\\r\\n}\r\nConnection: close\r\n\r\n"
is "$(answers)" 4 "4 pipelined GET /healthz get 4 answers"
raw "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /hooks/in HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/executions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
is "$(answers)" 4 "404, /metrics, 405 and the admin API pipelined: 4 answers"
is "$(printf '%s\n' "$RAW" | sed -n 's/^HTTP\/1\.1 \([0-9]*\) .*/\1/p' | tr '\n' ' ')" \
    "404 200 405 200 " "each pipelined request got its own status"

# ---- HEAD on a GET trigger runs nothing ----
req HEAD /hooks/sync
is "$STATUS" 200 "HEAD on a GET trigger answers like GET"
req GET /hooks/sync
is "$(lines "$T/sync.log")" 2 "HEAD created no execution (only the GETs ran)"

done_testing
