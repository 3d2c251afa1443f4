/*
 * test_captoken.c - capability URL tokens: the durable map of
 * core/gate/captoken.c on its own, then through core/front/prematch.c with a
 * configuration: creation, lookup, replacement, removal, persistence
 * across a restart (simulated by dropping the in-memory state and reading
 * tokens.json again).
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "captoken.h"
#include "config.h"
#include "prematch.h"

static char tmpdir[256];

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sluice-cap-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    captoken_reset();
    prematch_reset();
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    captoken_reset();
    prematch_reset();
}

static sluice_config *load(const char *triggers)
{
    char path[300], err[1024];
    snprintf(path, sizeof(path), "%s/sluice.conf", tmpdir);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "server: { state_dir = \"state/sub\"; };\n"
            "flows = ( { id = \"f\"; executor = \"shell\"; } );\n"
            "triggers = ( %s );\n",
            triggers);
    fclose(f);
    sluice_config *cfg = NULL;
    ck_assert_msg(config_load(&cfg, path, err, sizeof(err)) == 0, "%s", err);
    return cfg;
}

/* Route "/t/<token>"; returns prematch_route's result, v and m filled. */
static int route(sluice_config *cfg, const char *token, route_match *m, gate_verdict *v)
{
    http_request rq;
    memset(&rq, 0, sizeof(rq));
    rq.method = "GET";
    memset(v, 0, sizeof(*v));
    char path[128];
    snprintf(path, sizeof(path), "/t/%s", token);
    rq.path = strdup(path);
    int r = prematch_route(cfg, &rq, m, v);
    if (r != 0)
        ck_assert_str_eq(rq.path, "/t/[redacted]"); /* the token is gone from the path */
    free(rq.path);
    return r;
}

static json_t *state_file(void)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/state/sub/tokens.json", tmpdir);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 077, 0); /* only the owner may read tokens */
    json_t *j = json_load_file(path, 0, NULL);
    ck_assert_ptr_nonnull(j);
    return j;
}

/* The map on its own: trigger ids in, tokens out, nothing about routes. */
START_TEST(test_store_knows_no_configuration)
{
    char dir[400], other[400];
    snprintf(dir, sizeof(dir), "%s/plain", tmpdir);
    snprintf(other, sizeof(other), "%s/other", tmpdir);
    const char *ids[] = {"a", "b"};
    ck_assert_int_eq(captoken_ensure(dir, ids, 2), 0);
    char ta[CAPTOKEN_LEN + 1], tb[CAPTOKEN_LEN + 1], fresh[CAPTOKEN_LEN + 1], err[256];
    ck_assert_int_eq(captoken_get(dir, "a", ta, sizeof(ta)), 0);
    ck_assert_int_eq(captoken_get(dir, "b", tb, sizeof(tb)), 0);
    ck_assert_str_ne(ta, tb);
    ck_assert_int_eq(captoken_get(dir, "c", fresh, sizeof(fresh)), -1);

    char who[64] = "";
    ck_assert_int_eq(captoken_lookup(dir, ta, strlen(ta), who, sizeof(who)), 1);
    ck_assert_str_eq(who, "a");
    ck_assert_int_eq(captoken_lookup(dir, "AAAAAAAAAAAAAAAAAAAAAA", 22, who, sizeof(who)), 0);
    ck_assert_int_eq(captoken_lookup(dir, ta, CAPTOKEN_LEN - 1, who, sizeof(who)), 0);
    ck_assert_int_eq(captoken_lookup(dir, "AAAAAAAAAAAAAAAAAAAAA/", 22, who, sizeof(who)), 0);
    /* Never another directory's tokens. */
    ck_assert_int_eq(captoken_lookup(other, ta, strlen(ta), who, sizeof(who)), 0);

    ck_assert_int_eq(captoken_regenerate(dir, "a", fresh, sizeof(fresh), err, sizeof(err)), 0);
    who[0] = 0;
    ck_assert_int_eq(captoken_lookup(dir, ta, strlen(ta), who, sizeof(who)), -1);
    ck_assert_str_eq(who, "a");
    ck_assert_int_eq(captoken_lookup(dir, fresh, strlen(fresh), who, sizeof(who)), 1);

    ck_assert_int_eq(captoken_remove(dir, "b", err, sizeof(err)), 0);
    who[0] = 0;
    ck_assert_int_eq(captoken_lookup(dir, tb, strlen(tb), who, sizeof(who)), -1);
    ck_assert_str_eq(who, "b");
    /* Removed on purpose: ensuring it again does not bring it back. */
    captoken_reset();
    ck_assert_int_eq(captoken_ensure(dir, ids, 2), 0);
    ck_assert_int_eq(captoken_get(dir, "b", tb, sizeof(tb)), 1);
    ck_assert_int_eq(captoken_lookup(dir, fresh, strlen(fresh), who, sizeof(who)), 1);
}
END_TEST

