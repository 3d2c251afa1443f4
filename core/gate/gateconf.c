/*
 * gateconf.c - building a trigger's gate from its settings (gate.h lists
 * them). Every setting is validated here, at load time, so a typo in a
 * secret's source or a CIDR fails the configuration instead of opening or
 * closing a trigger on the first request.
 */
#include "gate_impl.h"

#include "config.h"
#include "shapes.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const gate_trigger_keys[] = {"auth",          "rate_limit", "filter",
                                         "filter_status", "capability", "kestra",
                                         "cloudomation",  "wayscript",  NULL};

void gate_free(struct gate *g)
{
    if (!g)
        return;
    free(g->trigger_id);
    auth_keyset_free(&g->keys);
    for (size_t i = 0; i < g->n_src; i++)
        free(g->src[i].name);
    free(g->src);
    auth_keyset_free(&g->basic);
    if (g->hmac) {
        auth_hmac_free(g->hmac);
        free(g->hmac);
    }
    free(g->allow);
    filter_free(g->filter);
    free(g);
}

static void add_source(struct gate *g, int kind, const char *name)
{
    g->src = xrealloc(g->src, (g->n_src + 1) * sizeof(key_source));
    key_source *s = &g->src[g->n_src++];
    s->kind = kind;
    s->name = name ? xstrdup(name) : NULL;
    if (s->name && kind == SRC_HEADER) {
        for (char *p = s->name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
    }
    if (kind == SRC_BODY)
        g->body_creds = 1;
    if (kind == SRC_PATH)
        g->path_creds = 1;
}

static void secret_add(char ***names, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*names)[i], name) == 0)
            return;
    *names = xrealloc(*names, (*n + 2) * sizeof(char *));
    (*names)[(*n)++] = xstrdup(name);
    (*names)[*n] = NULL;
}

/* A header that carries a key or a signature is a secret everywhere: the
 * event, exec_header, logs (sluice_config.secret_headers). */
void gate_secret_headers(const struct gate *g, char ***names, size_t *n)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_src; i++)
        if (g->src[i].kind == SRC_HEADER && g->src[i].name)
            secret_add(names, n, g->src[i].name);
    if (g->hmac && g->hmac->header)
        secret_add(names, n, g->hmac->header);
}

static int add_keys(parse_ctx *c, const config_setting_t *s, struct gate *g, char **keys,
                    const char *what)
{
    for (char **k = keys; k && *k; k++)
        if (auth_keyset_add(&g->keys, *k, strlen(*k)) < 0)
            return cp_fail(c, s, "%s: a key must not be empty", what);
    if (g->keys.n)
        g->has_creds = 1;
    return 0;
}

static const char *const hmac_keys[] = {"preset",    "secrets",   "header",   "prefix",
                                        "encoding",  "algorithm", "template", "timestamp_header",
                                        "id_header", "tolerance", NULL};

