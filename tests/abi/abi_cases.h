/*
 * abi_cases.h - one table of cases for the rules of <sluice/plugin.h> that
 * both hosts enforce (sdk/abi/abi_rules.c). test_exec runs it through
 * sluiced's host table and test_sdk through the mock's: a rule that one
 * side stops sharing fails on that side.
 *
 * Each side supplies three functions through abi_cases_host and calls
 * abi_cases_run with a Check test in progress.
 */
#ifndef SLUICE_ABI_CASES_H
#define SLUICE_ABI_CASES_H

#include <sluice/plugin.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct abi_cases_host {
    /* A fresh execution of flow "prod/deploy" with function "summary". */
    sluice_exec *(*make)(void);
    void (*drop)(sluice_exec *e);
    const sluice_host *table;
    /* The error text the host keeps for e, and the stream's kept log
     * (malloc'd, *len its length). */
    const char *(*error)(const sluice_exec *e);
    char *(*log)(sluice_exec *e, int stream, size_t *len);
} abi_cases_host;

/* ---- exec_meta: the keys the host reserves ---- */

static const struct {
    const char *key;
    const char *want; /* NULL: not answered; "": any value */
} abi_cases_meta[] = {
    {"execution_id", ""},  {"request_id", ""},    {"flow", "prod/deploy"}, {"flow_id", "deploy"},
    {"namespace", "prod"}, {"trigger", ""},       {"function", "summary"}, {"attempt", "1"},
    {"timeout_ms", ""},    {"mode", ""},          {"respond_with", ""},    {"Flow", NULL},
    {"flow ", NULL},       {"no-such-key", NULL}, {"flow.x", NULL},        {"", NULL},
};

/* ---- exec_set_error: the UTF-8-safe cut ---- */

static const struct {
    size_t pad; /* leading 'a's */
    const char *text;
    size_t want_pad;
    const char *want; /* after want_pad 'a's */
} abi_cases_error[] = {
    {0, "plain", 0, "plain"},
    {0, "caf\xc3\xa9", 0, "caf\xc3\xa9"},
    {0, "\xff bad \xc3\xa9", 0, "? bad ??"},
    {SLUICE_MAX_ERROR - 1, "", SLUICE_MAX_ERROR - 1, ""},         /* exactly the limit */
    {SLUICE_MAX_ERROR - 1, "b", SLUICE_MAX_ERROR - 1, ""},        /* one over */
    {SLUICE_MAX_ERROR - 2, "\xc3\xa9", SLUICE_MAX_ERROR - 2, ""}, /* 2-byte across */
    {SLUICE_MAX_ERROR - 3, "\xe2\x82\xac", SLUICE_MAX_ERROR - 3, ""},
    {SLUICE_MAX_ERROR - 2, "\xe2\x82\xac", SLUICE_MAX_ERROR - 2, ""},
    {SLUICE_MAX_ERROR - 5, "\xf0\x9f\x98\x80", SLUICE_MAX_ERROR - 5, "\xf0\x9f\x98\x80"},
    {SLUICE_MAX_ERROR - 4, "\xf0\x9f\x98\x80", SLUICE_MAX_ERROR - 4, ""},
    {SLUICE_MAX_ERROR + 100, "\xff", SLUICE_MAX_ERROR - 1, ""}, /* bad byte cut away */
    {100, "\xff", 100, "?"},
};

static char *abi_cases_text(size_t pad, const char *text)
{
    size_t n = strlen(text);
    char *s = malloc(pad + n + 1);
    ck_assert_ptr_nonnull(s);
    memset(s, 'a', pad);
    memcpy(s + pad, text, n + 1);
    return s;
}

/* ---- exec_write_log: the head/tail keep ---- */

#define ABI_CASES_KEEP ((size_t)SLUICE_LOG_KEEP)

static const struct {
    size_t total;
    size_t chunks[4]; /* cycled; 0 ends the list */
} abi_cases_log[] = {
    {0, {1}},
    {12, {5}},
    {ABI_CASES_KEEP, {ABI_CASES_KEEP}},
    {ABI_CASES_KEEP + 1, {ABI_CASES_KEEP + 1}},
    {2 * ABI_CASES_KEEP, {7, 4093}},
    {2 * ABI_CASES_KEEP + 1, {1}},
    {3 * ABI_CASES_KEEP + 17, {ABI_CASES_KEEP - 1, 3, 2 * ABI_CASES_KEEP}},
    {5 * ABI_CASES_KEEP + 3, {4 * ABI_CASES_KEEP + 5}},
    {1000000, {997, 33, 65537}},
};

/* Position-dependent bytes, so a misplaced chunk shows. */
static char *abi_cases_bytes(size_t n)
{
    char *p = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(p);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (char)('!' + (x >> 16) % 90);
    }
    return p;
}

