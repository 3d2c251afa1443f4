/*
 * fuzz_event.c - the whole request path, from method, target, headers and
 * body to the stored event and back through recovery, in http.c's order:
 * event_parse_query, prematch_route (capability URLs), router_match,
 * gate_check_route (allowlist, path keys), gate_check_headers, event_build,
 * gate_check_body (keys, signatures, filters), event_take_body,
 * event_for_flow and event_join; then exec_from_store as recovery does.
 *
 * Input: a method line, a target line ("@P" stands for the kestra path
 * key, "@K" for the key of /k, "@T" for the capability token of "cap"),
 * "name: value" header lines up to an empty line ("@SIG" as a value becomes the body's correct GitHub signature,
 * "@K" the key), then the body. Checks, for every accepted request:
 *   - the event is one line of JSON text, one object, with "body" and
 *     "raw_body_b64" its last two members;
 *   - a JSON body received verbatim is, parsed from the event, the value
 *     the received bytes parse to;
 *   - no key survives: not the path key in "path" or "params", not a
 *     capability token in "path", not the key of /k where it was
 *     presented (query, body, header), no secret header's value;
 *   - the client address behind trusted proxies is the peer, or an
 *     X-Forwarded-For entry with only trusted proxies to its right;
 *   - what recovery rebuilds (exec_from_store) is byte for byte the event
 *     that was accepted, and its inputs text reads as the inputs parsed
 *     from the event.
 */
#include "fuzz.h"

#include "auth.h"
#include "codec.h"
#include "captoken.h"
#include "config.h"
#include "event.h"
#include "exec.h"
#include "exec_impl.h"
#include "gate.h"
#include "jsonscan.h"
#include "log.h"
#include "prematch.h"
#include "ratelimit.h"
#include "router.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_KEY "pathkey-Zq7"
#define KEY "sekrit-K3y"
#define GH_SECRET "gh-s3cr3t"

static const char conf[] =
    "server: { state_dir = \"%s/state\"; };\n"
    "flows = ( { id = \"f\"; executor = \"shell\"; },\n"
    "          { id = \"g\"; namespace = \"ns\"; executor = \"shell\"; } );\n"
    "triggers = (\n"
    "  { id = \"plain\"; flows = [\"f\", \"ns/g\"]; path = \"/hooks/{name}\"; },\n"
    "  { id = \"static\"; flows = [\"f\"]; path = \"/hooks/status\"; },\n"
    "  { id = \"kestra\"; flows = [\"f\"];\n"
    "    kestra = { namespace = \"n\"; flow = \"d\"; key = \"" PATH_KEY "\"; }; },\n"
    "  { id = \"keys\"; flows = [\"f\"]; path = \"/k\";\n"
    "    auth = { keys = [\"" KEY "\"]; max_failures = 1000000;\n"
    "             key_in = [\"header:X-Key\", \"query:key\", \"body:key\", \"bearer\"]; }; },\n"
    "  { id = \"gh\"; flows = [\"f\"]; path = \"/gh/{repo}\";\n"
    "    auth = { hmac = { preset = \"github\"; secrets = [\"" GH_SECRET "\"]; };\n"
    "             max_failures = 1000000; }; },\n"
    "  { id = \"vars\"; flows = [\"f\"]; path = \"/v/{a}/{b}\"; variables = [\"x\", \"y\"]; },\n"
    "  { id = \"filtered\"; flows = [\"f\"]; path = \"/flt\";\n"
    "    filter = { any = ( { path = \"body.ref\"; matches = \"^refs/heads/\"; },\n"
    "                       { header = \"X-Event\"; equals = [\"push\", \"ping\"]; } ); }; },\n"
    "  { id = \"idem\"; flows = [\"f\"]; path = \"/idem\"; idempotency_key = \"body:id\"; },\n"
    "  { id = \"cap\"; flows = [\"f\"]; capability = true; }\n"
    ");\n";

