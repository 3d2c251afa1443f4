/*
 * sluice/plugin.h - the sluice executor plugin ABI, version 1.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * WHAT A PLUGIN IS
 *
 * An executor plugin is one shared object that exports exactly one symbol,
 * sluice_plugin_v1, a function returning a pointer to a static, read-only
 * sluice_plugin descriptor. sluiced finds the object by the executor name a
 * flow asks for ("shell" -> shell.so) in its plugin path, loads it with
 * dlopen(RTLD_NOW | RTLD_LOCAL), validates the descriptor and only then calls
 * into it. The plugin is built against this header alone: no sluice library
 * is linked, and sluiced exports no symbols of its own. Everything the plugin
 * needs from the host arrives through the sluice_host table passed to init().
 *
 * LIFECYCLE
 *
 *     load      dlopen, dlsym("sluice_plugin_v1"), validate the descriptor
 *     init      once per process, before anything else      (optional)
 *     configure once per flow that names this executor, at start and at
 *               every reload; validate everything here so a bad flow fails
 *               at start and not on its first webhook
 *     execute   once per execution, on a worker thread
 *     cancel    when an execution times out, is cancelled or the daemon
 *               shuts down while it runs                     (optional)
 *     unconfigure when the configuration that owned the instance is retired
 *               and no execution of it is still running
 *     destroy   once, at exit                                (optional)
 *
 * A plugin is never dlclose()d while any of its code may run; in practice a
 * loaded plugin stays mapped until the process exits.
 *
 * THREADING
 *
 * init, configure and destroy run on the main thread, one at a time.
 * unconfigure runs on whichever host thread drops the last reference to the
 * retired configuration, never concurrently with execute on that instance. execute runs on one of the host's worker threads; it may block
 * (waiting for a child process, a socket...) because it never runs on a
 * thread that serves HTTP. Calls to execute on one instance are serialized by
 * the host unless the plugin sets SLUICE_PF_REENTRANT, in which case several
 * executions of one instance may run at once. cancel may be called from any
 * thread, concurrently with execute on the same execution: it must only flag
 * or signal, never free. Every host function is thread-safe.
 *
 * RESULTS AND PENDING WORK
 *
 * execute returns SLUICE_OK (the execution succeeded), SLUICE_ERR (it failed:
 * call exec_set_error first to say why) or SLUICE_PENDING (the work goes on
 * elsewhere; the plugin must call exec_complete exactly once later, from any
 * thread). Until execute returns or exec_complete is called, the execution
 * and everything it lends are valid.
 *
 * OWNERSHIP
 *
 * Whoever allocates frees. Every pointer the host passes is borrowed: the
 * event, the body, headers and meta values stay valid until the execution
 * completes (a meta value the plugin set itself, until it sets that key
 * again); cfg_json and where only during configure. Everything a plugin
 * passes to the host (outputs, errors, logs, responses, meta) is copied
 * before the call returns. Instances and plugin contexts belong to the
 * plugin.
 *
 * JSON
 *
 * JSON crosses the ABI as UTF-8 text, a pointer and a length (the text is
 * also NUL-terminated as a convenience). No JSON library type appears here;
 * <sluice/jansson.h> is an optional static-inline helper for plugins that use
 * jansson themselves.
 *
 * LIMITS ENFORCED BY THE HOST
 *
 *     outputs            SLUICE_MAX_OUTPUT bytes of JSON, an object
 *     error message      SLUICE_MAX_ERROR bytes (longer text is cut)
 *     logs per stream    head and tail of SLUICE_LOG_KEEP bytes each; the
 *                        middle is dropped and the drop is marked
 *     response body      SLUICE_MAX_OUTPUT bytes
 *     meta (1.1)         SLUICE_META_MAX keys per execution, each key at
 *                        most SLUICE_META_KEY_MAX bytes, each value at most
 *                        SLUICE_META_VALUE_MAX bytes
 *
 * VERSIONING
 *
 * abi_major changes only when an existing field or function changes meaning
 * or position; the entry symbol is then renamed (sluice_plugin_v2), so an old
 * host refuses a new plugin cleanly at dlsym and vice versa. Within a major,
 * structs only grow at the end and abi_minor counts the growth. A host loads
 * a plugin when the majors are equal and the plugin's minor is not newer than
 * the host's. A plugin that wants a host function added in a later minor tests
 * for it with SLUICE_HOST_HAS(host, fn) before calling it.
 *
 * CHANGELOG
 *
 *     2026-11-23  1.0  First version: sluice_plugin, sluice_host with log,
 *                      exec_event, exec_header, exec_meta, exec_set_output,
 *                      exec_set_error, exec_set_exit_code, exec_write_log,
 *                      exec_is_cancelled, exec_complete, exec_set_response.
 *     2026-11-23  1.1  exec_body (the request body byte for byte, with its
 *                      content type) and exec_set_meta (facts a plugin
 *                      learned, kept with the execution and shown in its
 *                      document); the SLUICE_META_* limits; exec_meta knows
 *                      "respond_with" and the keys set with exec_set_meta.
 */
