/*
 * test_sdk.c - the SDK as a plugin author uses it, without a server:
 *
 *   - <sluice/jansson.h>: every helper, including edge cases;
 *   - the example plugins (sdk/examples/hello, sdk/examples/jsonl) and the
 *     C99/C++ build checks, loaded from the built .so files through the
 *     mock host (sdk/mock), the way their authors' own tests would;
 *   - the mock host's ABI 1.1 functions (exec_body, exec_set_meta), through
 *     the plugin built from the frozen v1.1 header;
 *   - the rules the mock shares with sluiced (tests/abi/abi_cases.h, which
 *     test_exec runs through sluiced's host table);
 *   - jsonl in depth: lines, field selection, rotation by size, keep,
 *     reopening after an outside rename, one shared file for two flows.
 */
#define _GNU_SOURCE
#include <sluice/jansson.h>
#include <sluice/plugin.h>

#include "mock_host.h"

#include "abi_cases.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ABI_PLUGIN_DIR
#error "ABI_PLUGIN_DIR must name tests/abi/.libs in the build tree"
#endif

/* ---------------------------------------------------------------------
 * <sluice/jansson.h>
 */

START_TEST(json_path_walks_objects_and_arrays)
{
    json_t *root = json_loads("{\"body\":{\"ref\":\"main\",\"items\":[{\"id\":7},{\"id\":\"x\"}],"
                              "\"a.b\":1},\"headers\":{\"content-type\":\"text/plain\"},"
                              "\"n\":null}",
                              0, NULL);
    ck_assert_ptr_nonnull(root);
    ck_assert_str_eq(sluice_json_path_string(root, "body.ref"), "main");
    ck_assert_int_eq(json_integer_value(sluice_json_path(root, "body.items.0.id")), 7);
    ck_assert_str_eq(sluice_json_path_string(root, "body.items.1.id"), "x");
    ck_assert_str_eq(sluice_json_path_string(root, "headers.content-type"), "text/plain");
    ck_assert_ptr_eq(sluice_json_path(root, ""), root);
    ck_assert(json_is_null(sluice_json_path(root, "n")));
    /* Missing, out of range, wrong kind of segment, through a scalar. */
    ck_assert_ptr_null(sluice_json_path(root, "body.nope"));
    ck_assert_ptr_null(sluice_json_path(root, "body.items.2"));
    ck_assert_ptr_null(sluice_json_path(root, "body.items.x"));
    ck_assert_ptr_null(sluice_json_path(root, "body.items.-1"));
    ck_assert_ptr_null(sluice_json_path(root, "body.items."));
    ck_assert_ptr_null(sluice_json_path(root, "body.ref.x"));
    ck_assert_ptr_null(sluice_json_path(root, "body.a.b")); /* dots always split */
    ck_assert_ptr_null(sluice_json_path(NULL, "body"));
    ck_assert_ptr_null(sluice_json_path(root, NULL));
    /* Not a string: NULL from the _string variant. */
    ck_assert_ptr_null(sluice_json_path_string(root, "body.items.0.id"));
    json_decref(root);
}
END_TEST

START_TEST(json_path_takes_long_keys)
{
    char key[300], path[310];
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = 0;
    json_t *root = json_pack("{s:{s:s}}", "a", key, "long");
    snprintf(path, sizeof(path), "a.%s", key);
    ck_assert_str_eq(sluice_json_path_string(root, path), "long");
    json_decref(root);
}
END_TEST

static int size_of(const char *json, uint64_t *out)
{
    json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
    int rc = sluice_json_size(v, out);
    json_decref(v);
    return rc;
}

static int duration_of(const char *json, uint64_t *out)
{
    json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
    int rc = sluice_json_duration(v, out);
    json_decref(v);
    return rc;
}