START_TEST(test_create_and_route)
{
    sluice_config *cfg = load("{ id = \"ship\"; flows = [\"f\"]; capability = true; },"
                              "{ id = \"plain\"; flows = [\"f\"]; }");
    ck_assert_int_eq(prematch_sync_tokens(cfg), 0);
    char tok[CAPTOKEN_LEN + 1];
    ck_assert_int_eq(prematch_token_get(cfg, "ship", tok, sizeof(tok)), 0);
    ck_assert_uint_eq(strlen(tok), 22);
    const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    ck_assert_uint_eq(strspn(tok, alphabet), 22);
    ck_assert_int_eq(prematch_token_get(cfg, "plain", tok, sizeof(tok)), -1);
    ck_assert_int_eq(prematch_token_get(cfg, "ship", tok, sizeof(tok)), 0);

    json_t *j = state_file();
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(j, "triggers"), "ship"), "token")),
                     tok);
    json_decref(j);

    route_match m;
    gate_verdict v;
    ck_assert_int_eq(route(cfg, tok, &m, &v), 1);
    ck_assert_ptr_eq(m.target, config_find_trigger(cfg, "ship"));
    ck_assert_ptr_eq(m.template_path, captoken_template);

    ck_assert_int_eq(route(cfg, "AAAAAAAAAAAAAAAAAAAAAA", &m, &v), -1);
    ck_assert_int_eq(v.status, 400);
    ck_assert_str_eq(v.code, "invalid_token");
    ck_assert_int_eq(route(cfg, "short", &m, &v), -1);
    ck_assert_int_eq(v.status, 400);
    ck_assert_int_eq(route(cfg, "ship", &m, &v), -1); /* the internal path is no way in */

    /* A second sync changes nothing; a second token per trigger is never made. */
    ck_assert_int_eq(prematch_sync_tokens(cfg), 0);
    char again[CAPTOKEN_LEN + 1];
    ck_assert_int_eq(prematch_token_get(cfg, "ship", again, sizeof(again)), 0);
    ck_assert_str_eq(again, tok);
    config_unref(cfg);
}
END_TEST

START_TEST(test_no_capability_no_routing)
{
    sluice_config *cfg = load("{ id = \"plain\"; flows = [\"f\"]; }");
    ck_assert_int_eq(prematch_sync_tokens(cfg), 0);
    route_match m;
    gate_verdict v;
    ck_assert_int_eq(route(cfg, "AAAAAAAAAAAAAAAAAAAAAA", &m, &v), 0);
    char path[400];
    snprintf(path, sizeof(path), "%s/state/sub/tokens.json", tmpdir);
    ck_assert_int_ne(access(path, F_OK), 0); /* nothing written when nothing is needed */
    config_unref(cfg);
}
END_TEST