static sluice_config *cfg;
static char token[CAPTOKEN_LEN + 1];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_level(-1);
    char err[1024], text[sizeof(conf) + 300];
    int n = snprintf(text, sizeof(text), conf, fuzz_tmpdir());
    cfg = fuzz_load_config(text, (size_t)n, err, sizeof(err));
    if (!cfg || prematch_sync_tokens(cfg) < 0 ||
        prematch_token_get(cfg, "cap", token, sizeof(token)) != 0) {
        fprintf(stderr, "fuzz_event: %s\n", cfg ? "no capability token" : err);
        abort();
    }
    return 0;
}

/* s with every "@P", "@K" and "@T" replaced by the keys they stand for. */
static char *expand(const char *s)
{
    size_t n = strlen(s);
    /* Two bytes become at most CAPTOKEN_LEN. */
    char *o = malloc(n * (CAPTOKEN_LEN / 2 + 1) + 1), *w = o;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '@' && s[i + 1] == 'P') {
            w += sprintf(w, "%s", PATH_KEY);
            i++;
        } else if (s[i] == '@' && s[i + 1] == 'T') {
            w += sprintf(w, "%s", token);
            i++;
        } else if (s[i] == '@' && s[i + 1] == 'K') {
            w += sprintf(w, "%s", KEY);
            i++;
        } else {
            *w++ = s[i];
        }
    }
    *w = 0;
    return o;
}

static void github_signature(const unsigned char *body, size_t len, char *out)
{
    const unsigned char *parts[1] = {body};
    size_t lens[1] = {len};
    unsigned char mac[AUTH_MAC_MAX];
    int ml = auth_hmac_compute(AUTH_ALG_SHA256, (const unsigned char *)GH_SECRET, strlen(GH_SECRET),
                               parts, lens, 1, mac);
    strcpy(out, "sha256=");
    codec_hex_encode(mac, (size_t)ml, out + 7);
}

/* One X-Forwarded-For entry as an address text: no spaces, brackets or
 * port. "" when it is none. */
static void xff_norm(const char *s, size_t len, char *out, size_t outlen)
{
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len && s[0] == '[') {
        const char *rb = memchr(s, ']', len);
        len = rb ? (size_t)(rb - s - 1) : 0;
        s++;
    } else {
        /* One colon: "address:port"; more: an IPv6 address. */
        const char *colon = memchr(s, ':', len);
        if (colon && !memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)))
            len = (size_t)(colon - s);
    }
    unsigned char a[16];
    snprintf(out, outlen, "%.*s", (int)(len < outlen ? len : outlen - 1), s);
    if (len >= outlen || auth_addr_parse(out, a) < 0)
        out[0] = 0;
}

/*
 * The client behind trusted proxies (auth_client_addr): the peer, or an
 * X-Forwarded-For entry every entry right of which is a trusted proxy, so
 * nothing a sender prepends is believed.
 */
static void check_client_addr(const http_request *rq)
{
    static char *trusted[] = {"127.0.0.0/8", "10.0.0.0/8", "::1", NULL};
    char got[64];
    auth_client_addr(rq, trusted, got, sizeof(got));
    if (strcmp(got, rq->remote_addr) == 0)
        return;
    /* All entries, left to right, of all X-Forwarded-For headers. */
    char list[PREMATCH_MAX_HEADERS + 64] = "";
    size_t n = 0;
    for (size_t i = 0; i < rq->n_headers; i++)
        if (strcmp(rq->headers[i].name, "x-forwarded-for") == 0)
            n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? "," : "",
                                  rq->headers[i].value);
    if (n >= sizeof(list))
        return;
    int found = 0;
    for (char *end = list + strlen(list);;) {
        char *start = end;
        while (start > list && start[-1] != ',')
            start--;
        char norm[64];
        xff_norm(start, (size_t)(end - start), norm, sizeof(norm));
        if (norm[0] && strcmp(norm, got) == 0) {
            found = 1;
            break;
        }
        unsigned char a[16];
        FUZZ_CHECK(norm[0] && auth_addr_parse(norm, a) == 0 && auth_cidr_strv_contains(trusted, a),
                   "client %s chosen from X-Forwarded-For \"%s\" past the untrusted \"%.*s\"", got,
                   list, (int)(end - start), start);
        if (start == list)
            break;
        end = start - 1;
    }
    FUZZ_CHECK(found, "client %s is neither the peer nor in X-Forwarded-For \"%s\"", got, list);
}