START_TEST(json_size_and_duration_use_sluice_units)
{
    uint64_t v = 0;
    ck_assert_int_eq(size_of("4096", &v), 0);
    ck_assert_uint_eq(v, 4096);
    ck_assert_int_eq(size_of("\"512K\"", &v), 0);
    ck_assert_uint_eq(v, 512 * 1024);
    ck_assert_int_eq(size_of("\"1m\"", &v), 0);
    ck_assert_uint_eq(v, 1024 * 1024);
    ck_assert_int_eq(size_of("\"2 GiB\"", &v), 0);
    ck_assert_uint_eq(v, 2ull << 30);
    ck_assert_int_eq(size_of("\"10\"", &v), 0);
    ck_assert_uint_eq(v, 10);
    ck_assert_int_eq(size_of("-1", &v), -1);
    ck_assert_int_eq(size_of("\"1T\"", &v), -1);
    ck_assert_int_eq(size_of("\"M\"", &v), -1);
    ck_assert_int_eq(size_of("\"99999999999999999999\"", &v), -1);
    ck_assert_int_eq(size_of("\"17179869184G\"", &v), -1); /* 2^64 bytes */
    ck_assert_int_eq(size_of("1.5", &v), -1);
    ck_assert_int_eq(size_of("true", &v), -1);

    ck_assert_int_eq(duration_of("\"250ms\"", &v), 0);
    ck_assert_uint_eq(v, 250);
    ck_assert_int_eq(duration_of("\"30s\"", &v), 0);
    ck_assert_uint_eq(v, 30000);
    ck_assert_int_eq(duration_of("\"30\"", &v), 0);
    ck_assert_uint_eq(v, 30000);
    ck_assert_int_eq(duration_of("\"5m\"", &v), 0);
    ck_assert_uint_eq(v, 300000);
    ck_assert_int_eq(duration_of("\"1h\"", &v), 0);
    ck_assert_uint_eq(v, 3600000);
    ck_assert_int_eq(duration_of("\"14d\"", &v), 0);
    ck_assert_uint_eq(v, 14ull * 86400000);
    ck_assert_int_eq(duration_of("12", &v), 0);
    ck_assert_uint_eq(v, 12000);
    ck_assert_int_eq(duration_of("\"5 min\"", &v), 0);
    ck_assert_uint_eq(v, 300000);
    ck_assert_int_eq(duration_of("\"5M\"", &v), -1); /* months? minutes? refuse */
    ck_assert_int_eq(duration_of("\"-1s\"", &v), -1);
    ck_assert_int_eq(duration_of("-3", &v), -1);
}
END_TEST

