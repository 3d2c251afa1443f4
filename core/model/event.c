/*
 * event.c - building the event JSON from a request.
 */
#include "event.h"

#include "jsonout.h"
#include "jsonscan.h"
#include "units.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const secret_headers[] = {"authorization",
                                             "proxy-authorization",
                                             "cookie",
                                             "x-api-key",
                                             "x-hub-signature",
                                             "x-hub-signature-256",
                                             "webhook-signature",
                                             "stripe-signature",
                                             "x-slack-signature",
                                             "x-gitlab-token",
                                             "x-webhook-signature",
                                             "x-signature",
                                             NULL};

int event_header_is_secret(char *const *extra, const char *lower_name)
{
    for (const char *const *p = secret_headers; *p; p++)
        if (strcmp(lower_name, *p) == 0)
            return 1;
    for (char *const *p = extra; p && *p; p++)
        if (strcmp(lower_name, *p) == 0)
            return 1;
    return 0;
}

const char *event_header(const http_request *rq, const char *name)
{
    for (size_t i = 0; i < rq->n_headers; i++)
        if (strcasecmp(rq->headers[i].name, name) == 0)
            return rq->headers[i].value;
    return NULL;
}

typedef struct header_ix {
    const char *name;
    size_t i;
} header_ix;

static int by_name(const void *a, const void *b)
{
    const header_ix *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Sorting indices keeps this O(n log n): a request may carry thousands of
 * tiny headers within the connection's memory. */
void event_fold_headers(http_request *rq)
{
    size_t n = rq->n_headers;
    if (n < 2)
        return;
    header_ix *hx = xcalloc(n, sizeof(header_ix));
    for (size_t i = 0; i < n; i++)
        hx[i] = (header_ix){rq->headers[i].name, i};
    qsort(hx, n, sizeof(header_ix), by_name);
    size_t *ix = xcalloc(n, sizeof(size_t));
    for (size_t i = 0; i < n; i++)
        ix[i] = hx[i].i;
    free(hx);
    unsigned char *drop = NULL;
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && strcmp(rq->headers[ix[a]].name, rq->headers[ix[b]].name) == 0)
            b++;
        if (b - a > 1) {
            if (!drop)
                drop = xcalloc(n, 1);
            if (!rq->header_repeated)
                rq->header_repeated = xcalloc(n, 1);
            size_t len = 0;
            for (size_t k = a; k < b; k++)
                len += strlen(rq->headers[ix[k]].value) + 2;
            char *v = xmalloc(len + 1), *o = v;
            for (size_t k = a; k < b; k++) {
                kv *h = &rq->headers[ix[k]];
                if (k > a) {
                    memcpy(o, ", ", 2);
                    o += 2;
                }
                size_t l = strlen(h->value);
                memcpy(o, h->value, l);
                o += l;
                if (k > a)
                    drop[ix[k]] = 1;
            }
            *o = 0;
            free(rq->headers[ix[a]].value);
            rq->headers[ix[a]].value = v;
            rq->header_repeated[ix[a]] = 1;
        }
        a = b;
    }
    free(ix);
    if (!drop)
        return;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (drop[i]) {
            free(rq->headers[i].name);
            free(rq->headers[i].value);
            continue;
        }
        rq->headers[k] = rq->headers[i];
        rq->header_repeated[k++] = rq->header_repeated[i];
    }
    rq->n_headers = k;
    free(drop);
}

int event_header_repeated(const http_request *rq, const char *name)
{
    for (size_t i = 0; rq->header_repeated && i < rq->n_headers; i++)
        if (strcasecmp(rq->headers[i].name, name) == 0)
            return rq->header_repeated[i];
    return 0;
}

void event_request_free(http_request *rq)
{
    free(rq->path);
    free(rq->query);
    for (size_t i = 0; i < rq->n_headers; i++) {
        free(rq->headers[i].name);
        free(rq->headers[i].value);
    }
    free(rq->headers);
    free(rq->header_repeated);
    for (size_t i = 0; i < rq->n_params; i++) {
        free(rq->params[i].name);
        free(rq->params[i].value);
    }
    free(rq->params);
    free(rq->body);
}