static int contains(const char *s, const char *what)
{
    return s && strstr(s, what);
}

/* The invariants of one accepted event (text, len) of trigger t. */
static void check_event(const char *text, size_t len, const http_request *rq, const trigger_def *t,
                        int verbatim)
{
    FUZZ_CHECK(strlen(text) == len, "the event has a NUL byte inside (%zu of %zu)", strlen(text),
               len);
    FUZZ_CHECK(!memchr(text, '\n', len) && !memchr(text, '\r', len),
               "the event is not one line: %s", text);
    /* Read as plugins read it (jsonscan.h: \u0000, numbers beyond what
     * jansson holds); the body is nested one level inside the event. */
    json_scan_info info = {0};
    json_t *ev = json_scan_tree(text, len, 2 * EVENT_MAX_JSON_DEPTH, 0, &info);
    FUZZ_CHECK(ev && json_is_object(ev), "the event is not one JSON object (%s at %zu): %s",
               info.error ? info.error : "out of memory", info.error_at, text);
    /* "body" and "raw_body_b64" are its last two members. */
    const char *k, *last = NULL, *before = NULL;
    json_t *v;
    json_object_foreach(ev, k, v)
    {
        before = last;
        last = k;
    }
    FUZZ_CHECK(before && strcmp(before, "body") == 0 && strcmp(last, "raw_body_b64") == 0,
               "the event ends with %s, %s: %s", before ? before : "-", last ? last : "-", text);

    if (verbatim) {
        json_scan_info binfo = {0};
        json_t *want =
            json_scan_tree((const char *)rq->body, rq->body_len, EVENT_MAX_JSON_DEPTH, 0, &binfo);
        FUZZ_CHECK(want, "a body that is not JSON was taken as JSON (%s): %s",
                   binfo.error ? binfo.error : "out of memory", text);
        FUZZ_CHECK(json_equal(want, json_object_get(ev, "body")),
                   "the received body and the event's body differ: %s", text);
        json_decref(want);
    }

    /* No key survives where it was presented. */
    if (strcmp(t->id, "kestra") == 0) {
        const char *path = json_string_value(json_object_get(ev, "path"));
        FUZZ_CHECK(!contains(path, PATH_KEY), "the path key is in the event's path: %s", text);
        json_object_foreach(json_object_get(ev, "params"), k, v)
            FUZZ_CHECK(!contains(json_string_value(v), PATH_KEY),
                       "the path key is in the event's params: %s", text);
    }
    json_t *headers = json_object_get(ev, "headers");
    json_object_foreach(headers, k, v) if (event_header_is_secret(cfg->secret_headers, k))
        FUZZ_CHECK(json_is_string(v) && strcmp(json_string_value(v), "[redacted]") == 0,
                   "secret header %s reached the event: %s", k, text);
    if (strcmp(t->id, "keys") == 0) {
        json_t *q = json_object_get(json_object_get(ev, "query"), "key");
        for (size_t i = 0; i < json_array_size(q); i++)
            FUZZ_CHECK(!contains(json_string_value(json_array_get(q, i)), KEY),
                       "the key in the query reached the event: %s", text);
        json_t *b = json_object_get(ev, "body");
        FUZZ_CHECK(!json_is_object(b) ||
                       !contains(json_string_value(json_object_get(b, "key")), KEY),
                   "the key in the body reached the event: %s", text);
        FUZZ_CHECK(!contains(json_string_value(json_object_get(headers, "x-key")), KEY),
                   "the key header reached the event: %s", text);
    }
    if (strcmp(t->id, "cap") == 0)
        FUZZ_CHECK(!contains(json_string_value(json_object_get(ev, "path")), token),
                   "the capability token reached the event: %s", text);
    if (strcmp(t->id, "gh") == 0)
        FUZZ_CHECK(!json_object_get(headers, "x-hub-signature-256") ||
                       strcmp(json_string_value(json_object_get(headers, "x-hub-signature-256")),
                              "[redacted]") == 0,
                   "the signature reached the event: %s", text);
    json_decref(ev);
}