START_TEST(json_config_and_keys_name_the_place)
{
    char err[200];
    ck_assert_ptr_null(sluice_json_config("[1]", 3, "f.conf:4", err, sizeof(err)));
    ck_assert_str_eq(err, "f.conf:4: configuration must be a group of settings");
    ck_assert_ptr_null(sluice_json_config("{\"a\":", 5, "f.conf:4", err, sizeof(err)));
    ck_assert(strncmp(err, "f.conf:4: configuration is not valid JSON: ", 43) == 0);
    ck_assert_ptr_null(sluice_json_config("{\"a\":1,\"a\":2}", 13, "f.conf:4", err, sizeof(err)));
    ck_assert_ptr_null(sluice_json_config(NULL, 0, NULL, err, sizeof(err)));
    ck_assert_str_eq(err, "no configuration");
    /* cfg_len is honoured: the text need not end there. */
    json_t *cfg = sluice_json_config("{\"path\":\"/x\",\"colour\":1}garbage", 24, "f.conf:4", err,
                                     sizeof(err));
    ck_assert_ptr_nonnull(cfg);
    static const char *const known[] = {"path", "keep", NULL};
    ck_assert_int_eq(sluice_json_check_keys(cfg, known, "f.conf:4", err, sizeof(err)), -1);
    ck_assert_str_eq(err, "f.conf:4: unknown setting \"colour\" (known: path, keep)");
    static const char *const none[] = {NULL};
    ck_assert_int_eq(sluice_json_check_keys(cfg, none, NULL, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "unknown setting \"path\" (known: none)");
    json_object_del(cfg, "colour");
    ck_assert_int_eq(sluice_json_check_keys(cfg, known, "f.conf:4", err, sizeof(err)), 0);
    json_decref(cfg);
}
END_TEST

START_TEST(json_error_formats_and_truncates)
{
    char err[16];
    ck_assert_int_eq(sluice_json_error(err, sizeof(err), "w", "%d apples", 3), -1);
    ck_assert_str_eq(err, "w: 3 apples");
    sluice_json_error(err, sizeof(err), "a-very-long-where-string", "x");
    ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
    sluice_json_error(err, sizeof(err), "", "%s", "no place here at all");
    ck_assert_str_eq(err, "no place here a");
    ck_assert_int_eq(sluice_json_error(NULL, 0, "w", "x"), -1);
}
END_TEST

/* A tiny plugin in this test, to drive the output/response/event helpers
 * through the mock host. */
static const sluice_host *tiny_host;

static int tiny_init(const sluice_host *host, void **ctx, char *err, size_t errlen)
{
    (void)ctx;
    (void)err;
    (void)errlen;
    tiny_host = host;
    return 0;
}

static int tiny_configure(void *ctx, const char *cfg, size_t len, const char *where, void **inst,
                          char *err, size_t errlen)
{
    (void)ctx;
    json_t *c = sluice_json_config(cfg, len, where, err, errlen);
    if (!c)
        return -1;
    *inst = c;
    return 0;
}

static void tiny_unconfigure(void *inst)
{
    json_decref(inst);
}

static int tiny_execute(void *inst, sluice_exec *exec)
{
    json_t *cfg = inst;
    json_error_t jerr;
    json_t *event = sluice_json_event(tiny_host, exec, &jerr);
    if (!event)
        return SLUICE_ERR;
    json_t *out = json_pack("{s:O?, s:O?}", "ref", sluice_json_path(event, "body.ref"), "first",
                            sluice_json_path(event, "body.items.0"));
    int rc = sluice_json_set_output(tiny_host, exec, out);
    json_decref(out);
    if (json_is_true(json_object_get(cfg, "respond"))) {
        json_t *body = json_pack("[s, i]", "ok", 1);
        rc |= sluice_json_set_response(tiny_host, exec, 202, body);
        json_decref(body);
        /* Not an object: refused by the helper itself, logged. */
        json_t *arr = json_array();
        ck_assert_int_eq(sluice_json_set_output(tiny_host, exec, arr), -1);
        json_decref(arr);
        ck_assert_int_eq(sluice_json_set_response(tiny_host, exec, 200, NULL), -1);
    }
    json_decref(event);
    return rc == 0 ? SLUICE_OK : SLUICE_ERR;
}

static const sluice_plugin tiny = {
    .abi_major = SLUICE_ABI_MAJOR,
    .abi_minor = SLUICE_ABI_MINOR,
    .struct_size = sizeof(sluice_plugin),
    .name = "tiny",
    .version = "1",
    .description = "helpers under test",
    .license = "MIT",
    .init = tiny_init,
    .configure = tiny_configure,
    .unconfigure = tiny_unconfigure,
    .execute = tiny_execute,
};

START_TEST(json_event_output_and_response_helpers)
{
    mock_host *host = mock_host_new();
    ck_assert_ptr_null(mock_host_load(host, &tiny));
    ck_assert_ptr_null(mock_host_init(host));
    void *inst = NULL;
    ck_assert_ptr_null(mock_host_configure(host, "{\"respond\":true}", "t.conf:1", &inst));
    mock_exec *exec = mock_exec_new(host, "{\"body\":{\"ref\":\"main\",\"items\":[[1,2]]}}");
    ck_assert_int_eq(mock_exec_run(exec, inst, 1000), SLUICE_OK);
    ck_assert_str_eq(mock_exec_output_get(exec, "ref"), "main");
    ck_assert_str_eq(mock_exec_output_get(exec, "first"), "[1,2]");
    int status = 0;
    const char *ctype = NULL, *body = NULL;
    size_t len = 0;
    ck_assert_int_eq(mock_exec_response(exec, &status, &ctype, &body, &len), 0);
    ck_assert_int_eq(status, 202);
    ck_assert_str_eq(ctype, "application/json");
    ck_assert_str_eq(body, "[\"ok\",1]");
    ck_assert_uint_ge(mock_host_log_matches(host, "sluice_json_set_output: not a JSON object"), 1);
    ck_assert_uint_eq(mock_host_misuse_count(host), 0);
    mock_exec_free(exec);
    mock_host_free(host);
}
END_TEST

/* ---------------------------------------------------------------------
 * The built plugins, through the mock host
 */

static mock_host *load_built(const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.so", ABI_PLUGIN_DIR, name);
    mock_host *host = mock_host_new();
    ck_assert_ptr_nonnull(host);
    const char *err = mock_host_load_path(host, path);
    ck_assert_msg(!err, "%s: %s", path, err);
    err = mock_host_init(host);
    ck_assert_msg(!err, "%s init: %s", name, err);
    return host;
}

static mock_host *cases_host;

static sluice_exec *cases_make(void)
{
    mock_exec *e = mock_exec_new(cases_host, "{\"execution_id\":\"e-1\",\"flow\":\"prod/deploy\","
                                             "\"trigger\":\"gh\",\"function\":\"summary\"}");
    ck_assert_ptr_nonnull(e);
    return e;
}

static char *cases_log(sluice_exec *e, int stream, size_t *len)
{
    const char *text = mock_exec_log(e, stream, len);
    ck_assert_ptr_nonnull(text);
    char *copy = malloc(*len + 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, text, *len + 1);
    return copy;
}

/* The same table test_exec runs through sluiced's host table. */
START_TEST(mock_keeps_what_sluiced_keeps)
{
    cases_host = mock_host_new();
    ck_assert_ptr_nonnull(cases_host);
    abi_cases_host h = {.make = cases_make,
                        .drop = mock_exec_free,
                        .table = mock_host_table(cases_host),
                        .error = mock_exec_error,
                        .log = cases_log};
    abi_cases_run(&h);
    mock_host_free(cases_host);
}
END_TEST

/* The mock host's 1.1 functions, through the plugin built from the frozen
 * v1.1 header: the body derived from the event or set by the test, the
 * meta rules and limits as sluiced enforces them, respond_with. */
START_TEST(abi11_through_the_mock)
{
    mock_host *host = load_built("abi11");
    void *report = NULL, *echo = NULL;
    ck_assert_ptr_null(mock_host_configure(host, "{}", "t.conf:1", &report));
    ck_assert_ptr_null(mock_host_configure(host, "{\"mode\":\"echo\"}", "t.conf:2", &echo));

    mock_exec *exec = mock_exec_new(host, "{\"body\":{\"a\":1,\"b\":[true]},"
                                          "\"content_type\":\"application/json\"}");
    ck_assert_int_eq(mock_exec_run(exec, report, 1000), SLUICE_OK);
    ck_assert_str_eq(mock_exec_output_get(exec, "has_body"), "true");
    ck_assert_str_eq(mock_exec_output_get(exec, "len"), "18");
    ck_assert_str_eq(mock_exec_output_get(exec, "type"), "application/json");
    ck_assert_str_eq(mock_exec_output_get(exec, "body_b64"), "eyJhIjoxLCJiIjpbdHJ1ZV19");
    ck_assert_str_eq(mock_exec_output_get(exec, "respond_with"), "execution");
    ck_assert_str_eq(mock_exec_output_get(exec, "set"),
                     "{\"kind\":0,\"len\":0,\"set\":0,\"remove\":0,\"remove_missing\":0,"
                     "\"no_dot\":-1,\"upper\":-1,\"leading_dot\":-1,\"space\":-1,\"empty\":-1,"
                     "\"null_key\":-1,\"long_key\":-1,\"max_key\":0,\"long_value\":-1,"
                     "\"max_value\":0,\"not_utf8\":-1,\"fill\":0,\"over\":-1,"
                     "\"replace_when_full\":0}");
    ck_assert_uint_eq(mock_exec_meta_count(exec), 2);
    ck_assert_str_eq(mock_exec_meta_get(exec, "abi11.kind"), "report");
    ck_assert_str_eq(mock_exec_meta_get(exec, "abi11.len"), "18");
    ck_assert_ptr_null(mock_exec_meta_get(exec, "abi11.gone"));
    ck_assert_uint_ge(mock_host_log_matches(host, "exec_set_meta refused"), 10);
    ck_assert_uint_eq(mock_host_misuse_count(host), 0);
    mock_exec_free(exec);

    /* Bytes set by the test, and a trigger that wants the response. */
    static const char bytes[] = {'x', 0, (char)0xff, '\n'};
    exec = mock_exec_new(host, "{\"body\":\"ignored\"}");
    ck_assert_int_eq(mock_exec_set_body(exec, bytes, sizeof(bytes), "image/x-test"), 0);
    ck_assert_int_eq(mock_exec_set_meta(exec, "respond_with", "upstream"), 0);
    ck_assert_int_eq(mock_exec_run(exec, echo, 1000), SLUICE_OK);
    int status = 0;
    const char *type = NULL, *body = NULL;
    size_t len = 0;
    ck_assert_int_eq(mock_exec_response(exec, &status, &type, &body, &len), 0);
    ck_assert_int_eq(status, 200);
    ck_assert_str_eq(type, "image/x-test");
    ck_assert_uint_eq(len, sizeof(bytes));
    ck_assert_int_eq(memcmp(body, bytes, len), 0);
    ck_assert_str_eq(mock_exec_meta_get(exec, "abi11.kind"), "echo");
    mock_exec_free(exec);

    /* Base64 in the event is decoded; no body is NULL. */
    exec = mock_exec_new(host, "{\"raw_body_b64\":\"AP8K\"}");
    ck_assert_int_eq(mock_exec_run(exec, report, 1000), SLUICE_OK);
    ck_assert_str_eq(mock_exec_output_get(exec, "len"), "3");
    ck_assert_str_eq(mock_exec_output_get(exec, "body_b64"), "AP8K");
    ck_assert_str_eq(mock_exec_output_get(exec, "type"), "null");
    mock_exec_free(exec);
    exec = mock_exec_new(host, "{\"body\":null}");
    ck_assert_int_eq(mock_exec_run(exec, report, 1000), SLUICE_OK);
    ck_assert_str_eq(mock_exec_output_get(exec, "has_body"), "false");
    ck_assert_str_eq(mock_exec_output_get(exec, "len"), "0");
    mock_exec_free(exec);
    ck_assert_uint_eq(mock_host_misuse_count(host), 0);
    mock_host_free(host);
}
END_TEST

START_TEST(hello_greets_through_the_mock)
{
    mock_host *host = load_built("hello");
    void *inst = NULL;
    const char *err = mock_host_configure(host, "{\"greeting\":\"hi\"}", "hello.conf:3", &inst);
    ck_assert_str_eq(err, "hello.conf:3: hello takes no settings; remove the config group");
    ck_assert_ptr_null(mock_host_configure(host, "{}", "hello.conf:3", &inst));

    mock_exec *exec = mock_exec_new(host, "{\"flow\":\"demo/hello\",\"body\":{}}");
    ck_assert_int_eq(mock_exec_run(exec, inst, 1000), SLUICE_OK);
    ck_assert_str_eq(mock_exec_output_get(exec, "message"), "hello, world");
    ck_assert_str_eq(mock_exec_output_get(exec, "flow"), "demo/hello");
    ck_assert_str_eq(mock_exec_log(exec, SLUICE_STDOUT, NULL), "hello, world\n");
    mock_exec_free(exec);

    exec = mock_exec_new(host, "{\"flow\":\"hello\"}");
    mock_exec_set_header(exec, "X-Name", "Ada Lovelace");
    ck_assert_int_eq(mock_exec_run(exec, inst, 1000), SLUICE_OK);
    ck_assert_str_eq(mock_exec_output_get(exec, "message"), "hello, Ada Lovelace");
    mock_exec_free(exec);

    exec = mock_exec_new(host, "{\"flow\":\"hello\"}");
    mock_exec_set_header(exec, "x-name", "\"quoted\"");
    ck_assert_int_eq(mock_exec_run(exec, inst, 1000), SLUICE_ERR);
    ck_assert_ptr_nonnull(strstr(mock_exec_error(exec), "X-Name must be"));
    ck_assert_ptr_null(mock_exec_outputs(exec));
    mock_exec_free(exec);

    ck_assert_uint_eq(mock_host_misuse_count(host), 0);
    mock_host_free(host);
}
END_TEST

START_TEST(c99_and_cxx_plugins_run_through_the_mock)
{
    mock_host *host = load_built("c99");
    void *inst = NULL;
    ck_assert_ptr_null(mock_host_configure(host, "{\"key\":\"body.items.1\"}", NULL, &inst));
    mock_exec *exec = mock_exec_new(host, "{\"body\":{\"items\":[\"a\",\"b\"]}}");
    ck_assert_int_eq(mock_exec_run(exec, inst, 1000), SLUICE_OK);
    ck_assert_str_eq(mock_exec_output_get(exec, "value"), "b");
    mock_exec_free(exec);
    mock_host_free(host);

    static const char *const cxx[] = {"cxx11", "cxx20"};
    for (size_t i = 0; i < 2; i++) {
        host = load_built(cxx[i]);
        ck_assert_ptr_null(mock_host_configure(host, "{\"greeting\":\"servus\"}", NULL, &inst));
        exec = mock_exec_new(host, "{}");
        ck_assert_int_eq(mock_exec_run(exec, inst, 1000), SLUICE_OK);
        ck_assert_str_eq(mock_exec_output_get(exec, "greeting"), "servus");
        ck_assert_str_eq(mock_exec_output_get(exec, "std"), cxx[i]);
        mock_exec_free(exec);
        mock_host_free(host);
    }
}
END_TEST

/* ---------------------------------------------------------------------
 * jsonl
 */

static char tmpdir[256];

static void jsonl_setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "%s/sluice-jsonl.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void jsonl_teardown(void)
{
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *de;
        char p[512];
        while ((de = readdir(d)))
            if (de->d_name[0] != '.') {
                snprintf(p, sizeof(p), "%s/%s", tmpdir, de->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(tmpdir);
}

static char *file_text(const char *name)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "r");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    int c;
    while ((c = fgetc(f)) != EOF)
        fputc(c, m);
    fclose(f);
    fclose(m);
    return buf;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (; text && *text; text++)
        n += *text == '\n';
    return n;
}

static int exists(const char *name)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
    return access(p, F_OK) == 0;
}

