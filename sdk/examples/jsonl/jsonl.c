/*
 * jsonl.c - a sluice executor that appends each event to a file as one JSON
 * line (JSON Lines), rotating the file by size. Useful as an audit trail:
 * point a trigger at a flow using it, alone or next to the flow that does
 * the work (a trigger may start several flows).
 *
 *     flows = ( { id = "audit"; executor = "jsonl";
 *                 config = { path = "/var/log/sluice/audit.jsonl";
 *                            max_size = "10M";   # rotate before passing this
 *                            keep = 5;           # audit.jsonl.1 .. .5
 *                            fields = ["received_at", "trigger", "body"];  # optional
 *                            fsync = false; }; } );
 *
 * Written only against the SDK: <sluice/plugin.h> for the ABI, jansson and
 * <sluice/jansson.h> for the JSON. Build it with
 *
 *     cc -shared -fPIC -fvisibility=hidden \
 *        $(pkg-config --cflags sluice-sdk jansson) -o jsonl.so jsonl.c \
 *        $(pkg-config --libs jansson)
 *
 * Design notes:
 *  - Several flows (and, during a reload, the old and the new configuration)
 *    may name the same file. Open files are shared through a registry in
 *    the plugin context, one lock per file, so lines never interleave and
 *    rotation happens once. execute is therefore reentrant.
 *  - Each line is written with one write(2) on an O_APPEND descriptor.
 *  - If something else moves or deletes the file (logrotate), the next
 *    line notices (the path no longer names the open file) and reopens it.
 *  - Rotation: when the current file is not empty and the next line would
 *    take it past max_size, path.(keep-1) becomes path.keep, ..., path
 *    becomes path.1, and a new path is started. keep = 0 just starts over.
 *    A single line longer than max_size still goes into a fresh file whole.
 *
 * MIT licensed, like sluice.
 */
#include <sluice/jansson.h>
#include <sluice/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JSONL_DEFAULT_MAX_SIZE (10u * 1024u * 1024u)
#define JSONL_DEFAULT_KEEP 5
#define JSONL_MAX_KEEP 999
#define JSONL_MAX_FIELDS 64

/* One open file, shared by every instance that names its path. */
typedef struct jsonl_file {
    char *path;
    int fd;
    dev_t dev;
    ino_t ino;
    unsigned refs; /* under the context's lock */
    pthread_mutex_t mu;
    struct jsonl_file *next;
} jsonl_file;

typedef struct jsonl_ctx {
    const sluice_host *host;
    pthread_mutex_t mu; /* the registry */
    jsonl_file *files;
} jsonl_ctx;

typedef struct jsonl_instance {
    jsonl_ctx *ctx;
    jsonl_file *file;
    uint64_t max_size; /* 0: never rotate */
    unsigned keep;
    int fsync;
    char **fields; /* NULL: the whole event */
    size_t n_fields;
} jsonl_instance;

static int open_file(jsonl_file *f, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", f->path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", f->path);
        close(fd);
        return -1;
    }
    if (f->fd >= 0)
        close(f->fd);
    f->fd = fd;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    return 0;
}