/* Recovery: what the store kept rebuilds the accepted event exactly. */
static void check_recovery(trigger_def *t, flow_def *f, const char *text, size_t len, char *stored,
                           size_t slen, exec_body *body, const char *fn, const http_request *rq)
{
    json_t *hdrs = json_object();
    for (size_t i = 0; i < rq->n_headers; i++)
        if (!event_header_is_secret(cfg->secret_headers, rq->headers[i].name))
            json_object_set_new(hdrs, rq->headers[i].name,
                                json_stringn(rq->headers[i].value, strlen(rq->headers[i].value)));
    char err[512] = "";
    int raw = stored != NULL;
    char *kept = raw ? stored : strndup(text, len);
    size_t klen = raw ? slen : len;
    /* Unbound: nothing runs it, and cfg outlives it. */
    flow_rt rt = {.def = f};
    sluice_exec *e =
        exec_from_store(NULL, t, &rt, "0190a8c2-0000-7000-8000-000000000000", "fuzz", kept, klen,
                        raw, body, fn, hdrs, rq->received_ms, err, sizeof(err));
    FUZZ_CHECK(e, "an accepted request cannot be recovered: %s (event %s)", err, text);
    FUZZ_CHECK(e->event_len == len && memcmp(e->event, text, len) == 0,
               "recovery rebuilt another event:\n  accepted  %s\n  recovered %.*s", text,
               (int)e->event_len, e->event);
    size_t ilen;
    char *inputs = exec_inputs_text(e, &ilen);
    if (inputs) {
        json_error_t jerr;
        json_t *got = json_loadb(inputs, ilen, JSON_ALLOW_NUL, &jerr);
        json_t *want = event_inputs(e->event, e->event_len);
        FUZZ_CHECK(got && json_equal(got, want),
                   "the inputs text %s is not the event's inputs (%s)", inputs, text);
        json_decref(got);
        json_decref(want);
        free(inputs);
    }
    exec_unref(e);
    json_decref(hdrs);
}

