/*
 * engine.h - the Engine API calls the executor makes, one function each.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * Each returns 0 on success, CTR_API_CANCELLED when a cancellable call was
 * stopped, or -1 with a message in err that carries the daemon's own words
 * ("no such image: ...", "runc create failed: ...") when it refused.
 */
#ifndef CTR_ENGINE_H
#define CTR_ENGINE_H

#include <stddef.h>

#include <jansson.h>

#include "api.h"

/* Calls that should be quick still get a bound: a wedged daemon must not
 * hold a worker forever. */
#define CTR_CALL_TIMEOUT_MS 60000L
#define CTR_PING_TIMEOUT_MS 3000L
#define CTR_PULL_TIMEOUT_MS (30L * 60 * 1000)

/* GET /_ping. */
int ctr_engine_ping(struct ctr_api *api, char *err, size_t errlen);

/*
 * POST /containers/create?name=NAME. On success the container's id goes to
 * id (idlen bytes). *image_missing is set when the engine said 404 because
 * the image is not there (so the caller may pull and try again).
 */
int ctr_engine_create(struct ctr_api *api, const char *name, const char *spec, size_t spec_len,
                      char *id, size_t idlen, int *image_missing, char *err, size_t errlen);

/* 1 when the engine has image, 0 when not, -1 when it could not say. */
int ctr_engine_image_exists(struct ctr_api *api, const char *image, char *err, size_t errlen);

/*
 * POST /images/create?fromImage=...: pull image (cancellable). The engine
 * answers 200 and reports failure inside the progress stream; that is read.
 */
int ctr_engine_pull(struct ctr_api *api, const char *image, char *err, size_t errlen);

/* POST /containers/{id}/start. */
int ctr_engine_start(struct ctr_api *api, const char *id, char *err, size_t errlen);

/* POST /containers/{id}/wait (cancellable, no time limit): the exit code. */
int ctr_engine_wait(struct ctr_api *api, const char *id, int *code, char *err, size_t errlen);

/*
 * GET /containers/{id}/logs?stdout=1&stderr=1, every byte to sink. After a
 * cancellation the call must not be cancellable (it would stop at once):
 * timeout_ms then bounds it.
 */
int ctr_engine_logs(struct ctr_api *api, const char *id, int cancellable, long timeout_ms,
                    ctr_api_sink_fn sink, void *sink_ctx, int *cut_short, char *err, size_t errlen);

/* GET /containers/{id}/json: 1 when State.OOMKilled, else 0 (also on errors). */
int ctr_engine_oom_killed(struct ctr_api *api, const char *id);

/* POST /containers/{id}/kill (SIGKILL). A container that already stopped is fine. */
int ctr_engine_kill(struct ctr_api *api, const char *id, char *err, size_t errlen);

/* DELETE /containers/{id}?force=1&v=1. A container already gone is fine. */
int ctr_engine_remove(struct ctr_api *api, const char *id, char *err, size_t errlen);

/* GET /containers/json?all=1 filtered on the label sluice.execution. */
int ctr_engine_list_ours(struct ctr_api *api, json_t **list, char *err, size_t errlen);

#endif /* CTR_ENGINE_H */
