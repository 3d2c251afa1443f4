/*
 * fuzz_filter.c - trigger filters (filter.c): their settings and their
 * evaluation over a request and its event.
 *
 * Input: a filter group in libconfig syntax on one line, "name: value"
 * header lines up to an empty line, then a JSON body. Checks, by the laws
 * of the logic the settings spell: { not = F; } is the opposite of F,
 * { all = (F, F); } is F, { any = (F, { not = F; }); } always holds; a
 * failed filter always says why; filter_lookup finds what the body holds
 * at "body.KEY" for each of its members.
 */
#include "fuzz.h"

#include "confparse.h"
#include "event.h"
#include "filter.h"
#include "log.h"

#include <jansson.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The filter "f = TEXT;" as parsed, or NULL. */
static filter *parse(const char *fmt, const char *text)
{
    /* Each "%s" of fmt becomes text. */
    char *src = malloc(strlen(fmt) + 4 * strlen(text) + 1), *w = src;
    for (const char *p = fmt; *p; p++) {
        if (p[0] == '%' && p[1] == 's') {
            w += sprintf(w, "%s", text);
            p++;
        } else {
            *w++ = *p;
        }
    }
    *w = 0;
    config_t lc;
    config_init(&lc);
    filter *f = NULL;
    if (config_read_string(&lc, src) == CONFIG_TRUE) {
        config_setting_t *s = config_lookup(&lc, "f");
        char err[512];
        parse_ctx c = {err, sizeof(err), ".", 0};
        if (s && filter_parse(&c, s, "filter", &f) < 0) {
            filter_free(f);
            f = NULL;
        }
    }
    config_destroy(&lc);
    free(src);
    return f;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_level(-1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    char *text = fuzz_line(&in);
    http_request rq;
    memset(&rq, 0, sizeof(rq));
    kv hs[16];
    while (in.n && rq.n_headers < 16) {
        char *h = fuzz_line(&in);
        char *colon = strchr(h, ':');
        if (!h[0] || !colon) {
            int end = !h[0];
            free(h);
            if (end)
                break;
            continue;
        }
        *colon = 0;
        for (char *p = h; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
        hs[rq.n_headers].name = h;
        hs[rq.n_headers].value = strdup(colon[1] == ' ' ? colon + 2 : colon + 1);
        rq.n_headers++;
    }
    rq.headers = hs;
    size_t blen;
    char *body = fuzz_rest(&in, &blen);
    json_t *event = json_object();
    json_t *b = json_loadb(body, blen, JSON_DECODE_ANY, NULL);
    json_object_set_new(event, "body", b ? b : json_null());
    json_object_set_new(event, "function", json_string("main"));

    filter *f = parse("f = %s;", text);
    if (f) {
        char why[256];
        int r = filter_eval(f, &rq, event, why, sizeof(why));
        FUZZ_CHECK(r == 0 || r == 1, "filter_eval returned %d", r);
        FUZZ_CHECK(r == 1 || why[0], "filter %s failed without saying why", text);
        filter *nf = parse("f = { not = %s; };", text);
        if (nf) {
            int nr = filter_eval(nf, &rq, event, why, sizeof(why));
            FUZZ_CHECK(nr == !r, "filter %s is %d and its \"not\" is %d", text, r, nr);
            filter_free(nf);
        }
        filter *both = parse("f = { all = ( %s, %s ); };", text);
        if (both) {
            FUZZ_CHECK(filter_eval(both, &rq, event, NULL, 0) == r,
                       "all = (F, F) differs from F = %s", text);
            filter_free(both);
        }
        filter *always = parse("f = { any = ( %s, { not = %s; } ); };", text);
        if (always) {
            FUZZ_CHECK(filter_eval(always, &rq, event, why, sizeof(why)) == 1,
                       "any = (F, not F) fails for F = %s", text);
            filter_free(always);
        }
        filter_free(f);
    }
    if (json_is_object(b)) {
        const char *k;
        json_t *v;
        json_object_foreach(b, k, v)
        {
            if (strlen(k) >= 200 || strcspn(k, ".[") != strlen(k) || !k[0])
                continue;
            char path[256];
            snprintf(path, sizeof(path), "body.%s", k);
            FUZZ_CHECK(filter_lookup(event, path) == v, "filter_lookup(%s) misses the member",
                       path);
            if (json_is_array(v) && json_array_size(v)) {
                snprintf(path, sizeof(path), "body.%s[%zu]", k, json_array_size(v) - 1);
                FUZZ_CHECK(filter_lookup(event, path) == json_array_get(v, json_array_size(v) - 1),
                           "filter_lookup(%s) misses the element", path);
            }
        }
    }
    json_decref(event);
    for (size_t i = 0; i < rq.n_headers; i++) {
        free(hs[i].name);
        free(hs[i].value);
    }
    free(body);
    free(text);
    return 0;
}