int event_parse_query(http_request *rq, char *err, size_t errlen)
{
    if (!rq->query || !*rq->query)
        return 0;
    size_t cap = 8;
    rq->params = xcalloc(cap, sizeof(kv));
    const char *p = rq->query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > 0) {
            if (rq->n_params == EVENT_MAX_QUERY_PARAMS) {
                snprintf(err, errlen, "too many query parameters (the limit is %d)",
                         EVENT_MAX_QUERY_PARAMS);
                return -1;
            }
            const char *eq = memchr(p, '=', len);
            size_t klen = eq ? (size_t)(eq - p) : len;
            char *k = router_decode(p, klen, 1);
            char *v = eq ? router_decode(eq + 1, len - klen - 1, 1) : xstrdup("");
            if (!k || !v) {
                free(k);
                free(v);
                snprintf(err, errlen, "invalid percent-encoding in the query string");
                return -1;
            }
            if (rq->n_params == cap)
                rq->params = xrealloc(rq->params, (cap *= 2) * sizeof(kv));
            rq->params[rq->n_params].name = k;
            rq->params[rq->n_params].value = v;
            rq->n_params++;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    return 0;
}

/* The media type, lower-cased, without parameters ("application/json"). */
static void media_type(const char *ct, char *out, size_t len)
{
    size_t i = 0;
    if (ct)
        for (; ct[i] && ct[i] != ';' && i + 1 < len; i++)
            out[i] = (char)((ct[i] >= 'A' && ct[i] <= 'Z') ? ct[i] + 32 : ct[i]);
    while (i > 0 && out[i - 1] == ' ')
        i--;
    out[i] = 0;
}

static int is_json_type(const char *mt)
{
    size_t n = strlen(mt);
    return strcmp(mt, "application/json") == 0 || (n > 5 && strcmp(mt + n - 5, "+json") == 0);
}

static int valid_utf8(const unsigned char *s, size_t n)
{
    json_t *j = json_stringn((const char *)s, n);
    int ok = j != NULL;
    json_decref(j);
    return ok;
}

/* Append value under key: the first value is a string, later ones make an
 * array, so repeated form fields are never silently dropped. */
static void add_multi(json_t *obj, const char *key, const char *value)
{
    json_t *v = json_string(value);
    if (!v)
        return;
    json_t *old = json_object_get(obj, key);
    if (!old) {
        json_object_set_new(obj, key, v);
    } else if (json_is_array(old)) {
        json_array_append_new(old, v);
    } else {
        json_t *a = json_array();
        json_array_append(a, old);
        json_array_append_new(a, v);
        json_object_set_new(obj, key, a);
    }
}

static json_t *parse_form(const unsigned char *body, size_t len, char *err, size_t errlen)
{
    /* A raw NUL would end the decoded C string early and silently drop the
     * rest of its value, as %00 would: both are refused. */
    if (memchr(body, 0, len)) {
        snprintf(err, errlen, "invalid form body: a NUL byte");
        return NULL;
    }
    json_t *o = json_object();
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && body[j] != '&')
            j++;
        if (j > i) {
            const char *p = (const char *)body + i;
            const char *eq = memchr(p, '=', j - i);
            size_t klen = eq ? (size_t)(eq - p) : j - i;
            char *k = router_decode(p, klen, 1);
            char *v = eq ? router_decode(eq + 1, j - i - klen - 1, 1) : xstrdup("");
            if (!k || !v || !valid_utf8((unsigned char *)k, strlen(k)) ||
                !valid_utf8((unsigned char *)v, strlen(v))) {
                free(k);
                free(v);
                json_decref(o);
                snprintf(err, errlen, "invalid form body: bad percent-encoding or not UTF-8");
                return NULL;
            }
            add_multi(o, k, v);
            free(k);
            free(v);
        }
        i = j + 1;
    }
    return o;
}

/*
 * Judge a JSON body (jsonscan.h): 0, or -1 with the message a sender gets.
 * With tree, *tree gets the body as a tree; with fn, a top-level "function"
 * string, decoded (malloc'd), or NULL.
 */