#ifndef SLUICE_PLUGIN_H
#define SLUICE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SLUICE_ABI_MAJOR 1
#define SLUICE_ABI_MINOR 1

/* Results of execute and values for exec_complete. */
#define SLUICE_OK 0
#define SLUICE_ERR (-1)
#define SLUICE_PENDING 1

/* Log levels for host->log. */
#define SLUICE_LOG_ERROR 0
#define SLUICE_LOG_WARN 1
#define SLUICE_LOG_INFO 2
#define SLUICE_LOG_DEBUG 3

/* Streams for exec_write_log. */
#define SLUICE_STDOUT 1
#define SLUICE_STDERR 2

/* Why an execution was cancelled (exec_is_cancelled). */
#define SLUICE_CANCEL_NONE 0
#define SLUICE_CANCEL_REQUEST 1  /* an operator asked (API) */
#define SLUICE_CANCEL_TIMEOUT 2  /* the flow's timeout passed */
#define SLUICE_CANCEL_SHUTDOWN 3 /* the daemon is stopping */

/* sluice_plugin.flags */
#define SLUICE_PF_REENTRANT 0x1u /* execute may run concurrently per instance */

/* Limits the host enforces, see LIMITS above. */
#define SLUICE_MAX_OUTPUT (1024u * 1024u)
#define SLUICE_MAX_ERROR 4096u
#define SLUICE_LOG_KEEP (32u * 1024u)
/* Since 1.1: exec_set_meta. */
#define SLUICE_META_MAX 32u
#define SLUICE_META_KEY_MAX 64u
#define SLUICE_META_VALUE_MAX 1024u

#if defined(__GNUC__) || defined(__clang__)
#define SLUICE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SLUICE_EXPORT __attribute__((visibility("default")))
#else
#define SLUICE_PRINTF(f, a)
#define SLUICE_EXPORT
#endif

/* One execution, owned by the host. Plugins see it only through pointers. */
typedef struct sluice_exec sluice_exec;

typedef struct sluice_host sluice_host;

/*
 * The services the host gives a plugin. Passed to init (and available for
 * the life of the process). The three leading fields describe the host's
 * version of this table; newer entries are appended at the end.
 */
struct sluice_host {
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t struct_size; /* sizeof(sluice_host) as the host was built */
    uint32_t reserved0;

    /*
     * Write one log line, attributed to this plugin and, when exec is not
     * NULL, to that execution and its request id. No trailing newline needed.
     */
    void (*log)(const sluice_host *host, const sluice_exec *exec, int level,
                const char *fmt, ...) SLUICE_PRINTF(4, 5);

    /* The event JSON (see README, "The event"); *len receives its length. */
    const char *(*exec_event)(const sluice_exec *exec, size_t *len);

    /* A request header by case-insensitive name, or NULL. Auth material
     * (signatures, keys, Authorization) is never visible here. */
    const char *(*exec_header)(const sluice_exec *exec, const char *name);

    /* Facts about the execution: "execution_id", "request_id", "flow",
     * "namespace", "trigger", "function" (NULL when none), "attempt",
     * "timeout_ms" ("0" when none), "mode" ("sync" or "async"); since 1.1
     * "respond_with" ("upstream" when the waiting sender is to get the
     * response the plugin sets with exec_set_response, else "execution")
     * and every key set with exec_set_meta. NULL for an unknown key. */
    const char *(*exec_meta)(const sluice_exec *exec, const char *key);

    /* Set the execution's outputs: one JSON object. Replaces earlier
     * outputs. Returns 0, or -1 when the text is not a JSON object or is
     * over SLUICE_MAX_OUTPUT (the refusal is logged). */
    int (*exec_set_output)(sluice_exec *exec, const char *json, size_t len);

    /* Say why the execution failed. Returns 0. */
    int (*exec_set_error)(sluice_exec *exec, const char *message);

    /* Record the exit code of the process the execution ran. Returns 0. */
    int (*exec_set_exit_code)(sluice_exec *exec, int code);

    /* Append a chunk of output to SLUICE_STDOUT or SLUICE_STDERR. The host
     * keeps the head and the tail (SLUICE_LOG_KEEP each). Returns 0, or -1
     * for a bad stream. */
    int (*exec_write_log)(sluice_exec *exec, int stream, const char *data, size_t len);

    /* Nonzero (a SLUICE_CANCEL_* reason) once the execution should stop. A
     * plugin that waits should poll this at least every 100 ms or implement
     * cancel. */
    int (*exec_is_cancelled)(const sluice_exec *exec);

    /* Finish an execution for which execute returned SLUICE_PENDING, with
     * SLUICE_OK or SLUICE_ERR. Exactly once; later calls are ignored and
     * logged. After it returns, exec must not be touched. */
    void (*exec_complete)(sluice_exec *exec, int result);

    /* For sync triggers: the HTTP answer to send to the original sender
     * instead of the execution document. content_type may be NULL
     * (application/json). The trigger has the last word: respond_with =
     * "execution" always sends the document, "upstream" expects this answer
     * (exec_meta "respond_with" tells), unset takes it when there is one.
     * Returns 0, or -1 for a status outside 100-599 or a body over
     * SLUICE_MAX_OUTPUT. */
    int (*exec_set_response)(sluice_exec *exec, int status, const char *content_type,
                             const char *body, size_t len);

