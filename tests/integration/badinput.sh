#!/usr/bin/env bash
# Hostile and broken input: every case gets a precise 4xx in the JSON
# envelope, nothing crashes, and the daemon keeps serving.
. "$SRCDIR/tests/integration/lib.sh"

write_config <<EOF2
server: { listen = ["127.0.0.1:0"]; http_threads = 2; workers = 2; shutdown_timeout = "10s";
          state_dir = "state"; };
flows = ( { id = "echo"; executor = "shell"; config = { argv = ["/bin/cat"]; stdin = "body"; }; } );
triggers = (
  { id = "in"; flows = ["echo"]; mode = "sync"; methods = ["GET", "POST"]; },
  { id = "keyed"; flows = ["echo"]; auth = { keys = ["bad-input-key-1"]; }; },
  { id = "cap"; flows = ["echo"]; capability = true; }
);
EOF2
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }

# is_error STATUS CODE DESCRIPTION: the last answer is STATUS, JSON, data null, error.code CODE.
is_error() {
    is "$STATUS" "$1" "$3: $1"
    is "$(jq_get .data)" null "$3: data is null"
    is "$(jq_get .error.code)" "$2" "$3: error code $2"
}

# ---- headers and request line ----
big=$(head -c 40000 /dev/zero | tr '\0' 'a')
req POST /hooks/in -H "X-Big: $big" -d x
is_error 431 headers_too_large "a 40 KB header"
many=()
for i in $(seq 120); do many+=(-H "X-H$i: $(head -c 300 /dev/zero | tr '\0' 'b')"); done
req POST /hooks/in "${many[@]}" -d x
is_error 431 headers_too_large "120 headers of 300 bytes"
# Beyond libmicrohttpd's own 64 KiB connection memory the library answers
# before sluiced sees the request: still a 431, but its body is HTML.
huge=$(head -c 70000 /dev/zero | tr '\0' 'a')
req POST /hooks/in -H "X-Big: $huge" -d x
is "$STATUS" 431 "a 70 KB header: 431 (from libmicrohttpd)"
longq=$(head -c 20000 /dev/zero | tr '\0' 'q')
req GET "/hooks/in?q=$longq"
is_error 414 uri_too_long "a 20 KB request target"
req GET /healthz
is "$STATUS" 200 "the daemon serves after oversized requests"

# ---- query strings ----
q=$(for i in $(seq 300); do printf 'p%d=1&' "$i"; done)
req GET "/hooks/in?$q"
is_error 400 bad_request "300 query parameters"
like "$(jq_get .error.message)" 'too many query parameters' "too many parameters: the message says so"
q=$(for i in $(seq 256); do printf 'p%d=1&' "$i"; done)
req GET "/hooks/in?$q"
is "$STATUS" 200 "256 query parameters are accepted"
req GET '/hooks/in?a=%zz'
is_error 400 bad_request "invalid percent-encoding in the query"
req GET '/hooks/in?a=%4'
is_error 400 bad_request "a truncated percent-escape"
req GET '/hooks/in?a=%00'
is_error 400 bad_request "an encoded NUL in the query"
req GET '/hooks/in?a=%ff%fe'
is_error 400 bad_request "a query value that is not UTF-8"
req GET '/hooks/%zz'
is_error 400 bad_path "invalid percent-encoding in the path"

