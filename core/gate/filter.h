/*
 * filter.h - a trigger's `filter`: is this request worth a run at all?
 *
 * A filter is a small tree of conditions read from the configuration:
 *
 *   filter = { header = "X-GitHub-Event"; equals = "push"; };
 *   filter = { path = "body.ref"; matches = "^refs/heads/(main|release/.+)$"; };
 *   filter = { all = ( { header = "X-GitHub-Event"; equals = ["push", "release"]; },
 *                      { any = ( { path = "body.ref"; equals = "refs/heads/main"; },
 *                                { not = { path = "body.draft"; equals = "true"; }; } ); } ); };
 *
 * A leaf names a request header (case-insensitive) or a path into the
 * event ("body.commits[0].id", "query.tag[0]", "params.name", "function")
 * and tests the value with `equals` (a string or a list of accepted
 * strings) or `matches` (a POSIX extended regular expression, compiled at
 * load time). Numbers, booleans and null compare as their JSON text
 * ("42", "true", "null"); objects and arrays never match; a missing header
 * or path is false. Groups combine with all, any and not, at most 8 deep.
 */
#ifndef SLUICE_FILTER_H
#define SLUICE_FILTER_H

#include "confparse.h"
#include "request.h"

#include <jansson.h>

typedef struct filter filter;

/* Parse the filter group s. Errors go through cp_fail. */
int filter_parse(parse_ctx *c, const config_setting_t *s, const char *what, filter **out);
void filter_free(filter *f);

/*
 * 1 when the request passes, 0 when it does not; then why (if not NULL)
 * names the first condition that failed, for the log.
 */
int filter_eval(const filter *f, const http_request *rq, json_t *event, char *why, size_t whylen);

/* True when some condition of f reads the header (name lower-case). */
int filter_reads_header(const filter *f, const char *name);

/* The value at a dotted path of the event ("body.a[2].b"), or NULL. */
json_t *filter_lookup(json_t *root, const char *path);

#endif
