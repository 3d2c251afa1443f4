/*
 * outputs.h - read back what a command wrote to $SLUICE_OUTPUT.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef KIT_OUTPUTS_H
#define KIT_OUTPUTS_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>
#include <sluice/plugin.h>

/*
 * Turn the file's text into outputs. A JSON object is taken as it is (text
 * that starts with '{' must be one). Anything else is read as key=value
 * lines, each becoming a string member; blank lines and lines starting with
 * '#' are skipped, a trailing '\r' is dropped, the key is trimmed and the
 * value kept as written; a later key replaces an earlier one. Text that is
 * empty (or only whitespace, comments and blank lines) means no outputs:
 * *out is NULL. Returns 0, or -1 with the reason in err.
 */
int kit_outputs_parse(const char *data, size_t len, json_t **out, char *err, size_t errlen);

/*
 * Read and parse the file at path. The command controls that file (and the
 * directory holding it), so it is opened without following symbolic links,
 * must be a regular file and, when owner is not (uid_t)-1, must belong to
 * that user: a command running as another user must not trick root into
 * reading /etc/shadow back as outputs. A missing file means no outputs.
 */
int kit_outputs_load(const char *path, uid_t owner, json_t **out, char *err, size_t errlen);

/*
 * The outputs step of an execution. Outputs are read whatever the result:
 * a failing command may well have written why. A problem with them fails
 * an otherwise successful execution (rc is SLUICE_OK: the message goes to
 * err and SLUICE_ERR is returned), since the flow relies on them, and is
 * only logged for one that failed anyway, so the first error stays the one
 * reported. Each returns the execution's result.
 *
 * kit_outputs_read loads path (as kit_outputs_load) into *obj, NULL when
 * there are none; kit_outputs_set hands obj (taken) to the host;
 * kit_outputs_apply does both, setting outputs only when there are some.
 */
int kit_outputs_read(const sluice_host *host, sluice_exec *exec, const char *path, uid_t owner,
                     int rc, json_t **obj, char *err, size_t errlen);
int kit_outputs_set(const sluice_host *host, sluice_exec *exec, json_t *obj, int rc, char *err,
                    size_t errlen);
int kit_outputs_apply(const sluice_host *host, sluice_exec *exec, const char *path, uid_t owner,
                      int rc, char *err, size_t errlen);

#endif /* KIT_OUTPUTS_H */