# ---- JSON ----
J=(-H 'Content-Type: application/json')
req POST /hooks/in "${J[@]}" --data-binary $'{"a":"\xff\xfe"}'
is_error 400 bad_request "invalid UTF-8 in a JSON string"
req POST /hooks/in "${J[@]}" --data-binary $'{"a":"\xc0\xaf"}'
is_error 400 bad_request "an overlong UTF-8 sequence"
req POST /hooks/in "${J[@]}" --data-binary '{"a":"\u0000"}'
is "$STATUS" 200 "an escaped NUL in a JSON string is JSON"
req POST /hooks/in "${J[@]}" --data-binary '{"a":1,"a":2}'
is_error 400 bad_request "duplicate keys"
req POST /hooks/in "${J[@]}" --data-binary '{"a":{"b":1,"b":2}}'
is_error 400 bad_request "duplicate keys in a nested object"
req POST /hooks/in "${J[@]}" --data-binary '{"a":1'
is_error 400 bad_request "truncated JSON"
req POST /hooks/in "${J[@]}" --data-binary '{"a":1} trailing'
is_error 400 bad_request "text after the JSON value"
nest() { local n=$1 o c; o=$(printf '%*s' "$n" '' | tr ' ' '['); c=$(printf '%*s' "$n" '' | tr ' ' ']'); printf '%s1%s' "$o" "$c"; }
nest 512 > "$T/d512.json"
nest 513 > "$T/d513.json"
nest 100000 > "$T/deep.json"
req POST /hooks/in "${J[@]}" --data-binary @"$T/d512.json"
is "$STATUS" 200 "JSON nested 512 deep is accepted"
req POST /hooks/in "${J[@]}" --data-binary @"$T/d513.json"
is "$STATUS" 400 "JSON nested 513 deep: 400"
like "$BODY" '"code":"bad_request"' "JSON nested 513 deep: bad_request"
# (jq reads no deeper than 256 levels, so the answers are read as text)
like "$BODY" 'nested deeper than 512' "deep JSON: the message names the limit"
req POST /hooks/in "${J[@]}" --data-binary @"$T/deep.json"
is_error 400 bad_request "JSON nested 100000 deep"
printf '{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}' > "$T/str.json"
req POST /hooks/in "${J[@]}" --data-binary @"$T/str.json"
is "$STATUS" 200 "brackets inside strings do not count as nesting"
head -c 4096 /dev/urandom > "$T/random.bin"
req POST /hooks/in "${J[@]}" --data-binary @"$T/random.bin"
is_error 400 bad_request "random bytes labelled JSON"

# ---- forms, headers, credentials ----
req POST /hooks/in -H 'Content-Type: application/x-www-form-urlencoded' --data-binary 'a=%zz'
is_error 400 bad_request "invalid percent-encoding in a form body"
req POST /hooks/in -H 'Content-Type: application/x-www-form-urlencoded' --data-binary 'a=%ff'
is_error 400 bad_request "a form value that is not UTF-8"
req POST /hooks/in -H $'X-Latin: caf\xe9' -H 'Content-Type: text/plain' -d ok
is "$STATUS" 200 "a header value that is not UTF-8 does not break the event"
req POST /hooks/keyed -H 'Authorization: Basic %%%%' -d x
is "$STATUS" 401 "a malformed Authorization on a key trigger: 401"
req POST /hooks/keyed -H 'Authorization: Bearer' -d x
is "$STATUS" 401 "an empty Bearer token: 401"
req POST /t/../../etc/passwd -d x
check "a capability path with dots does not escape: 4xx" [ "${STATUS:0:1}" = 4 ]
req POST "/t/$(head -c 200 /dev/zero | tr '\0' 'A')" -d x
is_error 400 invalid_token "an overlong capability token"
req POST '/t/AAAAAAAAAAAAAAAAAAAA%41%41' -d x
is_error 400 invalid_token "a percent-encoded capability token"

# ---- bodies ----
status=$(curl -s -o "$T/body" -w '%{http_code}' -X POST -H 'Content-Length: 5' --data-binary 'abc' \
    --max-time 5 "$BASE/hooks/in" 2>/dev/null)
check "a body shorter than its Content-Length does not hang the daemon (curl got ${status:-nothing})" true
req POST /hooks/in -H 'Content-Length: banana' -d x
check "a non-numeric Content-Length is refused (${STATUS})" [ "${STATUS:0:1}" = 4 ]
req GET /healthz
is "$STATUS" 200 "the daemon is healthy after all of it"
done_testing
