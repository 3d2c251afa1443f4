#!/usr/bin/env bash
# The admin API behind a real nginx on loopback: a forwarded request is from
# its client, not from this host; wrong admin tokens are throttled per
# address; a metrics token opens /metrics only; POST /api/v1/reload answers
# with the outcome without holding an HTTP thread; query parameters are
# checked; /metrics passes promtool.
. "$SRCDIR/tests/integration/lib.sh"

NGINX=${NGINX:-/usr/sbin/nginx}
PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
NGINX_PID=
ADMIN=admin-token-0123456789abcdef
METRICS=metrics-token-0123456789abcdef

stop_nginx() {
    if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
        kill -TERM "$NGINX_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$NGINX_PID" 2>/dev/null
        wait "$NGINX_PID" 2>/dev/null
    fi
    NGINX_PID=
}
trap 'stop_nginx; cleanup' EXIT

# free_port: a port nothing listens on now (nginx cannot take port 0 and
# say which it got; start_nginx tries again if it is taken meanwhile).
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

# start_nginx: a reverse proxy on 127.0.0.1:$NPORT in front of $PORT. A
# client's address is taken from X-Test-Client (the realip module, from
# loopback only), so that nginx sees a remote client as it would on a
# public address, and forwards for it as a production proxy does.
try_nginx() {
    NPORT=$(free_port)
    mkdir -p "$T/nginx"
    local user=
    [ "$(id -u)" = 0 ] && user='user root;'
    cat > "$T/nginx/nginx.conf" <<EOF
$user
daemon off;
master_process off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log info;
events { worker_connections 256; }
http {
    access_log $T/nginx/access.log;
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    server {
        listen 127.0.0.1:$NPORT;
        set_real_ip_from 127.0.0.0/8;
        real_ip_header X-Test-Client;
        location / {
            proxy_pass http://127.0.0.1:$PORT;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Real-IP \$remote_addr;
            proxy_set_header Host \$host;
        }
        # Proxies that name no client: the hop only, or nothing at all.
        location /proto/ {
            proxy_pass http://127.0.0.1:$PORT/;
            proxy_set_header X-Forwarded-Proto \$scheme;
        }
        location /plain/ {
            proxy_pass http://127.0.0.1:$PORT/;
        }
    }
}
EOF
    "$NGINX" -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" \
        2>>"$T/nginx/stderr" &
    NGINX_PID=$!
    for _ in $(seq 100); do
        kill -0 "$NGINX_PID" 2>/dev/null || break
        curl -s -D - -o /dev/null "http://127.0.0.1:$NPORT/healthz" 2>/dev/null |
            grep -qi '^server: nginx' && kill -0 "$NGINX_PID" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

start_nginx() {
    for _ in 1 2 3 4 5; do
        try_nginx && return 0
        stop_nginx
    done
    diag "nginx did not start:"; sed 's/^/#   /' "$T/nginx/stderr" "$T/nginx/error.log" 2>/dev/null
    return 1
}

# via CLIENT METHOD PATH [CURL ARGS...]: req through nginx, as CLIENT.
via() {
    local client=$1 method=$2 path=$3; shift 3
    local base=$BASE
    BASE="http://127.0.0.1:$NPORT"
    req "$method" "$path" -H "X-Test-Client: $client" "$@"
    BASE=$base
}

conf() { # conf SERVER-EXTRA
write_config <<EOF
server: { listen = ["127.0.0.1:0"]; http_threads = ${HTTP_THREADS:-1}; workers = 2; shutdown_timeout = "10s";
          $1 };
flows = ( { id = "ok"; namespace = "team"; executor = "shell";
            config = { argv = ["/bin/echo", "hi"]; }; },
          { id = "bad"; executor = "shell"; config = { argv = ["/bin/false"]; }; },
          { id = "slow"; executor = "shell"; config = { argv = ["/bin/sleep", "30"]; }; } );
triggers = ( { id = "ok"; flows = ["team/ok"]; mode = "sync"; },
             { id = "bad"; flows = ["bad"]; mode = "sync"; },
             { id = "slow"; flows = ["slow"]; },
             { id = "cap"; flows = ["team/ok"]; capability = true; } );
EOF
}

# refused_all CLIENT WHAT: every admin resource is refused through nginx.
refused_all() {
    local client=$1 what=$2 m p
    while read -r m p; do
        via "$client" "$m" "$p"
        is "$STATUS" 403 "$what: $m $p is refused"
        is "$(jq_get .error.code)" forbidden "$what: $m $p answers the JSON envelope"
    done <<EOF
GET /api/v1/executions
GET /api/v1/executions/$OK_ID
GET /api/v1/executions/$OK_ID/logs
POST /api/v1/executions/$SLOW_ID/cancel
POST /api/v1/executions/$OK_ID/replay
GET /api/v1/flows
GET /api/v1/triggers
POST /api/v1/triggers/cap/token
DELETE /api/v1/triggers/cap/token
POST /api/v1/reload
GET /metrics
EOF
}

command -v "$NGINX" >/dev/null || { skip "admin API behind nginx" "no nginx"; done_testing; exit; }

# ---- no admin_token, no trusted proxies: anything forwarded is refused ----
conf ""
start_sluiced || { fail "sluiced starts"; done_testing; exit 1; }
start_nginx || { fail "nginx starts"; done_testing; exit 1; }
req POST /hooks/ok -d x
OK_ID=$(jq_get .data.id)
req POST /hooks/slow -d x
SLOW_ID=$(jq_get .data.execution_id)
check "two executions to act on" [ -n "$OK_ID" ] && [ -n "$SLOW_ID" ]

refused_all 198.51.100.7 "untrusted local proxy, remote client"
# Even a client on this host: the proxy's header cannot be believed.
refused_all 127.0.0.1 "untrusted local proxy, local client"
req GET /api/v1/executions -H 'X-Forwarded-For: 127.0.0.1'
is "$STATUS" 403 "a forwarding header from a peer that is not a trusted proxy is refused"
req GET /api/v1/executions -H 'X-Real-IP: 127.0.0.1'
is "$STATUS" 403 "so is X-Real-IP"
req GET /api/v1/executions -H 'Forwarded: for=127.0.0.1'
is "$STATUS" 403 "and Forwarded"
base=$BASE; BASE="http://127.0.0.1:$NPORT/proto"
req GET /api/v1/executions
BASE=$base
is "$STATUS" 403 "a proxy that sends only X-Forwarded-Proto is refused"
for h in 'Via: 1.1 lb' 'X-Forwarded-Host: sluice.example' 'True-Client-IP: 127.0.0.1' \
    'CF-Connecting-IP: 127.0.0.1' 'X-Client-IP: 127.0.0.1' 'Fastly-Client-IP: 127.0.0.1'; do
    req GET /api/v1/executions -H "$h"
    is "$STATUS" 403 "a loopback peer that sends ${h%%:*} is a proxy, refused"
done
req GET /api/v1/executions
is "$STATUS" 200 "a direct loopback request is answered"
req GET "/api/v1/executions/$OK_ID"
is "$(jq_get .data.state)" succeeded "and reads the execution"
via 198.51.100.7 GET /healthz
is "$STATUS" 200 "health probes stay public"
req POST "/api/v1/executions/$SLOW_ID/cancel"
is "$STATUS" 202 "a direct loopback request may cancel"

# ---- trusted_proxies without admin_token: nothing is local ----
# A proxy is in front, and one on this host that adds no forwarding header
# (nginx's plain proxy_pass) cannot be told from a local client.
stop_sluiced TERM
stop_nginx
conf 'trusted_proxies = ["127.0.0.1/32"];'
start_sluiced || { fail "sluiced restarts"; done_testing; exit 1; }
start_nginx || { fail "nginx restarts"; done_testing; exit 1; }
like "$(grep -c 'trusted_proxies is set without server.admin_token' "$T/sluiced.log")" '^1$' \
    "the configuration is warned of once at start"
refused_all 198.51.100.7 "trusted local proxy, remote client"
refused_all 127.0.0.1 "trusted local proxy, local client"
base=$BASE; BASE="http://127.0.0.1:$NPORT/plain"
req GET /api/v1/executions
BASE=$base
is "$STATUS" 403 "a proxy that adds no forwarding header is refused"
like "$(jq_get .error.message)" 'needs server\.admin_token' "and told why"
req GET /api/v1/executions
is "$STATUS" 403 "so is a direct loopback request: it looks the same"
req GET /api/v1/executions -H 'Forwarded: for=127.0.0.1;proto=http'
is "$STATUS" 403 "and one the trusted proxy says is from loopback"
req GET /healthz
is "$STATUS" 200 "health probes stay public"
kill -HUP "$SLUICE_PID"
wait_for "the reload" 10 grep -q 'reload: now serving' "$T/sluiced.log"
like "$(grep -c 'trusted_proxies is set without server.admin_token' "$T/sluiced.log")" '^2$' \
    "and again on reload"

# ---- admin_token through nginx; wrong tokens are throttled per address ----
stop_sluiced TERM
stop_nginx
# Several HTTP threads, so that wrong tokens sent at once are checked at once.
HTTP_THREADS=4 conf "trusted_proxies = [\"127.0.0.1/32\"]; admin_token = \"$ADMIN\"; metrics_token = \"$METRICS\";"
start_sluiced || { fail "sluiced restarts with tokens"; done_testing; exit 1; }
start_nginx || { fail "nginx restarts"; done_testing; exit 1; }
via 198.51.100.6 GET /api/v1/executions
is "$STATUS" 401 "without a token: 401"
like "$(header WWW-Authenticate)" '^Bearer' "with a Bearer challenge"
via 198.51.100.7 GET /api/v1/executions -H "Authorization: Bearer $ADMIN"
is "$STATUS" 200 "the admin token works through nginx"
via 198.51.100.7 GET /metrics -H "Authorization: Bearer $METRICS"
is "$STATUS" 200 "the metrics token opens /metrics"
for p in /api/v1/executions /api/v1/flows "/api/v1/executions/$OK_ID"; do
    via 198.51.100.9 GET "$p" -H "Authorization: Bearer $METRICS"
    is "$STATUS" 403 "the metrics token does not open $p"
done
req GET /api/v1/executions
is "$STATUS" 401 "with admin_token set, loopback needs it too"

for i in $(seq 10); do
    via 198.51.100.7 GET /api/v1/executions -H "Authorization: Bearer wrong-token-$i-0123456789"
    [ "$STATUS" = 403 ] || break
done
is "$STATUS" 403 "ten wrong admin tokens are refused with 403"
via 198.51.100.7 GET /api/v1/executions -H "Authorization: Bearer $ADMIN"
is "$STATUS" 429 "then even the right token gets 429 from that address"
is "$(jq_get .error.code)" too_many_failures "with the JSON envelope"
like "$(header Retry-After)" '^[1-9][0-9]*$' "and Retry-After"
via 198.51.100.7 GET /metrics -H "Authorization: Bearer $METRICS"
is "$STATUS" 429 "the metrics token too, from that address"
via 198.51.100.8 GET /api/v1/executions -H "Authorization: Bearer $ADMIN"
is "$STATUS" 200 "another address is not affected"
req GET /api/v1/executions -H "Authorization: Bearer $ADMIN"
is "$STATUS" 200 "nor a direct loopback client"

base=$BASE; BASE="http://127.0.0.1:$NPORT/plain"
req GET /api/v1/executions -H "Authorization: Bearer $ADMIN"
BASE=$base
is "$STATUS" 200 "the admin token works through a proxy that adds no header"

# Wrong tokens sent all at once get no more than ten refusals between them.
# The budget refills one every 6 s: a slow run may earn one more per 6 s.
urls=()
for _ in $(seq 30); do urls+=(-o /dev/null "http://127.0.0.1:$NPORT/api/v1/executions"); done
t0=$(date +%s)
codes=$(curl -s --parallel --parallel-immediate --parallel-max 30 --max-time 30 \
    -w '%{http_code}\n' -H 'X-Test-Client: 198.51.100.30' \
    -H 'Authorization: Bearer wrong-token-at-once-0123456789' "${urls[@]}")
t1=$(date +%s)
n403=$(printf '%s\n' "$codes" | grep -c '^403$')
n429=$(printf '%s\n' "$codes" | grep -c '^429$')
diag "30 wrong tokens at once: $n403 refused with 403, $n429 with 429 in $((t1 - t0)) s"
check "30 wrong tokens at once are refused with 403 at most 10 times (got $n403)" \
    [ "$n403" -ge 1 -a "$n403" -le $((10 + (t1 - t0 + 1) / 6)) ]
is "$((n403 + n429))" 30 "and with 429 otherwise"

# ---- metrics_public ----
stop_sluiced TERM
stop_nginx
conf "admin_token = \"$ADMIN\"; metrics_public = true;"
start_sluiced || { fail "sluiced restarts with metrics_public"; done_testing; exit 1; }
start_nginx || { fail "nginx restarts"; done_testing; exit 1; }
via 198.51.100.7 GET /metrics
is "$STATUS" 200 "metrics_public: /metrics without a token"
via 198.51.100.7 GET /api/v1/executions
is "$STATUS" 401 "metrics_public opens nothing else"
# An untrusted proxy names no client: what comes through it is throttled
# apart from the host's own direct requests.
for i in $(seq 10); do
    via 198.51.100.7 GET /api/v1/executions -H "Authorization: Bearer wrong-token-$i-0123456789"
done
via 198.51.100.5 GET /api/v1/executions -H "Authorization: Bearer $ADMIN"
is "$STATUS" 429 "wrong tokens through an untrusted proxy throttle what comes through it"
req GET /api/v1/executions -H "Authorization: Bearer $ADMIN"
is "$STATUS" 200 "but not a direct loopback client"
stop_nginx

# ---- settings are checked with file:line ----
conf "metrics_token = \"short\";"
out=$("$SLUICED" --check-config -c "$T/sluice.conf" 2>&1)
like "$out" 'sluice\.conf:[0-9]+: server\.metrics_token: must be at least 16 characters' \
    "a short metrics_token is refused with file:line"
conf "metrics_public = \"yes\";"
out=$("$SLUICED" --check-config -c "$T/sluice.conf" 2>&1)
like "$out" 'sluice\.conf:[0-9]+: server\.metrics_public: must be true or false' \
    "metrics_public takes a boolean"
conf "admin_token = \"$ADMIN\"; metrics_token = \"$ADMIN\";"
out=$("$SLUICED" --check-config -c "$T/sluice.conf" 2>&1)
like "$out" 'sluice\.conf:[0-9]+: server\.metrics_token: must differ from server\.admin_token' \
    "the metrics token is not the admin token"

# ---- POST /api/v1/reload answers with the outcome ----
stop_sluiced TERM
conf ""
start_sluiced || { fail "sluiced restarts for reloads"; done_testing; exit 1; }
req POST /api/v1/reload
is "$STATUS" 200 "a good reload answers 200"
is "$(jq_get '.data.reload + " " + (.data.flows|tostring) + " " + (.data.triggers|tostring)')" \
    "done 3 4" "with a summary of the new configuration"
sed -i 's/executor = "shell"; config = { argv = \["\/bin\/false"\]/executer = "shell"; config = { argv = ["\/bin\/false"]/' \
    "$T/sluice.conf"
req POST /api/v1/reload
is "$STATUS" 422 "a rejected reload answers 422"
is "$(jq_get .error.code)" config_invalid "with its code"
like "$(jq_get '.data.errors[0]')" 'sluice\.conf:[0-9]+: flow: unknown setting "executer"' \
    "and the file:line error"
req POST /hooks/bad -d x
is "$STATUS" 500 "the old configuration keeps serving"

# A reload that takes long holds no HTTP thread (http_threads = 1): its
# configuration reads a FIFO that is written only once health has answered.
conf ""
mkfifo "$T/desc"
sed -i "s#{ id = \"bad\"; executor#{ id = \"bad\"; description = \"@file:$T/desc\"; executor#" \
    "$T/sluice.conf"
curl -sS -o "$T/reload.body" -w '%{http_code}' --max-time 30 -X POST "$BASE/api/v1/reload" \
    > "$T/reload.status" &
CURL_PID=$!
check "the reload has begun" wait_for "reload begins" 10 \
    sh -c "[ \$(grep -c 'reload: reading' '$T/sluiced.log') -ge 3 ]"
req GET /healthz
is "$STATUS" 200 "the only HTTP thread answers while the reload waits"
check "the reload request is still waiting" kill -0 "$CURL_PID"
echo "the failing flow" > "$T/desc"
wait "$CURL_PID"
is "$(cat "$T/reload.status")" 200 "the waiting request gets the outcome"
req GET /api/v1/flows
is "$(jq_get '.data[] | select(.id == "bad") | .description')" "the failing flow" \
    "and the reload is in force"

# Reloads parked when sluiced is told to stop are answered, not dropped.
rm -f "$T/desc"; mkfifo "$T/desc"
curl -sS -o /dev/null -w '%{http_code}' --max-time 30 -X POST "$BASE/api/v1/reload" \
    > "$T/reload.status" &
CURL_PID=$!
check "a second slow reload has begun" wait_for "reload begins" 10 \
    sh -c "[ \$(grep -c 'reload: reading' '$T/sluiced.log') -ge 4 ]"
curl -sS -o /dev/null -w '%{http_code}' --max-time 30 -X POST "$BASE/api/v1/reload" \
    > "$T/reload2.status" &
CURL2_PID=$!
wait_for "a second request parks" 10 \
    sh -c "[ \$(grep -c 'reload requested through the API' '$T/sluiced.log') -ge 5 ]"
kill -TERM "$SLUICE_PID"
# Whichever comes first, the second reload or the shutdown, it must not
# wait for a writer: one stays there. A reader that is gone must not kill
# it (SIGPIPE).
( trap '' PIPE; while :; do echo x > "$T/desc"; done ) 2>/dev/null &
WRITER_PID=$!
wait "$CURL_PID"
is "$(cat "$T/reload.status")" 200 "the reload in progress still answers"
wait "$CURL2_PID"
like "$(cat "$T/reload2.status")" '^(200|503)$' "the request parked behind it is answered"
if wait_for "sluiced stops" 30 sh -c "! kill -0 $SLUICE_PID"; then
    wait "$SLUICE_PID"
    is "$?" 0 "sluiced exits 0 with reload requests parked"
else
    fail "sluiced exits 0 with reload requests parked"
    kill -KILL "$SLUICE_PID"
    wait "$SLUICE_PID"
fi
SLUICE_PID=
kill "$WRITER_PID" 2>/dev/null
wait "$WRITER_PID" 2>/dev/null
rm -f "$T/desc"

# ---- query parameters ----
conf ""
start_sluiced || { fail "sluiced restarts for parameters"; done_testing; exit 1; }
req POST /hooks/ok -d x
OK_ID=$(jq_get .data.id)
req POST /hooks/bad -d x
req POST /hooks/bad -d x
while read -r path want; do
    req GET "$path"
    is "$STATUS" 400 "GET $path is 400"
    like "$(jq_get .error.message)" "$want" "GET $path says what is allowed"
done <<EOF
/api/v1/executions?state=bogus queued, running, succeeded, failed, timed_out, cancelled
/api/v1/executions?stat=failed unknown query parameter "stat"; this endpoint takes flow, trigger, state, since, until, limit, cursor
/api/v1/executions?limit=0 limit must be a whole number from 1 to 500
/api/v1/executions?limit=501 limit must be a whole number from 1 to 500
/api/v1/executions?limit=10x limit must be a whole number from 1 to 500
/api/v1/executions?state=failed&state=queued "state" is given more than once
/api/v1/executions?since=yesterday RFC 3339
/api/v1/executions?until=2026-01-01T00:00:00+02:00 RFC 3339
/api/v1/executions?since=2000&until=1000 since is after until
/api/v1/executions?cursor=zzz next_cursor
/api/v1/executions?flow= flow key
/api/v1/executions/$OK_ID?x=1 takes no query parameters
/api/v1/executions/$OK_ID/logs?follow=yes follow takes
/api/v1/executions/$OK_ID/logs?tail=5 takes follow
/api/v1/flows?all=1 takes no query parameters
/api/v1/triggers?all=1 takes no query parameters
/metrics?x=1 takes no query parameters
/healthz?x=1 takes no query parameters
EOF
req POST "/api/v1/executions/$OK_ID/replay?now=1"
is "$STATUS" 400 "replay takes no query parameters"
req POST "/api/v1/reload?force=1"
is "$STATUS" 400 "reload takes no query parameters"
req GET "/api/v1/executions?state=failed&limit=1"
is "$STATUS" 200 "known filters are answered"
is "$(jq_get '.data.executions | length')" 1 "limit is applied"
is "$(jq_get '.data.executions[0].state')" failed "state is applied"
cursor=$(jq_get .data.next_cursor)
req GET "/api/v1/executions?state=failed&limit=1&cursor=$cursor"
is "$(jq_get '.data.executions | length')" 1 "a next_cursor is a valid cursor"
req GET "/api/v1/executions?flow=team/ok&since=2000-01-01T00:00:00.5Z"
is "$(jq_get '.data.executions[0].flow')" team/ok "flow and an RFC 3339 since are answered"

# ---- /metrics passes promtool, with a histogram per flow ----
req GET /metrics
is "$STATUS" 200 "metrics answer"
if [ -x "$PROMTOOL" ]; then
    out=$(printf '%s\n' "$BODY" | "$PROMTOOL" check metrics 2>&1)
    is "$?:$out" "0:" "promtool check metrics finds nothing"
else
    skip "promtool check metrics" "no promtool"
fi
for f in team/ok bad; do
    like "$BODY" "sluice_execution_duration_seconds_bucket\\{flow=\"$f\",le=\"0.005\"\\} [0-9]+" \
        "flow $f has buckets"
    like "$BODY" "sluice_execution_duration_seconds_bucket\\{flow=\"$f\",le=\"\\+Inf\"\\} [0-9]+" \
        "flow $f has a +Inf bucket"
    like "$BODY" "sluice_execution_duration_seconds_sum\\{flow=\"$f\"\\} [0-9]+\\.[0-9]{3}" \
        "flow $f has a sum"
done
like "$BODY" 'sluice_execution_duration_seconds_count\{flow="team/ok"\} 1' "one run of team/ok"
like "$BODY" 'sluice_execution_duration_seconds_count\{flow="bad"\} 2' "two runs of bad"
like "$BODY" 'sluice_execution_duration_seconds_bucket\{flow="bad",le="\+Inf"\} 2' \
    "the +Inf bucket counts them all"
done_testing
