/*
 * xalloc.c - allocation that succeeds or stops the process (see xalloc.h).
 *
 * The message goes through log.c, which formats on the stack and writes
 * with one write(2): it needs no memory of its own to report the lack of it.
 */
#include "xalloc.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

void xalloc_die(size_t n)
{
    if (n)
        log_error("out of memory: cannot allocate %zu bytes", n);
    else
        log_error("out of memory");
    abort();
}

/* Size 0 asks for 1 byte: malloc(0) may be NULL and realloc(p, 0) may free p. */
void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        xalloc_die(n);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = count && size ? calloc(count, size) : calloc(1, 1);
    if (!p) {
        log_error("out of memory: cannot allocate %zu x %zu bytes", count, size);
        abort();
    }
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        xalloc_die(n);
    return q;
}

char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        xalloc_die(strlen(s) + 1);
    return d;
}

char *xstrndup(const char *s, size_t n)
{
    char *d = strndup(s, n);
    if (!d)
        xalloc_die(strnlen(s, n) + 1);
    return d;
}
