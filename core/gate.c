/*
 * gate.c - per-trigger admission (see gate.h).
 */
#include "gate.h"

#include "config.h"

const char *const gate_trigger_keys[] = {NULL};

int gate_parse(parse_ctx *c, const config_setting_t *g, const char *what,
               struct trigger_def *t, struct gate **out)
{
    (void)c;
    (void)g;
    (void)what;
    (void)t;
    *out = NULL;
    return 0;
}

void gate_free(struct gate *gate)
{
    (void)gate;
}

int gate_check_headers(struct gate *gate, const struct sluice_config *cfg,
                       const http_request *rq, gate_verdict *v)
{
    (void)gate;
    (void)cfg;
    (void)rq;
    v->status = 0;
    return 0;
}

int gate_check_body(struct gate *gate, const struct sluice_config *cfg, const http_request *rq,
                    json_t *event, gate_verdict *v)
{
    (void)gate;
    (void)cfg;
    (void)rq;
    (void)event;
    v->status = 0;
    return 0;
}
