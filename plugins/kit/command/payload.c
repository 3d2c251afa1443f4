/*
 * payload.c - what a command receives of the event: the event as a tree
 * when the flow reads inside it, and the bytes for stdin = "body".
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#include "kit/command/payload.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sluice/jansson.h>

#include "kit/command/settings.h"
#include "kit/base64.h"
#include "kit/kit.h"

int kit_payload_body(const json_t *event, char **out, size_t *len, char *err, size_t errlen)
{
    const json_t *raw = json_object_get(event, "raw_body_b64");
    const json_t *body = json_object_get(event, "body");

    *out = NULL;
    *len = 0;
    if (json_is_string(raw)) {
        if (kit_base64_decode(json_string_value(raw), json_string_length(raw),
                              (unsigned char **)out, len)) {
            kit_errf(err, errlen, "the event's raw_body_b64 is not valid base64");
            return -1;
        }
        return 0;
    }
    if (json_is_string(body)) {
        *len = json_string_length(body);
        *out = malloc(*len + 1);
        if (*out) {
            memcpy(*out, json_string_value(body), *len);
            (*out)[*len] = '\0';
        }
    } else if (body && !json_is_null(body)) {
        *out = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
        *len = *out ? strlen(*out) : 0;
    } else {
        *out = calloc(1, 1);
    }
    if (!*out) {
        kit_errf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* application/json or a +json type, parameters ignored. */
static int kit_is_json_type(const char *ct)
{
    size_t n = ct ? strcspn(ct, ";") : 0;

    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return ct && ((n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
                  (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0));
}

static int kit_copy_bytes(const char *data, size_t n, char **out, size_t *len, char *err,
                          size_t errlen)
{
    *out = malloc(n + 1);
    if (!*out) {
        kit_errf(err, errlen, "out of memory");
        return -1;
    }
    if (n)
        memcpy(*out, data, n);
    (*out)[n] = '\0';
    *len = n;
    return 0;
}

int kit_payload_stdin(const struct kit_settings *cfg, const sluice_host *host,
                      const sluice_exec *exec, const json_t *event, const char *event_text,
                      size_t event_len, char **out, size_t *len, char *err, size_t errlen)
{
    const char *bytes = NULL, *type = NULL;
    size_t n = 0;

    *out = NULL;
    *len = 0;
    if (cfg->stdin_mode != KIT_STDIN_BODY && cfg->stdin_mode != KIT_STDIN_RAW)
        return 0;
    if (SLUICE_HOST_HAS(host, exec_body))
        bytes = host->exec_body(exec, &n, &type);
    if (cfg->stdin_mode == KIT_STDIN_BODY) {
        if (bytes && kit_is_json_type(type))
            return kit_copy_bytes(bytes, n, out, len, err, errlen);
        return kit_payload_body(event, out, len, err, errlen);
    }
    if (bytes)
        return kit_copy_bytes(bytes, n, out, len, err, errlen);
    if (!SLUICE_HOST_HAS(host, exec_body)) {
        kit_errf(err, errlen,
                 "stdin = \"raw\" needs a host that lends the request body "
                 "(exec_body, plugin ABI 1.1)");
        return -1;
    }
    /* No bytes: a request without a body, or one the host withholds. */
    json_t *ev = sluice_json_parse_event(event_text, event_len, NULL);
    int withheld = !ev || !json_is_null(json_object_get(ev, "body")) ||
                   !json_is_null(json_object_get(ev, "raw_body_b64"));
    json_decref(ev);
    if (withheld) {
        kit_errf(err, errlen,
                 "stdin = \"raw\": the request body is not available byte for "
                 "byte (a key in it was redacted), so it is not handed over");
        return -1;
    }
    return kit_copy_bytes("", 0, out, len, err, errlen);
}

int kit_payload_event(const struct kit_settings *cfg, const char *text, size_t len, json_t **out,
                      char *err, size_t errlen)
{
    json_error_t jerr;

    *out = NULL;
    if (!cfg->needs_event_tree)
        return 0;
    *out = sluice_json_parse_event(text, len, &jerr);
    if (*out && json_is_object(*out))
        return 0;
    kit_errf(err, errlen, "the event is not a JSON object: %s", *out ? "another type" : jerr.text);
    return -1;
}