    /* ---- ABI 1.1: test with SLUICE_HOST_HAS before calling ---- */

    /* The request body exactly as it was received, byte for byte (also
     * after a crash and on replay), *len bytes followed by a NUL that is not
     * part of it. *content_type (when not NULL) receives the request's
     * Content-Type header as sent, parameters included, or NULL when it had
     * none. Returns NULL with *len 0 when the request had no body, and also
     * when the host withheld it because a credential travelled in it (a key
     * in a body field, redacted in the event): then the event's body is all
     * there is. Borrowed like the event. len and content_type may be NULL. */
    const char *(*exec_body)(const sluice_exec *exec, size_t *len, const char **content_type);

    /* Record a fact the plugin learned about the execution ("git.commit").
     * The key matches [a-z0-9][a-z0-9._-]* with at least one '.', so it
     * never collides with the host's own exec_meta keys; prefix it with the
     * plugin's name. The value is UTF-8 text. Setting a key again replaces
     * its value (a pointer exec_meta returned for it is then stale); NULL
     * removes it. Values are readable with exec_meta, shown under "meta" in
     * the execution document and stored with it; a retry starts without
     * them. Returns 0, or -1 (logged) for a bad key, a value that is not
     * UTF-8 or is over SLUICE_META_VALUE_MAX bytes, or a new key beyond
     * SLUICE_META_MAX. */
    int (*exec_set_meta)(sluice_exec *exec, const char *key, const char *value);
};

/* True when the host table has function fn (added in some 1.x minor). */
#define SLUICE_HOST_HAS(h, fn)                                                          \
    ((h)->struct_size >= offsetof(sluice_host, fn) + sizeof((h)->fn) && (h)->fn != NULL)

/*
 * The descriptor a plugin returns from sluice_plugin_v1(). Static storage,
 * never freed. Use SLUICE_PLUGIN_DEFINE to fill the leading fields.
 */
typedef struct sluice_plugin {
    uint32_t abi_major;   /* SLUICE_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;   /* SLUICE_ABI_MINOR the plugin was built with */
    uint32_t struct_size; /* sizeof(sluice_plugin) the plugin was built with */
    uint32_t flags;       /* SLUICE_PF_* */

    const char *name;        /* [a-z0-9._-]+, unique, equal to the file's base name */
    const char *version;     /* the plugin's own version, free text */
    const char *description; /* one line */
    const char *license;     /* SPDX identifier */

    /* Optional. Called once with the host table, which stays valid until
     * exit. Store per-process state in *plugin_ctx. Return 0, or -1 with a
     * message in err (errlen bytes, NUL-terminated) to refuse to load. */
    int (*init)(const sluice_host *host, void **plugin_ctx, char *err, size_t errlen);

    /* Optional. Called once at exit with what init stored. */
    void (*destroy)(void *plugin_ctx);

    /* Mandatory. Validate one flow's config (a JSON object, cfg_len bytes)
     * and build an instance. where names the config source ("flows.d/x.conf:12")
     * for messages. Return 0 and set *instance, or -1 with a message in err. */
    int (*configure)(void *plugin_ctx, const char *cfg_json, size_t cfg_len, const char *where,
                     void **instance, char *err, size_t errlen);

    /* Mandatory. Free an instance made by configure. */
    void (*unconfigure)(void *instance);

    /* Mandatory. Run one execution: SLUICE_OK, SLUICE_ERR or SLUICE_PENDING. */
    int (*execute)(void *instance, sluice_exec *exec);

    /* Optional. Ask a running execution to stop soon. Any thread; must not
     * block and must not complete the execution itself. */
    void (*cancel)(void *instance, sluice_exec *exec);
} sluice_plugin;

/* The one symbol a plugin exports. */
SLUICE_EXPORT const sluice_plugin *sluice_plugin_v1(void);

/*
 * Define sluice_plugin_v1() returning a descriptor with the ABI fields
 * filled in. Pass designated initializers for the rest:
 *
 *     SLUICE_PLUGIN_DEFINE(.name = "hello", .version = "1.0",
 *                          .description = "says hello", .license = "MIT",
 *                          .configure = hello_configure,
 *                          .unconfigure = hello_unconfigure,
 *                          .execute = hello_execute)
 */
#define SLUICE_PLUGIN_DEFINE(...)                                                       \
    SLUICE_EXPORT const sluice_plugin *sluice_plugin_v1(void)                           \
    {                                                                                   \
        static const sluice_plugin sluice_plugin_descriptor_ = {                        \
            .abi_major = SLUICE_ABI_MAJOR,                                              \
            .abi_minor = SLUICE_ABI_MINOR,                                              \
            .struct_size = (uint32_t)sizeof(sluice_plugin),                             \
            __VA_ARGS__};                                                               \
        return &sluice_plugin_descriptor_;                                              \
    }

#ifdef __cplusplus
}
#endif

#endif /* SLUICE_PLUGIN_H */