static int check_json(const unsigned char *bytes, size_t len, int flags, json_t **tree, char **fn,
                      char *err, size_t errlen)
{
    json_scan_info info;
    const char *text = (const char *)bytes;
    int rc;
    if (tree)
        rc = (*tree = json_scan_tree(text, len, EVENT_MAX_JSON_DEPTH, flags, &info)) ? 0 : -1;
    else
        rc = json_scan(text, len, EVENT_MAX_JSON_DEPTH, flags, &info);
    if (rc < 0) {
        if (!info.error)
            xalloc_die(len);
        size_t line = 1, col = 1;
        for (size_t i = 0; i < info.error_at && i < len; i++, col++)
            if (bytes[i] == '\n')
                line++, col = 0;
        if (info.too_deep)
            snprintf(err, errlen, "JSON body nested deeper than %d levels", EVENT_MAX_JSON_DEPTH);
        else if (info.key[0])
            snprintf(err, errlen,
                     "JSON body has a duplicate key \"%s\" (line %zu "
                     "column %zu; refused: the trigger's json_duplicate_keys is \"reject\")",
                     info.key, line, col);
        else
            snprintf(err, errlen, "malformed JSON body at line %zu column %zu (byte %zu): %s", line,
                     col, info.error_at, info.error);
        return -1;
    }
    if (fn && info.function) {
        json_t *s = json_scan_tree(info.function, info.function_len, 1, 0, NULL);
        if (!s)
            xalloc_die(info.function_len);
        *fn = xstrndup(json_string_value(s), json_string_length(s));
        json_decref(s);
    }
    return 0;
}

static int body_json(const unsigned char *bytes, size_t len, const char *content_type, int flags,
                     char **fn, json_t **body_out, json_t **raw_out, char *err, size_t errlen)
{
    char mt[128];
    media_type(content_type, mt, sizeof(mt));
    json_t *body = json_null();
    json_t *raw = json_null();
    *body_out = *raw_out = NULL;
    if (is_json_type(mt)) {
        /* An empty body is not JSON either: a JSON trigger refuses it. */
        if (check_json(bytes, len, flags, &body, fn, err, errlen) < 0)
            return -1;
    } else if (len == 0) {
        /* nothing */
    } else if (strcmp(mt, "application/x-www-form-urlencoded") == 0) {
        body = parse_form(bytes, len, err, errlen);
        if (!body)
            return -1;
    } else if ((strncmp(mt, "text/", 5) == 0 || mt[0] == 0) && valid_utf8(bytes, len)) {
        body = json_stringn((const char *)bytes, len);
    } else {
        char *b64 = units_base64_encode(bytes, len);
        raw = json_string(b64);
        free(b64);
    }
    *body_out = body;
    *raw_out = raw;
    return 0;
}

int event_body_json(const unsigned char *bytes, size_t len, const char *content_type,
                    json_t **body_out, json_t **raw_out, char *err, size_t errlen)
{
    return body_json(bytes, len, content_type, 0, NULL, body_out, raw_out, err, errlen);
}

/*
 * The body into ev. A JSON body is only checked unless a tree is asked for:
 * "body" stays null (the received text takes its place in the event,
 * event_take_body). Either way *fn gets a top-level "function" string of a
 * JSON body (its own copy).
 */
static int parse_body(json_t *ev, const http_request *rq, const trigger_def *t, const char *ct,
                      int tree, char **fn, char *err, size_t errlen)
{
    char mt[128];
    media_type(ct, mt, sizeof(mt));
    int flags = t->json_duplicate_keys ? JSON_SCAN_DUPLICATES : 0;
    if (!tree && is_json_type(mt)) {
        if (check_json(rq->body, rq->body_len, flags, NULL, fn, err, errlen) < 0)
            return -1;
        json_object_set_new(ev, "body", json_null());
        json_object_set_new(ev, "raw_body_b64", json_null());
        return 0;
    }
    json_t *body, *raw;
    if (body_json(rq->body, rq->body_len, ct, flags, fn, &body, &raw, err, errlen) < 0)
        return -1;
    json_object_set_new(ev, "body", body);
    json_object_set_new(ev, "raw_body_b64", raw);
    return 0;
}

/*
 * WayScript-style positional variables: a "variables" array in a JSON body,
 * or repeated "variables" query parameters, mapped in order onto the names
 * the trigger declares.
 */
static int map_variables(json_t *ev, const http_request *rq, const trigger_def *t, char *err,
                         size_t errlen)
{
    if (t->n_variables == 0) {
        json_object_set_new(ev, "variables", json_object());
        return 0;
    }
    json_t *vals = json_array();
    json_t *b = json_object_get(ev, "body");
    json_t *bv = json_is_object(b) ? json_object_get(b, "variables") : NULL;
    if (json_is_array(bv)) {
        json_array_extend(vals, bv);
    } else {
        for (size_t i = 0; i < rq->n_params; i++)
            if (strcmp(rq->params[i].name, "variables") == 0)
                json_array_append_new(vals, json_string(rq->params[i].value));
    }
    json_t *vars = json_object();
    size_t n = json_array_size(vals);
    if (t->n_variables == 0 || n == 0) {
        json_object_set_new(ev, "variables", vars);
        json_decref(vals);
        return 0;
    }
    if (n > t->n_variables) {
        snprintf(err, errlen, "got %zu variables but trigger \"%s\" declares %zu", n, t->id,
                 t->n_variables);
        json_decref(vals);
        json_decref(vars);
        return -1;
    }
    for (size_t i = 0; i < t->n_variables; i++)
        json_object_set(vars, t->variables[i], i < n ? json_array_get(vals, i) : json_null());
    json_object_set_new(ev, "variables", vars);
    json_decref(vals);
    return 0;
}