/* The registry entry for path, opened, with one more reference. */
static jsonl_file *file_get(jsonl_ctx *ctx, const char *path, char *err, size_t errlen)
{
    jsonl_file *f;
    pthread_mutex_lock(&ctx->mu);
    for (f = ctx->files; f; f = f->next)
        if (strcmp(f->path, path) == 0) {
            f->refs++;
            pthread_mutex_unlock(&ctx->mu);
            return f;
        }
    f = calloc(1, sizeof(*f));
    if (!f || !(f->path = strdup(path))) {
        free(f);
        pthread_mutex_unlock(&ctx->mu);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->fd = -1;
    if (open_file(f, err, errlen) < 0) {
        free(f->path);
        free(f);
        pthread_mutex_unlock(&ctx->mu);
        return NULL;
    }
    pthread_mutex_init(&f->mu, NULL);
    f->refs = 1;
    f->next = ctx->files;
    ctx->files = f;
    pthread_mutex_unlock(&ctx->mu);
    return f;
}

static void file_put(jsonl_ctx *ctx, jsonl_file *f)
{
    jsonl_file **pp;
    pthread_mutex_lock(&ctx->mu);
    if (--f->refs > 0) {
        pthread_mutex_unlock(&ctx->mu);
        return;
    }
    for (pp = &ctx->files; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    pthread_mutex_unlock(&ctx->mu);
    close(f->fd);
    pthread_mutex_destroy(&f->mu);
    free(f->path);
    free(f);
}

static int jsonl_init(const sluice_host *host, void **plugin_ctx, char *err, size_t errlen)
{
    jsonl_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ctx->host = host;
    pthread_mutex_init(&ctx->mu, NULL);
    *plugin_ctx = ctx;
    return 0;
}

static void jsonl_destroy(void *plugin_ctx)
{
    jsonl_ctx *ctx = plugin_ctx;
    while (ctx->files) {
        jsonl_file *f = ctx->files;
        ctx->files = f->next;
        close(f->fd);
        pthread_mutex_destroy(&f->mu);
        free(f->path);
        free(f);
    }
    pthread_mutex_destroy(&ctx->mu);
    free(ctx);
}

static void instance_free(jsonl_instance *in)
{
    size_t i;
    if (!in)
        return;
    if (in->file)
        file_put(in->ctx, in->file);
    for (i = 0; i < in->n_fields; i++)
        free(in->fields[i]);
    free(in->fields);
    free(in);
}

static int jsonl_configure(void *plugin_ctx, const char *cfg_json, size_t cfg_len,
                           const char *where, void **instance, char *err, size_t errlen)
{
    static const char *const known[] = {"path", "max_size", "keep", "fields", "fsync", NULL};
    jsonl_ctx *ctx = plugin_ctx;
    jsonl_instance *in = NULL;
    json_t *v;
    char oerr[512];
    json_t *cfg = sluice_json_config(cfg_json, cfg_len, where, err, errlen);
    if (!cfg)
        return -1;
    if (sluice_json_check_keys(cfg, known, where, err, errlen) < 0)
        goto fail;

    const char *path = sluice_json_path_string(cfg, "path");
    if (!path || path[0] != '/') {
        sluice_json_error(err, errlen, where, "path must be an absolute file name");
        goto fail;
    }
    in = calloc(1, sizeof(*in));
    if (!in) {
        sluice_json_error(err, errlen, where, "out of memory");
        goto fail;
    }
    in->ctx = ctx;
    in->max_size = JSONL_DEFAULT_MAX_SIZE;
    in->keep = JSONL_DEFAULT_KEEP;

    if ((v = json_object_get(cfg, "max_size")) && sluice_json_size(v, &in->max_size) < 0) {
        sluice_json_error(err, errlen, where,
                          "max_size must be a size such as \"512K\" or \"10M\" (0: never rotate)");
        goto fail;
    }
    if ((v = json_object_get(cfg, "keep"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > JSONL_MAX_KEEP) {
            sluice_json_error(err, errlen, where, "keep must be an integer from 0 to %d",
                              JSONL_MAX_KEEP);
            goto fail;
        }
        in->keep = (unsigned)json_integer_value(v);
    }
    if ((v = json_object_get(cfg, "fsync"))) {
        if (!json_is_boolean(v)) {
            sluice_json_error(err, errlen, where, "fsync must be true or false");
            goto fail;
        }
        in->fsync = json_is_true(v);
    }
    if ((v = json_object_get(cfg, "fields"))) {
        size_t i;
        if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > JSONL_MAX_FIELDS) {
            sluice_json_error(err, errlen, where,
                              "fields must be a list of 1 to %d event paths such as \"body.ref\"",
                              JSONL_MAX_FIELDS);
            goto fail;
        }
        in->fields = calloc(json_array_size(v), sizeof(char *));
        if (!in->fields) {
            sluice_json_error(err, errlen, where, "out of memory");
            goto fail;
        }
        for (i = 0; i < json_array_size(v); i++) {
            const char *s = json_string_value(json_array_get(v, i));
            if (!s || !*s) {
                sluice_json_error(err, errlen, where, "fields[%zu] must be a non-empty string", i);
                goto fail;
            }
            if (!(in->fields[in->n_fields++] = strdup(s))) {
                sluice_json_error(err, errlen, where, "out of memory");
                goto fail;
            }
        }
    }
    /* Open (and create) the file now: a path sluiced cannot write is a
     * configuration error at start, not a failure on the first webhook. */
    in->file = file_get(ctx, path, oerr, sizeof(oerr));
    if (!in->file) {
        sluice_json_error(err, errlen, where, "%s", oerr);
        goto fail;
    }
    json_decref(cfg);
    *instance = in;
    return 0;
fail:
    instance_free(in);
    json_decref(cfg);
    return -1;
}

static void jsonl_unconfigure(void *instance)
{
    instance_free(instance);
}

/* The line to write, newline included (malloc'd). */
static char *make_line(const jsonl_instance *in, const sluice_host *host, sluice_exec *exec,
                       size_t *len, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *event = sluice_json_event(host, exec, &jerr);
    json_t *rec;
    char *text, *line;
    size_t i, n;
    if (!event) {
        snprintf(err, errlen, "the event is not JSON: %s", jerr.text);
        return NULL;
    }
    if (in->fields) {
        rec = json_object();
        for (i = 0; rec && i < in->n_fields; i++) {
            json_t *val = sluice_json_path(event, in->fields[i]);
            json_object_set(rec, in->fields[i], val ? val : json_null());
        }
        json_decref(event);
    } else {
        rec = event;
    }
    /* Compact output never contains a raw newline: one record, one line. */
    text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n = strlen(text);
    line = realloc(text, n + 2);
    if (!line) {
        free(text);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    *len = n + 1;
    return line;
}

static void rotated_name(char *buf, size_t len, const char *path, unsigned i)
{
    snprintf(buf, len, "%s.%u", path, i);
}

/* Shift path.N up by one and start a new file. Called with f->mu held. */
static int rotate(jsonl_file *f, unsigned keep, char *err, size_t errlen)
{
    size_t plen = strlen(f->path) + 16;
    char *from = malloc(plen), *to = malloc(plen);
    unsigned i;
    int rc = -1;
    if (!from || !to) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (keep == 0) {
        if (unlink(f->path) < 0 && errno != ENOENT) {
            snprintf(err, errlen, "cannot remove %s: %s", f->path, strerror(errno));
            goto out;
        }
    } else {
        for (i = keep; i > 1; i--) {
            rotated_name(from, plen, f->path, i - 1);
            rotated_name(to, plen, f->path, i);
            if (rename(from, to) < 0 && errno != ENOENT) {
                snprintf(err, errlen, "cannot rename %s: %s", from, strerror(errno));
                goto out;
            }
        }
        rotated_name(to, plen, f->path, 1);
        if (rename(f->path, to) < 0 && errno != ENOENT) {
            snprintf(err, errlen, "cannot rename %s: %s", f->path, strerror(errno));
            goto out;
        }
    }
    rc = open_file(f, err, errlen);
out:
    free(from);
    free(to);
    return rc;
}

/* Append one line: reopen if the path was moved, rotate if it would grow
 * past max_size. Called with f->mu held. *rotated tells whether it did. */
static int append_line(const jsonl_instance *in, const char *line, size_t len, int *rotated,
                       char *err, size_t errlen)
{
    jsonl_file *f = in->file;
    struct stat st;
    size_t off = 0;
    *rotated = 0;
    if (stat(f->path, &st) < 0 || st.st_dev != f->dev || st.st_ino != f->ino)
        if (open_file(f, err, errlen) < 0)
            return -1;
    if (fstat(f->fd, &st) < 0) {
        snprintf(err, errlen, "cannot stat %s: %s", f->path, strerror(errno));
        return -1;
    }
    if (in->max_size && st.st_size > 0 && (uint64_t)st.st_size + len > in->max_size) {
        if (rotate(f, in->keep, err, errlen) < 0)
            return -1;
        *rotated = 1;
    }
    while (off < len) {
        ssize_t w = write(f->fd, line + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "cannot write %s: %s", f->path, strerror(errno));
            return -1;
        }
        off += (size_t)w;
    }
    if (in->fsync && fsync(f->fd) < 0) {
        snprintf(err, errlen, "cannot sync %s: %s", f->path, strerror(errno));
        return -1;
    }
    return 0;
}

static int jsonl_execute(void *instance, sluice_exec *exec)
{
    jsonl_instance *in = instance;
    const sluice_host *host = in->ctx->host;
    char err[512];
    size_t len = 0;
    int rotated = 0, rc;
    char *line = make_line(in, host, exec, &len, err, sizeof(err));
    if (!line) {
        host->exec_set_error(exec, err);
        return SLUICE_ERR;
    }
    pthread_mutex_lock(&in->file->mu);
    rc = append_line(in, line, len, &rotated, err, sizeof(err));
    pthread_mutex_unlock(&in->file->mu);
    free(line);
    if (rc < 0) {
        host->log(host, exec, SLUICE_LOG_ERROR, "%s", err);
        host->exec_set_error(exec, err);
        return SLUICE_ERR;
    }
    if (rotated)
        host->log(host, exec, SLUICE_LOG_INFO, "rotated %s", in->file->path);

    json_t *out = json_pack("{s:s, s:I, s:b}", "file", in->file->path, "bytes", (json_int_t)len,
                            "rotated", rotated);
    rc = out ? sluice_json_set_output(host, exec, out) : -1;
    json_decref(out);
    if (rc != 0) {
        host->exec_set_error(exec, "the line was written but the outputs could not be set");
        return SLUICE_ERR;
    }
    return SLUICE_OK;
}

SLUICE_PLUGIN_DEFINE(.name = "jsonl", .version = "1.0.0", .flags = SLUICE_PF_REENTRANT,
                     .description = "Appends each event to a JSON Lines file, rotating by size",
                     .license = "MIT", .init = jsonl_init, .destroy = jsonl_destroy,
                     .configure = jsonl_configure, .unconfigure = jsonl_unconfigure,
                     .execute = jsonl_execute)