static void *jsonl_configure(mock_host *host, const char *extra)
{
    char cfg[1024];
    void *inst = NULL;
    snprintf(cfg, sizeof(cfg), "{\"path\":\"%s/audit.jsonl\"%s%s}", tmpdir, extra ? "," : "",
             extra ? extra : "");
    const char *err = mock_host_configure(host, cfg, "audit.conf:2", &inst);
    ck_assert_msg(!err, "%s", err);
    return inst;
}

static int run_event(mock_host *host, void *inst, const char *event)
{
    mock_exec *exec = mock_exec_new(host, event);
    ck_assert_ptr_nonnull(exec);
    int rc = mock_exec_run(exec, inst, 1000);
    mock_exec_free(exec);
    return rc;
}

START_TEST(jsonl_writes_one_line_per_event)
{
    mock_host *host = load_built("jsonl");
    void *inst = jsonl_configure(host, NULL);
    ck_assert(exists("audit.jsonl")); /* created by configure */

    mock_exec *exec =
        mock_exec_new(host, "{\"flow\":\"audit\",\n \"body\": {\"text\": \"two\\nlines\"}}");
    ck_assert_int_eq(mock_exec_run(exec, inst, 1000), SLUICE_OK);
    char want[512];
    snprintf(want, sizeof(want), "%s/audit.jsonl", tmpdir);
    ck_assert_str_eq(mock_exec_output_get(exec, "file"), want);
    ck_assert_str_eq(mock_exec_output_get(exec, "rotated"), "false");
    mock_exec_free(exec);
    ck_assert_int_eq(run_event(host, inst, "{\"n\":2}"), SLUICE_OK);

    char *text = file_text("audit.jsonl");
    ck_assert_str_eq(text, "{\"flow\":\"audit\",\"body\":{\"text\":\"two\\nlines\"}}\n{\"n\":2}\n");
    free(text);
    ck_assert_uint_eq(mock_host_misuse_count(host), 0);
    mock_host_free(host);
}
END_TEST