static void accept(http_request *rq, trigger_def *t, route_match *m)
{
    char err[1024];
    json_t *base;
    gate_verdict v;
    memset(&v, 0, sizeof(v));
    int tree = (t->idem_key && strncmp(t->idem_key, "body:", 5) == 0) ||
               (t->gate && gate_reads_body(t->gate));
    if (event_build(&base, rq, t, cfg->secret_headers, m, tree, err, sizeof(err)) != 0)
        return;
    if (t->gate && gate_check_body(t->gate, cfg, rq, base, &v) != 0) {
        json_decref(base);
        return;
    }
    const char *fn = json_string_value(json_object_get(base, "function"));
    char *fn_copy = fn ? strdup(fn) : NULL;
    int verbatim = event_body_is_json(rq) && !v.body_redacted;
    size_t mlen = 0;
    char *members =
        event_take_body(base, verbatim ? (const char *)rq->body : NULL, rq->body_len, &mlen);
    FUZZ_CHECK(members, "event_take_body failed");
    exec_body *body = exec_body_new(rq->body_len && !v.body_redacted ? rq->body : NULL,
                                    rq->body_len, event_header(rq, "content-type"));
    int keep_raw = body && body->bytes;
    for (size_t i = 0; i < t->n_flows; i++) {
        size_t slen, len;
        char *stored =
            event_for_flow(base, "0190a8c2-0000-7000-8000-000000000000", t->flows[i], &slen);
        FUZZ_CHECK(stored, "event_for_flow failed");
        char *text = event_join(stored, slen, members, mlen, &len);
        FUZZ_CHECK(text, "event_join refused %s", stored);
        check_event(text, len, rq, t, verbatim);
        if (!keep_raw) {
            free(stored);
            stored = NULL;
        }
        check_recovery(t, t->flows[i], text, len, stored, slen, keep_raw ? body : NULL, fn_copy,
                       rq);
        free(text);
    }
    free(fn_copy);
    exec_body_unref(body);
    free(members);
    json_decref(base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    http_request rq;
    memset(&rq, 0, sizeof(rq));
    snprintf(rq.request_id, sizeof(rq.request_id), "fuzz");
    snprintf(rq.remote_addr, sizeof(rq.remote_addr), "127.0.0.1");
    rq.received_ms = 1765000000000ULL;
    ratelimit_reset();

    char *method = fuzz_line(&in);
    char *line = fuzz_line(&in);
    char *target = expand(line);
    free(line);
    char *q = strchr(target, '?');
    rq.path = q ? strndup(target, (size_t)(q - target)) : strdup(target);
    rq.query = q ? strdup(q + 1) : NULL;
    free(target);
    rq.method = method;
    char *sig_at[64];
    size_t n_sig = 0;
    while (in.n && rq.n_headers < 64) {
        char *h = fuzz_line(&in);
        if (!h[0]) {
            free(h);
            break;
        }
        char *colon = strchr(h, ':');
        if (!colon || colon == h) {
            free(h);
            continue;
        }
        *colon = 0;
        const char *val = colon + 1;
        while (*val == ' ')
            val++;
        rq.headers = realloc(rq.headers, (rq.n_headers + 1) * sizeof(kv));
        char *name = strdup(h);
        for (char *p = name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
        rq.headers[rq.n_headers].name = name;
        rq.headers[rq.n_headers].value = expand(val);
        if (strcmp(val, "@SIG") == 0)
            sig_at[n_sig++] = name;
        rq.n_headers++;
        free(h);
    }
    size_t blen;
    char *body = fuzz_rest(&in, &blen);
    rq.body = (unsigned char *)body;
    rq.body_len = blen;
    for (size_t i = 0; i < rq.n_headers; i++)
        for (size_t s = 0; s < n_sig; s++)
            if (rq.headers[i].name == sig_at[s]) {
                free(rq.headers[i].value);
                rq.headers[i].value = malloc(8 + 2 * AUTH_MAC_MAX + 1);
                github_signature(rq.body, rq.body_len, rq.headers[i].value);
            }
    event_fold_headers(&rq); /* as http.c does: one value per name */

    check_client_addr(&rq);
    char err[512];
    route_match m;
    memset(&m, 0, sizeof(m));
    gate_verdict v;
    memset(&v, 0, sizeof(v));
    if (event_parse_query(&rq, err, sizeof(err)) < 0)
        goto out;
    int pre = prematch_route(cfg, &rq, &m, &v);
    if (pre < 0)
        goto out;
    /* A capability URL's token is gone from the path once it is resolved. */
    FUZZ_CHECK(!pre || strcmp(rq.path, "/t/[redacted]") == 0, "capability path %s", rq.path);
    FUZZ_CHECK(!contains(rq.path, token) || !pre, "the token is still in the path %s", rq.path);
    int r = pre ? 1 : router_match(cfg->router, rq.path, &m);
    if (r != 1)
        goto out;
    trigger_def *t = m.target;
    if (t->gate && gate_check_route(t->gate, cfg, &rq, &m, &v) != 0)
        goto out;
    /* Whatever happens next, the path key is gone from the path. */
    FUZZ_CHECK(!contains(rq.path, PATH_KEY) || strcmp(t->id, "kestra") != 0,
               "the path key is still in the path %s", rq.path);
    if (!(config_method_bit(strcmp(method, "HEAD") == 0 ? "GET" : method) & t->methods))
        goto out;
    if (t->gate && gate_check_headers(t->gate, cfg, &rq, &v) != 0)
        goto out;
    accept(&rq, t, &m);
out:
    route_match_clear(&m);
    event_request_free(&rq);
    free(method);
    return 0;
}