int event_build(json_t **out, const http_request *rq, const trigger_def *t, char *const *secret,
                const route_match *m, int tree, char *err, size_t errlen)
{
    *out = NULL;
    char *body_fn = NULL;
    tree = tree || t->n_variables > 0; /* positional variables come from inside the body */
    json_t *ev = json_object();
    json_object_set_new(ev, "execution_id", json_null());
    json_object_set_new(ev, "request_id", json_string(rq->request_id));
    json_object_set_new(ev, "trigger", json_string(t->id));
    json_object_set_new(ev, "flow", json_null());
    json_object_set_new(ev, "function", json_null());
    json_object_set_new(ev, "method", json_string(rq->method));
    json_t *path = json_string(rq->path);
    json_object_set_new(ev, "path", path ? path : json_string("/"));

    json_t *params = json_object();
    json_object_set_new(ev, "params", params); /* owned by ev from here, so bad: frees it */
    for (size_t i = 0; m && i < m->n_params; i++) {
        json_t *v = json_string(m->values[i]);
        if (!v) {
            snprintf(err, errlen, "path parameter %s is not valid UTF-8", m->names[i]);
            goto bad;
        }
        json_object_set_new(params, m->names[i], v);
    }

    json_t *query = json_object();
    json_object_set_new(ev, "query", query);
    for (size_t i = 0; i < rq->n_params; i++) {
        json_t *v = json_string(rq->params[i].value);
        if (!v ||
            !valid_utf8((const unsigned char *)rq->params[i].name, strlen(rq->params[i].name))) {
            json_decref(v);
            snprintf(err, errlen, "query parameter is not valid UTF-8");
            goto bad;
        }
        json_t *arr = json_object_get(query, rq->params[i].name);
        if (!arr) {
            arr = json_array();
            json_object_set_new(query, rq->params[i].name, arr);
        }
        json_array_append_new(arr, v);
    }

    json_t *headers = json_object();
    json_object_set_new(ev, "headers", headers);
    for (size_t i = 0; i < rq->n_headers; i++) {
        const char *v = event_header_is_secret(secret, rq->headers[i].name) ? "[redacted]"
                                                                            : rq->headers[i].value;
        json_t *jv = json_string(v);
        if (!jv) /* header bytes that are not UTF-8 are kept as escaped text */
            jv = json_string("[not UTF-8]");
        json_object_set_new(headers, rq->headers[i].name, jv);
    }

    const char *ct = event_header(rq, "content-type");
    json_t *jct = ct ? json_string(ct) : NULL;
    json_object_set_new(ev, "content_type", jct ? jct : json_null());
    if (parse_body(ev, rq, t, ct, tree, &body_fn, err, errlen) < 0)
        goto bad;
    if (map_variables(ev, rq, t, err, errlen) < 0)
        goto bad;

    /* function selects an entry point: query parameter, then body field
     * (of a JSON body as the check saw it: a number there is no function
     * even when the tree holds it as text). */
    const char *fn = NULL;
    for (size_t i = 0; i < rq->n_params && !fn; i++)
        if (strcmp(rq->params[i].name, "function") == 0)
            fn = rq->params[i].value;
    if (!fn)
        fn = body_fn;
    json_t *b = json_object_get(ev, "body");
    if (!fn && !event_body_is_json(rq) && json_is_object(b) &&
        json_is_string(json_object_get(b, "function")))
        fn = json_string_value(json_object_get(b, "function"));
    json_t *jfn = fn ? json_string(fn) : NULL;
    if (jfn)
        json_object_set_new(ev, "function", jfn);
    free(body_fn);
    body_fn = NULL;

    json_object_set_new(ev, "remote_addr",
                        json_string(rq->client_addr[0] ? rq->client_addr : rq->remote_addr));
    char ts[40];
    units_format_time(rq->received_ms, ts, sizeof(ts));
    json_object_set_new(ev, "received_at", json_string(ts));
    *out = ev;
    return 0;
bad:
    free(body_fn);
    json_decref(ev);
    return 400;
}