START_TEST(jsonl_selects_fields)
{
    mock_host *host = load_built("jsonl");
    void *inst = jsonl_configure(host, "\"fields\":[\"trigger\",\"body.ref\",\"body.missing\"]");
    ck_assert_int_eq(
        run_event(host, inst, "{\"trigger\":\"gh\",\"body\":{\"ref\":\"main\",\"x\":1}}"),
        SLUICE_OK);
    char *text = file_text("audit.jsonl");
    ck_assert_str_eq(text, "{\"trigger\":\"gh\",\"body.ref\":\"main\",\"body.missing\":null}\n");
    free(text);
    mock_host_free(host);
}
END_TEST

START_TEST(jsonl_rotates_by_size_and_keeps_n)
{
    mock_host *host = load_built("jsonl");
    /* Each event line is 12 bytes: {"n":1000}\n is 11, {"n":10000}\n 12.
     * With max_size 40, three lines fit, the fourth rotates. */
    void *inst = jsonl_configure(host, "\"max_size\":40,\"keep\":2");
    int rotations = 0;
    for (int i = 0; i < 10; i++) {
        char ev[64];
        snprintf(ev, sizeof(ev), "{\"n\":%d}", 10000 + i);
        mock_exec *exec = mock_exec_new(host, ev);
        ck_assert_int_eq(mock_exec_run(exec, inst, 1000), SLUICE_OK);
        rotations += strcmp(mock_exec_output_get(exec, "rotated"), "true") == 0;
        mock_exec_free(exec);
    }
    /* 10 lines, 3 per file: rotated before lines 4, 7 and 10. */
    ck_assert_int_eq(rotations, 3);
    char *cur = file_text("audit.jsonl"), *one = file_text("audit.jsonl.1"),
         *two = file_text("audit.jsonl.2");
    ck_assert_str_eq(cur, "{\"n\":10009}\n");
    ck_assert_str_eq(one, "{\"n\":10006}\n{\"n\":10007}\n{\"n\":10008}\n");
    ck_assert_str_eq(two, "{\"n\":10003}\n{\"n\":10004}\n{\"n\":10005}\n");
    ck_assert(!exists("audit.jsonl.3")); /* keep = 2: the oldest is gone */
    free(cur);
    free(one);
    free(two);
    ck_assert_uint_ge(mock_host_log_matches(host, "rotated "), 3);
    mock_host_free(host);
}
END_TEST

