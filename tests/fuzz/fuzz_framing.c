/*
 * fuzz_framing.c - the request head checks and the origin form of a target
 * (framing.c).
 *
 * Input: a request target line, a version line ("1.0" for HTTP/1.0, else
 * HTTP/1.1), then one header field per line: a flag byte (bit 0 folded,
 * bit 1 bad ending, bit 2 the name ends at the last colon instead of the
 * first, bit 3 each 0x01 byte stands for LF), then "name:value", either
 * holding any byte. Checks: framing_check gives the verdict a model of
 * RFC 9112 5, 6.1, 6.3 and RFC 9110 5.5, 5.6, 8.6 gives, written here from
 * the grammar: a head the model finds sound is accepted, one it does not is
 * refused with a status the RFC allows for what is wrong (431 only for too
 * many fields), with a code and a printable message; has_body and
 * delimited say what libmicrohttpd 0.9.75 will do with the body. The
 * origin form of a target is the target itself, or the part of an http(s)
 * URI after its authority.
 */
#include "fuzz.h"

#include "framing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { F_FOLDED = 1, F_BAD_ENDING = 2, F_LAST_COLON = 4, F_LF = 8 };

/* What the model allows as the answer: each bit a status a refusal may
 * have; ACCEPT when the head must be accepted. */
enum { R_400 = 1, R_501 = 2, R_431 = 4 };

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static int same_icase(const char *s, size_t n, const char *lit)
{
    if (n != strlen(lit))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != (unsigned char)lit[i])
            return 0;
    return 1;
}

/* RFC 9110 5.6.2: a token is 1*tchar, tchar being any VCHAR but the
 * delimiters DQUOTE and "(),/:;<=>?@[\]{}". */
static int is_token(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '"' || memchr("(),/:;<=>?@[\\]{}", c, 17))
            return 0;
    }
    return 1;
}

/* RFC 9110 5.5: field-content is VCHAR, obs-text, SP and HTAB. */
static int is_field_value(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(c == '\t' || c == ' ' || (c >= 0x21 && c <= 0x7e) || c >= 0x80))
            return 0;
    }
    return 1;
}