static char *lower_dup(const char *s)
{
    char *d = xstrdup(s);
    for (char *p = d; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    return d;
}

static int parse_hmac(parse_ctx *c, const config_setting_t *s, const char *what, struct gate *g)
{
    char w[256];
    snprintf(w, sizeof(w), "%s.auth.hmac", what);
    char *preset = NULL, **secrets = NULL, *header = NULL, *prefix = NULL, *enc = NULL;
    char *alg = NULL, *tmpl = NULL, *tsh = NULL, *idh = NULL;
    uint64_t tol_ms = UINT64_MAX;
    char err[256];
    int rc = -1;
    if (!config_setting_is_group(s)) {
        cp_fail(c, s, "%s: must be a group { preset = \"github\"; secrets = [...]; }", w);
        goto out;
    }
    if (cp_check_keys(c, s, w, hmac_keys) < 0 || cp_get_string(c, s, "preset", w, &preset) < 0 ||
        cp_get_strv(c, s, "secrets", w, &secrets) < 0 ||
        cp_get_string(c, s, "header", w, &header) < 0 ||
        cp_get_string(c, s, "prefix", w, &prefix) < 0 ||
        cp_get_string(c, s, "encoding", w, &enc) < 0 ||
        cp_get_string(c, s, "algorithm", w, &alg) < 0 ||
        cp_get_string(c, s, "template", w, &tmpl) < 0 ||
        cp_get_string(c, s, "timestamp_header", w, &tsh) < 0 ||
        cp_get_string(c, s, "id_header", w, &idh) < 0 ||
        cp_get_duration(c, s, "tolerance", w, &tol_ms) < 0)
        goto out;
    g->hmac = xcalloc(1, sizeof(auth_hmac));
    auth_hmac *h = g->hmac;
    if (auth_hmac_init(h, preset, err, sizeof(err)) < 0) {
        cp_fail(c, config_setting_get_member(s, "preset"), "%s: %s", w, err);
        goto out;
    }
    if (header) {
        free(h->header);
        h->header = lower_dup(header);
    }
    if (prefix) {
        free(h->prefix);
        h->prefix = xstrdup(prefix);
    }
    if (tmpl) {
        free(h->tmpl);
        h->tmpl = xstrdup(tmpl);
    }
    if (tsh) {
        free(h->ts_header);
        h->ts_header = lower_dup(tsh);
    }
    if (idh) {
        free(h->id_header);
        h->id_header = lower_dup(idh);
    }
    if (enc) {
        if (strcmp(enc, "hex") == 0) {
            h->enc = AUTH_ENC_HEX;
        } else if (strcmp(enc, "base64") == 0) {
            h->enc = AUTH_ENC_BASE64;
        } else {
            cp_fail(c, config_setting_get_member(s, "encoding"),
                    "%s.encoding: use \"hex\" or \"base64\"", w);
            goto out;
        }
    }
    if (alg) {
        int a = auth_alg_parse(alg);
        if (a < 0) {
            cp_fail(c, config_setting_get_member(s, "algorithm"),
                    "%s.algorithm: use \"sha1\", \"sha256\" or \"sha512\"", w);
            goto out;
        }
        h->alg = a;
    }
    if (tol_ms != UINT64_MAX)
        h->tolerance_s = (int64_t)(tol_ms / 1000);
    else if (h->preset == AUTH_PRESET_GENERIC && h->ts_header)
        h->tolerance_s = 300;
    if (!secrets || !secrets[0]) {
        cp_fail(c, s, "%s: secrets is required (one or more, for rotation)", w);
        goto out;
    }
    for (char **p = secrets; *p; p++)
        if (auth_hmac_add_secret(h, *p, err, sizeof(err)) < 0) {
            cp_fail(c, config_setting_get_member(s, "secrets"), "%s.secrets: %s", w, err);
            goto out;
        }
    if (auth_hmac_validate(h, err, sizeof(err)) < 0) {
        cp_fail(c, s, "%s: %s", w, err);
        goto out;
    }
    g->has_creds = 1;
    g->body_creds = 1;
    rc = 0;
out:
    free(preset);
    cp_strv_free(secrets);
    free(header);
    free(prefix);
    free(enc);
    free(alg);
    free(tmpl);
    free(tsh);
    free(idh);
    return rc;
}

static const char *const auth_keys[] = {"keys",         "key_in",         "basic",
                                        "hmac",         "allow_ips",      "wrong_status",
                                        "max_failures", "failure_window", NULL};

static int parse_key_in(parse_ctx *c, const config_setting_t *s, const char *w, trigger_def *t,
                        struct gate *g, const char *const *key_in)
{
    for (const char *const *p = key_in; *p; p++) {
        const char *e = *p, *colon = strchr(e, ':');
        const char *name = colon ? colon + 1 : NULL;
        size_t kl = colon ? (size_t)(colon - e) : strlen(e);
        int kind;
        if (kl == 6 && strncmp(e, "bearer", 6) == 0 && !colon)
            kind = SRC_BEARER;
        else if (kl == 6 && strncmp(e, "header", 6) == 0)
            kind = SRC_HEADER;
        else if (kl == 5 && strncmp(e, "query", 5) == 0)
            kind = SRC_QUERY;
        else if (kl == 4 && strncmp(e, "body", 4) == 0)
            kind = SRC_BODY;
        else if (kl == 4 && strncmp(e, "path", 4) == 0)
            kind = SRC_PATH;
        else
            return cp_fail(c, s,
                           "%s.key_in: \"%s\": use \"bearer\", \"header:NAME\", \"query:NAME\", "
                           "\"body:NAME\" or \"path:NAME\"",
                           w, e);
        if (kind != SRC_BEARER && (!name || !*name))
            return cp_fail(c, s, "%s.key_in: \"%s\" needs a name after the colon", w, e);
        if (kind == SRC_PATH) {
            char seg[300];
            snprintf(seg, sizeof(seg), "{%s}", name);
            if (!strstr(t->path, seg))
                return cp_fail(c, s, "%s.key_in: \"%s\": the path \"%s\" has no %s segment", w, e,
                               t->path, seg);
        }
        add_source(g, kind, name);
    }
    return 0;
}

static int parse_auth(parse_ctx *c, const config_setting_t *s, const char *what, trigger_def *t,
                      struct gate *g)
{
    char w[256];
    snprintf(w, sizeof(w), "%s.auth", what);
    char **keys = NULL, **key_in = NULL, **basic = NULL, **allow = NULL;
    int rc = -1;
    if (!config_setting_is_group(s)) {
        cp_fail(c, s, "%s: must be a group { keys = [...]; ... }", w);
        goto out;
    }
    uint64_t window = g->fail_rule.period_ms;
    int max_fail = (int)g->fail_rule.limit;
    if (cp_check_keys(c, s, w, auth_keys) < 0 || cp_get_strv(c, s, "keys", w, &keys) < 0 ||
        cp_get_strv(c, s, "key_in", w, &key_in) < 0 || cp_get_strv(c, s, "basic", w, &basic) < 0 ||
        cp_get_strv(c, s, "allow_ips", w, &allow) < 0 ||
        cp_get_int(c, s, "wrong_status", w, 401, 404, &g->wrong_status) < 0 ||
        cp_get_int(c, s, "max_failures", w, 0, 1000000, &max_fail) < 0 ||
        cp_get_duration(c, s, "failure_window", w, &window) < 0)
        goto out;
    if (g->wrong_status == 402) {
        cp_fail(c, config_setting_get_member(s, "wrong_status"),
                "%s.wrong_status: use 401, 403 or 404", w);
        goto out;
    }
    if (window == 0) {
        cp_fail(c, config_setting_get_member(s, "failure_window"), "%s.failure_window: must be > 0",
                w);
        goto out;
    }
    g->fail_rule.limit = (uint32_t)max_fail;
    g->fail_rule.period_ms = window;
    const config_setting_t *hm = config_setting_get_member(s, "hmac");
    if (!keys && !basic && !hm && !allow) {
        cp_fail(c, s, "%s: set keys, basic, hmac or allow_ips", w);
        goto out;
    }
    if (keys) {
        if (g->keys.n) {
            cp_fail(c, config_setting_get_member(s, "keys"),
                    "%s.keys: the trigger's shape already names its key", w);
            goto out;
        }
        if (add_keys(c, config_setting_get_member(s, "keys"), g, keys, w) < 0)
            goto out;
        if (key_in) {
            if (parse_key_in(c, config_setting_get_member(s, "key_in"), w, t, g,
                             (const char *const *)key_in) < 0)
                goto out;
        } else {
            add_source(g, SRC_BEARER, NULL);
            add_source(g, SRC_HEADER, "x-api-key");
        }
    } else if (key_in) {
        cp_fail(c, config_setting_get_member(s, "key_in"), "%s.key_in: needs keys", w);
        goto out;
    }
    for (char **p = basic; p && *p; p++) {
        if (!strchr(*p, ':') || **p == ':') {
            cp_fail(c, config_setting_get_member(s, "basic"),
                    "%s.basic: each entry is \"user:password\"", w);
            goto out;
        }
        auth_keyset_add(&g->basic, *p, strlen(*p));
        g->has_creds = 1;
    }
    for (char **p = allow; p && *p; p++) {
        g->allow = xrealloc(g->allow, (g->n_allow + 1) * sizeof(auth_cidr));
        if (auth_cidr_parse(*p, &g->allow[g->n_allow]) < 0) {
            cp_fail(c, config_setting_get_member(s, "allow_ips"),
                    "%s.allow_ips: \"%s\" is not an address or CIDR (10.0.0.0/8, ::1/128)", w, *p);
            goto out;
        }
        g->n_allow++;
    }
    if (hm && parse_hmac(c, hm, what, g) < 0)
        goto out;
    rc = 0;
out:
    cp_strv_free(keys);
    cp_strv_free(key_in);
    cp_strv_free(basic);
    cp_strv_free(allow);
    return rc;
}

static const char *const rate_keys[] = {"per_minute", "per_hour", "per_day", NULL};

static int parse_rate(parse_ctx *c, const config_setting_t *s, const char *what, struct gate *g)
{
    char w[256];
    snprintf(w, sizeof(w), "%s.rate_limit", what);
    if (!config_setting_is_group(s))
        return cp_fail(c, s, "%s: must be a group { per_minute = 5; per_day = 5000; }", w);
    if (cp_check_keys(c, s, w, rate_keys) < 0)
        return -1;
    static const struct {
        const char *name;
        uint64_t period_ms;
    } per[] = {{"per_minute", 60000}, {"per_hour", 3600000}, {"per_day", 86400000}};
    for (size_t i = 0; i < 3; i++) {
        int n = 0;
        if (cp_get_int(c, s, per[i].name, w, 1, 1000000000, &n) < 0)
            return -1;
        if (n) {
            g->rules[g->n_rules].period_ms = per[i].period_ms;
            g->rules[g->n_rules].limit = (uint32_t)n;
            g->n_rules++;
        }
    }
    if (!g->n_rules)
        return cp_fail(c, s, "%s: set per_minute, per_hour or per_day", w);
    return 0;
}

int gate_parse(parse_ctx *c, const config_setting_t *g, const char *what, struct trigger_def *t,
               struct gate **out)
{
    *out = NULL;
    struct gate *gt = xcalloc(1, sizeof(*gt));
    gt->trigger_id = xstrdup(t->id);
    gt->wrong_status = 403;
    gt->invalid_status = 400;
    gt->fail_rule.limit = 10;
    gt->fail_rule.period_ms = 60000;
    gt->filter_status = 202;
    shapes_settings sh;
    const config_setting_t *auth = config_setting_get_member(g, "auth");
    const config_setting_t *rate = config_setting_get_member(g, "rate_limit");
    const config_setting_t *filt = config_setting_get_member(g, "filter");
    const config_setting_t *fst = config_setting_get_member(g, "filter_status");

    if (shapes_parse(c, g, what, t, &sh) < 0)
        goto fail;
    if (sh.keys) {
        char w[256];
        snprintf(w, sizeof(w), "%s.%s", what, sh.name);
        if (add_keys(c, g, gt, sh.keys, w) < 0 || parse_key_in(c, g, w, t, gt, sh.key_in) < 0)
            goto fail;
    }
    if (sh.wrong_status)
        gt->wrong_status = sh.wrong_status;
    gt->capability = sh.capability;
    if (sh.capability)
        gt->invalid_status = sh.invalid_status;
    if ((auth && parse_auth(c, auth, what, t, gt) < 0) ||
        (rate && parse_rate(c, rate, what, gt) < 0))
        goto fail;
    if (filt && filter_parse(c, filt, what, &gt->filter) < 0)
        goto fail;
    if (cp_get_int(c, g, "filter_status", what, 200, 299, &gt->filter_status) < 0)
        goto fail;
    if (fst && !filt) {
        cp_fail(c, fst, "%s: filter_status needs a filter", what);
        goto fail;
    }
    if (!gt->capability && shapes_path_reserved(t->path)) {
        const config_setting_t *p = config_setting_get_member(g, "path");
        cp_fail(c, p ? p : g,
                "%s: paths like /t/NAME are reserved for capability URLs (capability = true)",
                what);
        goto fail;
    }
    shapes_clear(&sh);
    if (!gt->capability && !gt->has_creds && !gt->n_allow && !gt->n_rules && !gt->filter) {
        gate_free(gt); /* e.g. capability = false, or a shape without a key */
        return 0;
    }
    *out = gt;
    return 0;
fail:
    shapes_clear(&sh);
    gate_free(gt);
    return -1;
}