START_TEST(jsonl_keep_zero_and_oversized_lines)
{
    mock_host *host = load_built("jsonl");
    void *inst = jsonl_configure(host, "\"max_size\":\"16\",\"keep\":0");
    ck_assert_int_eq(run_event(host, inst, "{\"a\":1}"), SLUICE_OK);
    /* Longer than max_size on its own: goes whole into a fresh file. */
    ck_assert_int_eq(run_event(host, inst, "{\"long\":\"0123456789abcdef\"}"), SLUICE_OK);
    char *text = file_text("audit.jsonl");
    ck_assert_str_eq(text, "{\"long\":\"0123456789abcdef\"}\n");
    free(text);
    ck_assert(!exists("audit.jsonl.1"));
    mock_host_free(host);
}
END_TEST

START_TEST(jsonl_reopens_after_an_outside_rename)
{
    mock_host *host = load_built("jsonl");
    void *inst = jsonl_configure(host, NULL);
    ck_assert_int_eq(run_event(host, inst, "{\"n\":1}"), SLUICE_OK);
    char from[512], to[512];
    snprintf(from, sizeof(from), "%s/audit.jsonl", tmpdir);
    snprintf(to, sizeof(to), "%s/moved.jsonl", tmpdir);
    ck_assert_int_eq(rename(from, to), 0); /* what logrotate does */
    ck_assert_int_eq(run_event(host, inst, "{\"n\":2}"), SLUICE_OK);
    char *a = file_text("moved.jsonl"), *b = file_text("audit.jsonl");
    ck_assert_str_eq(a, "{\"n\":1}\n");
    ck_assert_str_eq(b, "{\"n\":2}\n");
    free(a);
    free(b);
    mock_host_free(host);
}
END_TEST