/* RFC 9110 8.6: Content-Length = 1*DIGIT. */
static int is_digits(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* The decimal value without its leading zeros ("" for zero). */
static void strip_zeros(const char **s, size_t *n)
{
    while (*n && **s == '0') {
        (*s)++;
        (*n)--;
    }
}

typedef struct model {
    int allowed;    /* R_* bits a refusal may use; 0: must be accepted */
    int may_refuse; /* sound, but past a bound sluice may keep */
    int any_te, any_cl, cl_positive;
    int mhd_chunked; /* libmicrohttpd reads the body as chunked */
    const char *why;
} model;

static void must_refuse(model *m, int status_bits, const char *why)
{
    if (!m->allowed)
        m->why = why;
    m->allowed |= status_bits;
}

/*
 * The transfer codings of all Transfer-Encoding lines, in order, as one
 * list (RFC 9110 5.3, 5.6.1: empty elements are ignored, OWS around each).
 */
static void te_codings(const framing_field *f, size_t n, model *m)
{
    size_t chunked = 0, elements = 0;
    int last_chunked = 0, other = 0;
    for (size_t i = 0; i < n; i++) {
        if (!same_icase(f[i].name, f[i].name_len, "transfer-encoding"))
            continue;
        const char *v = f[i].value;
        size_t len = f[i].value_len, at = 0;
        while (at <= len) {
            size_t e = at;
            while (e < len && v[e] != ',')
                e++;
            size_t s = at, t = e;
            while (s < t && (v[s] == ' ' || v[s] == '\t'))
                s++;
            while (t > s && (v[t - 1] == ' ' || v[t - 1] == '\t'))
                t--;
            if (t > s) {
                elements++;
                last_chunked = same_icase(v + s, t - s, "chunked");
                if (last_chunked)
                    chunked++;
                else
                    other = 1;
            }
            at = e + 1;
        }
    }
    /* RFC 9112 6.3 (4): chunked not final, the length cannot be known. */
    if (!elements || !last_chunked)
        must_refuse(m, R_400, "Transfer-Encoding whose final coding is not chunked");
    /* RFC 9112 7: chunked is applied at most once. */
    if (chunked > 1)
        must_refuse(m, R_400, "chunked applied twice");
    /* RFC 9112 6.1: a coding sluice does not implement. */
    if (other)
        must_refuse(m, R_501, "a transfer coding other than chunked");
}

static void judge(const framing_field *f, size_t n, int http10, model *m)
{
    memset(m, 0, sizeof(*m));
    size_t hosts = 0, tes = 0, cls = 0;
    const framing_field *first_te = NULL, *first_cl = NULL;
    for (size_t i = 0; i < n; i++) {
        const framing_field *h = &f[i];
        /* RFC 9112 5.2: obs-fold, which libmicrohttpd glues to the name. */
        if (h->folded)
            must_refuse(m, R_400, "a folded line");
        /* RFC 9112 2.2: a bare LF or a NUL ends the line elsewhere. */
        if (h->bad_ending)
            must_refuse(m, R_400, "a line not ended by CRLF");
        /* RFC 9112 5.1: field-name is a token, nothing before the colon. */
        if (!is_token(h->name, h->name_len))
            must_refuse(m, R_400, "a field name that is not a token");
        if (!is_field_value(h->value, h->value_len))
            must_refuse(m, R_400, "a control byte in a value");
        if (same_icase(h->name, h->name_len, "host"))
            hosts++;
        if (same_icase(h->name, h->name_len, "transfer-encoding")) {
            if (!tes++)
                first_te = h;
        }
        if (same_icase(h->name, h->name_len, "content-length")) {
            if (!cls++)
                first_cl = h;
            if (!is_digits(h->value, h->value_len)) {
                must_refuse(m, R_400, "a Content-Length that is not 1*DIGIT");
            } else {
                if (h->value_len > 18)
                    m->may_refuse = 1;
                const char *a = h->value, *b = first_cl->value;
                size_t an = h->value_len, bn = first_cl->value_len;
                strip_zeros(&a, &an);
                if (an)
                    m->cl_positive = 1;
                if (is_digits(b, bn)) {
                    strip_zeros(&b, &bn);
                    /* RFC 9110 8.6: lines of one value may be taken as one. */
                    if (an != bn || memcmp(a, b, an) != 0)
                        must_refuse(m, R_400, "two Content-Length values");
                }
            }
        }
    }
    m->any_te = tes > 0;
    m->any_cl = cls > 0;
    /* libmicrohttpd 0.9.75 reads the first Transfer-Encoding value as a
     * whole: only "chunked" is chunked, anything else is read until the
     * peer closes, whatever a proxy in front makes of the list. */
    m->mhd_chunked = first_te && same_icase(first_te->value, first_te->value_len, "chunked");
    if (tes) {
        te_codings(f, n, m);
        /* RFC 9112 6.1: Content-Length and Transfer-Encoding together. */
        if (cls)
            must_refuse(m, R_400, "Content-Length with Transfer-Encoding");
        /* RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding is
         * faulty framing, Content-Length or not. */
        if (http10)
            must_refuse(m, R_400, "Transfer-Encoding in HTTP/1.0");
        if (!m->mhd_chunked)
            must_refuse(m, R_400 | R_501, "a Transfer-Encoding libmicrohttpd does not frame");
        else if (tes > 1)
            m->may_refuse = 1; /* "chunked" then empty lists: sound, but odd */
    }
    /* RFC 9112 3.2: one Host in HTTP/1.1, never more than one. */
    if ((!http10 && hosts != 1) || hosts > 1)
        must_refuse(m, R_400, "not exactly one Host");
    if (n > FRAMING_MAX_FIELDS) {
        m->allowed = R_431;
        m->why = "too many fields";
    }
}

static char *dup_bytes(const char *s, size_t n, int lf)
{
    char *d = malloc(n + 1);
    if (!d)
        abort();
    memcpy(d, s, n);
    d[n] = 0;
    if (lf)
        for (size_t i = 0; i < n; i++)
            if (d[i] == 1)
                d[i] = '\n';
    return d;
}

static void check_origin_form(const char *target)
{
    size_t len = strlen(target);
    const char *r = framing_origin_form(target);
    FUZZ_CHECK(r >= target && r <= target + len, "origin form of \"%s\" is outside it", target);
    size_t skip = 0;
    if (len >= 7 && same_icase(target, 7, "http://"))
        skip = 7;
    else if (len >= 8 && same_icase(target, 8, "https://"))
        skip = 8;
    if (!skip) {
        FUZZ_CHECK(r == target, "\"%s\" is no absolute http(s) target but became \"%s\"", target,
                   r);
        return;
    }
    /* RFC 3986 3.2: the authority is all up to the path or the query. */
    FUZZ_CHECK(r >= target + skip, "\"%s\": \"%s\" starts inside the scheme", target, r);
    for (const char *p = target + skip; p < r; p++)
        FUZZ_CHECK(*p != '/' && *p != '?', "\"%s\": the authority of \"%s\" holds a path", target,
                   r);
    FUZZ_CHECK(*r == 0 || *r == '/' || *r == '?', "\"%s\": \"%s\" is no path or query", target, r);
    if (*r == '/')
        FUZZ_CHECK(framing_origin_form(r) == r, "origin form \"%s\" changes again", r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    char *target = fuzz_line(&in);
    check_origin_form(target);
    char *ver = fuzz_line(&in);
    int http10 = strcmp(ver, "1.0") == 0;

    size_t n = 0, cap = 16;
    framing_field *f = malloc(cap * sizeof(*f));
    if (!f)
        abort();
    while (in.n) {
        unsigned flags = fuzz_byte(&in);
        const uint8_t *nl = memchr(in.p, '\n', in.n);
        size_t len = nl ? (size_t)(nl - in.p) : in.n;
        const char *line = (const char *)in.p, *colon = NULL;
        for (size_t i = 0; i < len; i++)
            if (line[i] == ':') {
                colon = line + i;
                if (!(flags & F_LAST_COLON))
                    break;
            }
        size_t nlen = colon ? (size_t)(colon - line) : len;
        const char *val = colon ? colon + 1 : line + len;
        if (n == cap) {
            cap *= 2;
            f = realloc(f, cap * sizeof(*f));
            if (!f)
                abort();
        }
        int lf = (flags & F_LF) != 0;
        f[n++] = (framing_field){dup_bytes(line, nlen, lf),
                                 nlen,
                                 dup_bytes(val, (size_t)(line + len - val), lf),
                                 (size_t)(line + len - val),
                                 (flags & F_FOLDED) != 0,
                                 (flags & F_BAD_ENDING) != 0};
        in.p += nl ? len + 1 : len;
        in.n -= nl ? len + 1 : len;
    }

    model m;
    judge(f, n, http10, &m);
    framing_verdict v;
    memset(&v, 0x5a, sizeof(v));
    int r = framing_check(f, n, http10 ? "HTTP/1.0" : "HTTP/1.1", &v);
    FUZZ_CHECK(r == 0 || r == -1, "framing_check returned %d", r);
    if (r == 0) {
        FUZZ_CHECK(!m.allowed, "%zu fields accepted with %s", n, m.why);
        FUZZ_CHECK(v.status == 0, "accepted with status %d", v.status);
        FUZZ_CHECK(v.has_body == (m.any_te || m.cl_positive),
                   "accepted: has_body %d, Transfer-Encoding %d, Content-Length > 0 %d", v.has_body,
                   m.any_te, m.cl_positive);
        /* Accepted, the body must end where libmicrohttpd will end it. */
        FUZZ_CHECK(!m.any_te || (v.delimited && m.mhd_chunked),
                   "accepted a Transfer-Encoding libmicrohttpd does not read as chunked "
                   "(delimited %d)",
                   v.delimited);
    } else {
        FUZZ_CHECK(m.allowed || m.may_refuse, "%zu sound fields refused: %d %s", n, v.status,
                   v.message);
        int bit = v.status == 400 ? R_400 : v.status == 501 ? R_501 : v.status == 431 ? R_431 : 0;
        int allowed = m.allowed ? m.allowed : R_400 | R_501;
        FUZZ_CHECK(bit & allowed, "refused with %d (%s) for %s", v.status, v.message,
                   m.why ? m.why : "a bound");
        FUZZ_CHECK(v.code && v.code[0], "refused with %d and no code", v.status);
        size_t ml = strnlen(v.message, sizeof(v.message));
        FUZZ_CHECK(ml > 0 && ml < sizeof(v.message), "refused with %d and no message", v.status);
        for (size_t i = 0; i < ml; i++)
            FUZZ_CHECK((unsigned char)v.message[i] >= 0x20 && (unsigned char)v.message[i] < 0x7f,
                       "message \"%s\" holds byte 0x%02x", v.message, (unsigned char)v.message[i]);
        /* Refused, the body is read to its end before the answer only when
         * libmicrohttpd can find that end. */
        FUZZ_CHECK(v.has_body || !(m.any_te || m.any_cl),
                   "refused a head with a body (Transfer-Encoding %d, Content-Length %d) "
                   "as if it had none",
                   m.any_te, m.any_cl);
        FUZZ_CHECK(!v.has_body || !v.delimited || !m.any_te || m.mhd_chunked,
                   "refused and said delimited, but libmicrohttpd reads until close");
    }
    for (size_t i = 0; i < n; i++) {
        free((char *)f[i].name);
        free((char *)f[i].value);
    }
    free(f);
    free(ver);
    free(target);
    return 0;
}
