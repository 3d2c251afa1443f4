/*
 * payload.h - the bytes a command receives on stdin for stdin = "body".
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef KIT_PAYLOAD_H
#define KIT_PAYLOAD_H

#include <stddef.h>

#include <jansson.h>

/*
 * The raw request body reconstructed from the event: the decoded
 * raw_body_b64 when the event carries one (the exact bytes, e.g. for binary
 * bodies), else body itself when it is a string (text and form bodies),
 * else body as compact JSON, else nothing. Returns 0 with a malloc'd
 * buffer in *out (NUL-terminated, *len bytes), or -1 with err set.
 */
struct kit_settings;

/*
 * The event as a tree, for the flows whose argv, env or stdin read inside
 * it (kit_settings.needs_event_tree); *out stays NULL for the others,
 * which get the event only as text. Read with sluice_json_parse_event, as
 * sluiced reads bodies (a number jansson cannot hold is the string of its
 * exact text, so {body.id} gives the digits as sent). A body may carry
 * \u0000; it is refused only where a value with a NUL would be cut (argv,
 * env), not for the whole event. Returns 0, or -1 with err set.
 */
int kit_payload_event(const struct kit_settings *cfg, const char *text, size_t len, json_t **out,
                      char *err, size_t errlen);

int kit_payload_body(const json_t *event, char **out, size_t *len, char *err, size_t errlen);

/*
 * What a command reads on stdin for stdin = "body" and stdin = "raw"; for
 * the other modes *out stays NULL. "raw" is the request body byte for byte
 * as the host lends it (exec_body): a flow can check a signature over it
 * itself. "body" is the same for a JSON body (the bytes are the JSON, with
 * every number as it was sent), a form as a JSON object, text as it is,
 * and falls back to kit_payload_body on the event when the host lends no
 * bytes. A body the host withholds (a key in it was redacted) fails "raw"
 * rather than hand over something else. event is the event's tree (needed
 * for "body", and read for "raw" only when no bytes came) and event_text
 * its text. Returns 0 with a malloc'd buffer, or -1 with err set.
 */
struct sluice_host;
struct sluice_exec;
int kit_payload_stdin(const struct kit_settings *cfg, const struct sluice_host *host,
                      const struct sluice_exec *exec, const json_t *event, const char *event_text,
                      size_t event_len, char **out, size_t *len, char *err, size_t errlen);

#endif /* KIT_PAYLOAD_H */