START_TEST(jsonl_shares_one_file_between_flows)
{
    mock_host *host = load_built("jsonl");
    void *a = jsonl_configure(host, "\"max_size\":30,\"keep\":1");
    void *b = jsonl_configure(host, "\"max_size\":30,\"keep\":1,\"fsync\":true");
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(run_event(host, a, "{\"f\":\"a\"}"), SLUICE_OK);
        ck_assert_int_eq(run_event(host, b, "{\"f\":\"b\"}"), SLUICE_OK);
    }
    /* Six 10-byte lines, three per file: one rotation, nothing lost. */
    char *cur = file_text("audit.jsonl"), *old = file_text("audit.jsonl.1");
    ck_assert_uint_eq(count_lines(cur) + count_lines(old), 6);
    ck_assert_str_eq(old, "{\"f\":\"a\"}\n{\"f\":\"b\"}\n{\"f\":\"a\"}\n");
    free(cur);
    free(old);
    /* Dropping one flow keeps the file open for the other. */
    mock_host_unconfigure(host, a);
    ck_assert_int_eq(run_event(host, b, "{\"f\":\"b\"}"), SLUICE_OK);
    mock_host_free(host);
}
END_TEST

START_TEST(jsonl_refuses_bad_configuration)
{
    mock_host *host = load_built("jsonl");
    void *inst = NULL;
    char cfg[1024];
    static const struct {
        const char *cfg;
        const char *err;
    } cases[] = {
        {"{}", "audit.conf:2: path must be an absolute file name"},
        {"{\"path\":\"x.jsonl\"}", "audit.conf:2: path must be an absolute file name"},
        {"{\"path\":\"/tmp/x\",\"colour\":1}", "audit.conf:2: unknown setting \"colour\""},
        {"{\"path\":\"/tmp/x\",\"max_size\":\"lots\"}", "audit.conf:2: max_size must be a size"},
        {"{\"path\":\"/tmp/x\",\"keep\":-1}", "audit.conf:2: keep must be an integer from 0"},
        {"{\"path\":\"/tmp/x\",\"keep\":\"2\"}", "audit.conf:2: keep must be an integer from 0"},
        {"{\"path\":\"/tmp/x\",\"fsync\":1}", "audit.conf:2: fsync must be true or false"},
        {"{\"path\":\"/tmp/x\",\"fields\":[]}", "audit.conf:2: fields must be a list of 1 to"},
        {"{\"path\":\"/tmp/x\",\"fields\":[\"\"]}", "audit.conf:2: fields[0] must be a non-empty"},
        {"{\"path\":\"/nonexistent-dir/x.jsonl\"}",
         "audit.conf:2: cannot open /nonexistent-dir/x.jsonl: No such file or directory"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *err = mock_host_configure(host, cases[i].cfg, "audit.conf:2", &inst);
        ck_assert_msg(err && strncmp(err, cases[i].err, strlen(cases[i].err)) == 0,
                      "%s: got \"%s\", want \"%s...\"", cases[i].cfg, err ? err : "(accepted)",
                      cases[i].err);
        ck_assert_ptr_null(inst);
    }
    /* A directory is not a file. */
    snprintf(cfg, sizeof(cfg), "{\"path\":\"%s\"}", tmpdir);
    const char *err = mock_host_configure(host, cfg, "audit.conf:2", &inst);
    ck_assert_ptr_nonnull(err);
    mock_host_free(host);
}
END_TEST

static Suite *sdk_suite(void)
{
    Suite *s = suite_create("sdk");
    TCase *tc = tcase_create("jansson.h");
    tcase_add_test(tc, json_path_walks_objects_and_arrays);
    tcase_add_test(tc, json_path_takes_long_keys);
    tcase_add_test(tc, json_size_and_duration_use_sluice_units);
    tcase_add_test(tc, json_config_and_keys_name_the_place);
    tcase_add_test(tc, json_error_formats_and_truncates);
    tcase_add_test(tc, json_event_output_and_response_helpers);
    suite_add_tcase(s, tc);
    tc = tcase_create("examples");
    tcase_add_test(tc, hello_greets_through_the_mock);
    tcase_add_test(tc, abi11_through_the_mock);
    tcase_add_test(tc, c99_and_cxx_plugins_run_through_the_mock);
    tcase_add_test(tc, mock_keeps_what_sluiced_keeps);
    suite_add_tcase(s, tc);
    tc = tcase_create("jsonl");
    tcase_add_checked_fixture(tc, jsonl_setup, jsonl_teardown);
    tcase_add_test(tc, jsonl_writes_one_line_per_event);
    tcase_add_test(tc, jsonl_selects_fields);
    tcase_add_test(tc, jsonl_rotates_by_size_and_keeps_n);
    tcase_add_test(tc, jsonl_keep_zero_and_oversized_lines);
    tcase_add_test(tc, jsonl_reopens_after_an_outside_rename);
    tcase_add_test(tc, jsonl_shares_one_file_between_flows);
    tcase_add_test(tc, jsonl_refuses_bad_configuration);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sdk_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