/* What sluiced keeps of total bytes: all of them, or the head, a marker
 * and the tail. */
static char *abi_cases_log_want(const char *data, size_t total, size_t *len)
{
    if (total <= 2 * ABI_CASES_KEEP) {
        char *w = malloc(total + 1);
        ck_assert_ptr_nonnull(w);
        memcpy(w, data, total);
        w[total] = '\0';
        *len = total;
        return w;
    }
    char marker[96];
    snprintf(marker, sizeof(marker), "\n[... %zu bytes dropped ...]\n", total - 2 * ABI_CASES_KEEP);
    size_t mlen = strlen(marker);
    char *w = malloc(2 * ABI_CASES_KEEP + mlen + 1);
    ck_assert_ptr_nonnull(w);
    memcpy(w, data, ABI_CASES_KEEP);
    memcpy(w + ABI_CASES_KEEP, marker, mlen);
    memcpy(w + ABI_CASES_KEEP + mlen, data + total - ABI_CASES_KEEP, ABI_CASES_KEEP);
    *len = 2 * ABI_CASES_KEEP + mlen;
    w[*len] = '\0';
    return w;
}

static void abi_cases_run_meta(const abi_cases_host *h)
{
    sluice_exec *e = h->make();
    for (size_t i = 0; i < sizeof(abi_cases_meta) / sizeof(abi_cases_meta[0]); i++) {
        const char *got = h->table->exec_meta(e, abi_cases_meta[i].key);
        const char *want = abi_cases_meta[i].want;
        if (!want)
            ck_assert_msg(!got, "exec_meta(\"%s\") is \"%s\", want NULL", abi_cases_meta[i].key,
                          got);
        else if (!*want)
            ck_assert_msg(got != NULL, "exec_meta(\"%s\") is NULL", abi_cases_meta[i].key);
        else
            ck_assert_msg(got && strcmp(got, want) == 0, "exec_meta(\"%s\") is \"%s\", want \"%s\"",
                          abi_cases_meta[i].key, got ? got : "(null)", want);
    }
    ck_assert_ptr_null(h->table->exec_meta(e, NULL));
    h->drop(e);
}

static void abi_cases_run_error(const abi_cases_host *h)
{
    sluice_exec *e = h->make();
    for (size_t i = 0; i < sizeof(abi_cases_error) / sizeof(abi_cases_error[0]); i++) {
        char *in = abi_cases_text(abi_cases_error[i].pad, abi_cases_error[i].text);
        char *want = abi_cases_text(abi_cases_error[i].want_pad, abi_cases_error[i].want);
        ck_assert_int_eq(h->table->exec_set_error(e, in), 0);
        const char *got = h->error(e);
        ck_assert_msg(got && strcmp(got, want) == 0,
                      "case %zu: kept %zu bytes ending \"%s\", want %zu ending \"%s\"", i,
                      got ? strlen(got) : 0,
                      got ? got + (strlen(got) > 8 ? strlen(got) - 8 : 0) : "", strlen(want),
                      want + (strlen(want) > 8 ? strlen(want) - 8 : 0));
        free(in);
        free(want);
    }
    ck_assert_int_eq(h->table->exec_set_error(e, NULL), 0);
    ck_assert_str_eq(h->error(e), "(no message)");
    h->drop(e);
}

static void abi_cases_run_log(const abi_cases_host *h)
{
    for (size_t i = 0; i < sizeof(abi_cases_log) / sizeof(abi_cases_log[0]); i++) {
        size_t total = abi_cases_log[i].total;
        char *data = abi_cases_bytes(total);
        sluice_exec *e = h->make();
        size_t off = 0, n_chunks = 0;
        while (n_chunks < 4 && abi_cases_log[i].chunks[n_chunks])
            n_chunks++;
        for (size_t k = 0; off < total; k++) {
            size_t n = abi_cases_log[i].chunks[k % n_chunks];
            if (n > total - off)
                n = total - off;
            ck_assert_int_eq(h->table->exec_write_log(e, SLUICE_STDERR, data + off, n), 0);
            off += n;
        }
        size_t want_len, got_len = 0;
        char *want = abi_cases_log_want(data, total, &want_len);
        char *got = h->log(e, SLUICE_STDERR, &got_len);
        ck_assert_msg(got && got_len == want_len && memcmp(got, want, want_len) == 0,
                      "case %zu (%zu bytes): kept %zu bytes, want %zu", i, total, got_len,
                      want_len);
        free(got);
        free(want);
        free(data);
        h->drop(e);
    }
}

static void abi_cases_run(const abi_cases_host *h)
{
    abi_cases_run_meta(h);
    abi_cases_run_error(h);
    abi_cases_run_log(h);
}

#endif