START_TEST(test_regenerate_remove_restart)
{
    sluice_config *cfg = load("{ id = \"ship\"; flows = [\"f\"]; capability = true; }");
    ck_assert_int_eq(prematch_sync_tokens(cfg), 0);
    char old[CAPTOKEN_LEN + 1], fresh[CAPTOKEN_LEN + 1], err[256];
    ck_assert_int_eq(prematch_token_get(cfg, "ship", old, sizeof(old)), 0);

    ck_assert_int_eq(prematch_token_regenerate(cfg, "ship", fresh, sizeof(fresh), err, sizeof(err)),
                     0);
    ck_assert_str_ne(fresh, old);
    route_match m;
    gate_verdict v;
    ck_assert_int_eq(route(cfg, old, &m, &v), -1); /* the old URL stops at once */
    ck_assert_int_eq(v.status, 400);
    ck_assert_int_eq(route(cfg, fresh, &m, &v), 1);
    ck_assert_int_eq(prematch_token_regenerate(cfg, "nope", fresh, sizeof(fresh), err, sizeof(err)),
                     -1);
    ck_assert_ptr_nonnull(strstr(err, "nope"));

    /* Restart: the state comes back from tokens.json. */
    captoken_reset();
    prematch_reset();
    ck_assert_int_eq(prematch_sync_tokens(cfg), 0);
    ck_assert_int_eq(route(cfg, fresh, &m, &v), 1);
    ck_assert_int_eq(route(cfg, old, &m, &v), -1);

    /* Removed: unreachable, and not recreated by a restart. */
    ck_assert_int_eq(prematch_token_remove(cfg, "ship", err, sizeof(err)), 0);
    ck_assert_int_eq(route(cfg, fresh, &m, &v), -1);
    ck_assert_int_eq(prematch_token_get(cfg, "ship", old, sizeof(old)), 1);
    captoken_reset();
    prematch_reset();
    ck_assert_int_eq(prematch_sync_tokens(cfg), 0);
    ck_assert_int_eq(prematch_token_get(cfg, "ship", old, sizeof(old)), 1);
    ck_assert_int_eq(route(cfg, fresh, &m, &v), -1);
    json_t *j = state_file();
    ck_assert(json_is_null(
        json_object_get(json_object_get(json_object_get(j, "triggers"), "ship"), "token")));
    ck_assert_uint_eq(json_array_size(json_object_get(j, "retired")), 2);
    char *text = json_dumps(j, 0);
    ck_assert_ptr_null(strstr(text, fresh)); /* retired tokens are kept as digests only */
    free(text);
    json_decref(j);

    /* Regenerate after removal brings the trigger back. */
    ck_assert_int_eq(prematch_token_regenerate(cfg, "ship", fresh, sizeof(fresh), err, sizeof(err)),
                     0);
    ck_assert_int_eq(route(cfg, fresh, &m, &v), 1);
    config_unref(cfg);
}
END_TEST

START_TEST(test_invalid_status_404)
{
    sluice_config *cfg = load("{ id = \"a\"; flows = [\"f\"]; capability = true; },"
                              "{ id = \"b\"; flows = [\"f\"]; "
                              "capability = { invalid_status = 404; }; }");
    ck_assert_int_eq(prematch_sync_tokens(cfg), 0);
    route_match m;
    gate_verdict v;
    /* One trigger hides its tokens: unknown ones must look the same. */
    ck_assert_int_eq(route(cfg, "AAAAAAAAAAAAAAAAAAAAAA", &m, &v), -1);
    ck_assert_int_eq(v.status, 404);
    ck_assert_str_eq(v.code, "not_found");
    char tok[CAPTOKEN_LEN + 1], err[256];
    ck_assert_int_eq(prematch_token_get(cfg, "a", tok, sizeof(tok)), 0);
    ck_assert_int_eq(prematch_token_remove(cfg, "a", err, sizeof(err)), 0);
    ck_assert_int_eq(route(cfg, tok, &m, &v), -1);
    ck_assert_int_eq(v.status, 400); /* a's own setting for its own old token */
    config_unref(cfg);
}
END_TEST

START_TEST(test_unwritable_state)
{
    sluice_config *cfg = load("{ id = \"ship\"; flows = [\"f\"]; capability = true; }");
    char dir[400];
    snprintf(dir, sizeof(dir), "%s/state", tmpdir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    /* A file where the directory should be: the save fails, nothing is half-made. */
    snprintf(dir, sizeof(dir), "%s/state/sub", tmpdir);
    FILE *f = fopen(dir, "w");
    fclose(f);
    ck_assert_int_eq(prematch_sync_tokens(cfg), -1);
    char tok[CAPTOKEN_LEN + 1];
    ck_assert_int_eq(prematch_token_get(cfg, "ship", tok, sizeof(tok)), -1);
    config_unref(cfg);
}
END_TEST

static Suite *captoken_suite(void)
{
    Suite *s = suite_create("captoken");
    TCase *tc = tcase_create("tokens");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_store_knows_no_configuration);
    tcase_add_test(tc, test_create_and_route);
    tcase_add_test(tc, test_no_capability_no_routing);
    tcase_add_test(tc, test_regenerate_remove_restart);
    tcase_add_test(tc, test_invalid_status_404);
    tcase_add_test(tc, test_unwritable_state);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(captoken_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
