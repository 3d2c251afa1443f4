/*
 * fuzz_captoken.c - capability URLs (captoken.c): the /t/TOKEN path and
 * the tokens.json state file they are looked up in.
 *
 * Input: a path segment line ("@T" stands for the token the state file
 * gives trigger "cap"), then the text of tokens.json. Checks: a state file
 * that does not read as JSON routes nothing (fail closed); a path routes to
 * a trigger only with that trigger's current token, to a capability
 * trigger, and never with a malformed one; whatever the answer, a routed
 * or refused token is gone from the path.
 */
#include "fuzz.h"

#include "captoken.h"
#include "prematch.h"
#include "config.h"
#include "log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char conf[] =
    "server: { state_dir = \"%s/state\"; };\n"
    "flows = ( { id = \"f\"; executor = \"shell\"; } );\n"
    "triggers = ( { id = \"cap\"; flows = [\"f\"]; capability = true; },\n"
    "             { id = \"cap404\"; flows = [\"f\"]; capability = { invalid_status = 404; }; },\n"
    "             { id = \"plain\"; flows = [\"f\"]; path = \"/plain\"; } );\n";

static sluice_config *cfg;
static char state_file[600];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_level(-1);
    char err[1024], text[sizeof(conf) + 300];
    int n = snprintf(text, sizeof(text), conf, fuzz_tmpdir());
    cfg = fuzz_load_config(text, (size_t)n, err, sizeof(err));
    if (!cfg) {
        fprintf(stderr, "fuzz_captoken: %s\n", err);
        abort();
    }
    snprintf(state_file, sizeof(state_file), "%s/state", fuzz_tmpdir());
    mkdir(state_file, 0700);
    snprintf(state_file, sizeof(state_file), "%s/state/tokens.json", fuzz_tmpdir());
    return 0;
}

static int token_text(const char *s)
{
    if (!s || strlen(s) != CAPTOKEN_LEN)
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
           CAPTOKEN_LEN;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    char *seg = fuzz_line(&in);
    size_t flen;
    char *file = fuzz_rest(&in, &flen);
    FILE *f = fopen(state_file, "w");
    if (!f || fwrite(file, 1, flen, f) != flen || fclose(f) != 0)
        abort();
    captoken_reset();
    prematch_reset();

    json_t *root = json_loadb(file, flen, JSON_REJECT_DUPLICATES, NULL);
    json_t *trig = json_object_get(root, "triggers");
    const char *cap_tok = json_string_value(json_object_get(json_object_get(trig, "cap"), "token"));
    char path[256];
    if (strcmp(seg, "@T") == 0 && token_text(cap_tok))
        snprintf(path, sizeof(path), "/t/%s", cap_tok);
    else
        snprintf(path, sizeof(path), "/t/%s", seg);

    http_request rq;
    memset(&rq, 0, sizeof(rq));
    rq.path = strdup(path);
    route_match m;
    memset(&m, 0, sizeof(m));
    gate_verdict v;
    memset(&v, 0, sizeof(v));
    int r = prematch_route(cfg, &rq, &m, &v);
    const char *tok = path + 3;
    int is_cap_url = tok[0] && !strchr(tok, '/');
    if (!is_cap_url) {
        FUZZ_CHECK(r == 0 && strcmp(rq.path, path) == 0, "%s is no capability URL (%d)", path, r);
    } else {
        FUZZ_CHECK(r != 0 && strcmp(rq.path, "/t/[redacted]") == 0,
                   "%s: prematch_route %d left the path %s", path, r, rq.path);
        FUZZ_CHECK(r == 1 || v.status == 400 || v.status == 404, "%s refused with %d", path,
                   v.status);
    }
    if (r == 1) {
        trigger_def *t = m.target;
        FUZZ_CHECK(root, "%s routed while tokens.json does not read (fail open)", path);
        FUZZ_CHECK(token_text(tok), "malformed token %s routed", tok);
        FUZZ_CHECK(t && (strcmp(t->id, "cap") == 0 || strcmp(t->id, "cap404") == 0),
                   "%s routed to %s", path, t ? t->id : "nothing");
        const char *want =
            json_string_value(json_object_get(json_object_get(trig, t->id), "token"));
        /* A trigger the file did not know got a new token, which no input can know. */
        FUZZ_CHECK(want && strcmp(want, tok) == 0, "%s routed to %s, whose token is %s", path,
                   t->id, want ? want : "(none)");
    }
    json_decref(root);
    free(rq.path);
    free(seg);
    free(file);
    return 0;
}
