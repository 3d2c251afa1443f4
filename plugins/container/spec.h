/*
 * spec.h - the body of POST /containers/create for one execution.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#ifndef CTR_SPEC_H
#define CTR_SPEC_H

#include <stddef.h>

#include <jansson.h>

#include "settings.h"

/* What the host says about one execution and where its files are. */
struct ctr_spec_facts {
    const char *execution_id;
    const char *request_id;
    const char *flow;
    const char *trigger;
    const char *function; /* NULL when none */
    const char *owner;    /* the sluice.owner label: which sluiced made it */
    const char *host_event_path;
    const char *host_out_dir;
};

/*
 * The container's configuration: image, command and entrypoint rendered
 * against event, the environment (SLUICE_* first, then env, then secrets),
 * labels (sluice.execution, sluice.flow, sluice.owner, sluice.keep), stdin
 * when attached, and HostConfig: network, memory (swap equal to it, so the
 * limit is real), CPUs, pids, ulimits (always), read-only root, and the
 * mounts (the event file, the outputs directory, then the flow's). Returns
 * a new object, or NULL with err set (a value with a NUL byte cannot be an
 * argument or a variable).
 */
json_t *ctr_spec_build(const struct ctr_settings *cfg, const json_t *event,
                       const struct ctr_spec_facts *facts, char *err, size_t errlen);

#endif /* CTR_SPEC_H */