/* The members of a one-level object's compact text, without its braces. */
static char *members_text(json_t *obj, size_t *len)
{
    size_t n;
    char *s = json_compact(obj, &n);
    if (!s)
        return NULL;
    memmove(s, s + 1, n - 2);
    s[n - 2] = 0;
    *len = n - 2;
    return s;
}

static char *body_members(json_t *body, json_t *raw, size_t *len)
{
    json_t *m = json_object();
    json_object_set(m, "body", body ? body : json_null());
    json_object_set(m, "raw_body_b64", raw ? raw : json_null());
    char *s = members_text(m, len);
    json_decref(m);
    return s;
}

/* `"body":TEXT,"raw_body_b64":null` for received JSON text (see event.h). */
static char *json_text_members(const char *text, size_t n, size_t *len)
{
    static const char head[] = "\"body\":", tail[] = ",\"raw_body_b64\":null";
    char *s = malloc(sizeof(head) - 1 + n + sizeof(tail));
    if (!s)
        return NULL;
    size_t k = sizeof(head) - 1;
    memcpy(s, head, k);
    for (size_t i = 0; i < n; i++)
        s[k++] = text[i] == '\n' || text[i] == '\r' ? ' ' : text[i];
    memcpy(s + k, tail, sizeof(tail));
    *len = k + sizeof(tail) - 1;
    return s;
}

char *event_take_body(json_t *base, const char *json_text, size_t json_len, size_t *len)
{
    char *s = json_text ? json_text_members(json_text, json_len, len)
                        : body_members(json_object_get(base, "body"),
                                       json_object_get(base, "raw_body_b64"), len);
    json_object_del(base, "body");
    json_object_del(base, "raw_body_b64");
    return s;
}

int event_body_is_json(const http_request *rq)
{
    char mt[128];
    media_type(event_header(rq, "content-type"), mt, sizeof(mt));
    return is_json_type(mt);
}

char *event_body_members(const unsigned char *bytes, size_t len, const char *content_type,
                         size_t *mlen, char *err, size_t errlen)
{
    char mt[128];
    media_type(content_type, mt, sizeof(mt));
    /* A JSON body was carried as received; rebuilt, it must read the same.
     * It was judged at the door, under its trigger's json_duplicate_keys:
     * here it need only still be JSON. */
    if (is_json_type(mt)) {
        if (check_json(bytes, len, JSON_SCAN_DUPLICATES, NULL, NULL, err, errlen) < 0)
            return NULL;
        return json_text_members((const char *)bytes, len, mlen);
    }
    json_t *body, *raw;
    if (event_body_json(bytes, len, content_type, &body, &raw, err, errlen) < 0)
        return NULL;
    char *s = body_members(body, raw, mlen);
    json_decref(body);
    json_decref(raw);
    return s;
}

char *event_join(const char *stored, size_t stored_len, const char *members, size_t mlen,
                 size_t *len)
{
    /* stored is a compact object: "{...}", or "{}" with no member at all. */
    if (stored_len < 2 || stored[stored_len - 1] != '}')
        return NULL;
    size_t head = stored_len - 1;
    int comma = stored_len > 2;
    char *s = malloc(head + (size_t)comma + mlen + 2);
    if (!s)
        return NULL;
    memcpy(s, stored, head);
    if (comma)
        s[head++] = ',';
    memcpy(s + head, members, mlen);
    s[head + mlen] = '}';
    s[head + mlen + 1] = 0;
    *len = head + mlen + 1;
    return s;
}

char *event_for_flow(json_t *base, const char *exec_id, const flow_def *f, size_t *len)
{
    json_object_set_new(base, "execution_id", json_string(exec_id));
    json_object_set_new(base, "flow", json_string(f->key));
    *len = 0;
    return json_compact(base, len);
}

json_t *event_inputs(const char *event, size_t len)
{
    /* Read as sluiced reads bodies: a number jansson cannot hold is text. */
    json_t *ev =
        event ? json_scan_tree(event, len, EVENT_MAX_JSON_DEPTH + 8, JSON_SCAN_DUPLICATES, NULL)
              : NULL;
    json_t *in = json_object();
    static const char *const keys[] = {"params", "query", "body", "variables", "function", NULL};
    for (const char *const *k = keys; *k; k++) {
        json_t *v = json_object_get(ev, *k);
        json_object_set(in, *k, v ? v : json_null());
    }
    json_decref(ev);
    return in;
}
