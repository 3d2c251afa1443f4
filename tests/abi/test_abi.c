/*
 * test_abi.c - the ABI promises checked at run time against the real host
 * code (core/run/loader.c, core/run/host.c):
 *
 *   - the v1.0 layout and constants of the frozen header and of the current
 *     one are identical (the compile-time checks are in layout_v1_0.h), and
 *     so are the 1.1 ones of the frozen v1.1 header (layout_v1_1.h);
 *   - the host table sluiced hands out is a complete v1.0+ table, and
 *     SLUICE_HOST_HAS tells a plugin which entries a (smaller) host has;
 *   - the current loader loads the plugins built from the frozen v1.0 and
 *     v1.1 headers, the ISO C99 plugin, the C++11 and C++20 plugins and both SDK
 *     examples; it refuses each malformed fixture (tests/plugins) with its
 *     reason, and accepts a larger descriptor only with a zero tail.
 */
#include "layout.h"
#include "host.h"
#include "loader.h"

#include <sluice/plugin.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ABI_PLUGIN_DIR
#error "ABI_PLUGIN_DIR must name tests/abi/.libs in the build tree"
#endif
#ifndef FIXTURE_DIR
#error "FIXTURE_DIR must name tests/plugins/.libs in the build tree"
#endif

/* ---- layout ---- */

START_TEST(frozen_and_current_layouts_match)
{
    size_t nf, nc;
    const abi_field *f = abi_layout_frozen_v1_0(&nf);
    const abi_field *c = abi_layout_current(&nc);
    ck_assert_uint_eq(nf, nc);
    ck_assert_uint_ge(nf, 30);
    for (size_t i = 0; i < nf; i++) {
        ck_assert_str_eq(f[i].name, c[i].name);
        ck_assert_msg(f[i].offset == c[i].offset, "%s: offset %zu in v1.0, %zu now", f[i].name,
                      f[i].offset, c[i].offset);
        ck_assert_msg(f[i].size == c[i].size, "%s: size %zu in v1.0, %zu now", f[i].name, f[i].size,
                      c[i].size);
    }
}
END_TEST

START_TEST(frozen_and_current_constants_match)
{
    size_t nf, nc;
    const long *f = abi_constants_frozen_v1_0(&nf);
    const long *c = abi_constants_current(&nc);
    ck_assert_uint_eq(nf, nc);
    /* The last three are limits, which may only grow. */
    for (size_t i = 0; i + 3 < nf; i++)
        ck_assert_msg(f[i] == c[i], "constant #%zu: %ld in v1.0, %ld now", i, f[i], c[i]);
    for (size_t i = nf - 3; i < nf; i++)
        ck_assert_msg(c[i] >= f[i], "limit #%zu shrank from %ld to %ld", i, f[i], c[i]);
}
END_TEST

static void same_fields(const abi_field *a, size_t na, const abi_field *b, size_t nb,
                        const char *what)
{
    ck_assert_msg(na == nb, "%s: %zu fields against %zu", what, na, nb);
    for (size_t i = 0; i < na; i++) {
        ck_assert_str_eq(a[i].name, b[i].name);
        ck_assert_msg(a[i].offset == b[i].offset, "%s: %s: offset %zu against %zu", what, a[i].name,
                      a[i].offset, b[i].offset);
        ck_assert_msg(a[i].size == b[i].size, "%s: %s: size %zu against %zu", what, a[i].name,
                      a[i].size, b[i].size);
    }
}

/* The frozen 1.1 header keeps every v1.0 field where v1.0 had it, and the
 * current header keeps every 1.1 field where 1.1 put it. */
START_TEST(frozen_v1_1_and_current_layouts_match)
{
    size_t n0, n1, nc;
    const abi_field *v10 = abi_layout_frozen_v1_0(&n0);
    const abi_field *v11 = abi_layout_frozen_v1_1_base(&n1);
    same_fields(v10, n0, v11, n1, "v1.0 part of the frozen v1.1 header");
    v11 = abi_layout_frozen_v1_1(&n1);
    const abi_field *cur = abi_layout_current_v1_1(&nc);
    ck_assert_uint_eq(n1, 3);
    same_fields(v11, n1, cur, nc, "1.1 part of the current header");
    /* Appended right after the last v1.0 function. */
    ck_assert_uint_eq(v11[0].offset, v10[n0 - 1].offset);

    const long *c10 = abi_constants_frozen_v1_0(&n0);
    const long *c11 = abi_constants_frozen_v1_1_base(&n1);
    ck_assert_uint_eq(n0, n1);
    for (size_t i = 0; i < n0; i++)
        ck_assert_msg(c10[i] == c11[i], "v1.0 constant #%zu changed in 1.1", i);
    c11 = abi_constants_frozen_v1_1(&n1);
    const long *cc = abi_constants_current_v1_1(&nc);
    ck_assert_uint_eq(n1, nc);
    for (size_t i = 0; i < n1; i++)
        ck_assert_msg(cc[i] >= c11[i], "1.1 limit #%zu shrank from %ld to %ld", i, c11[i], cc[i]);
}
END_TEST

/* ---- the host table ---- */

START_TEST(host_table_is_complete)
{
    sluice_host h;
    memset(&h, 0xff, sizeof(h));
    host_fill(&h);
    ck_assert_uint_eq(h.abi_major, SLUICE_ABI_MAJOR);
    ck_assert_uint_eq(h.abi_minor, SLUICE_ABI_MINOR);
    ck_assert_uint_eq(h.struct_size, sizeof(sluice_host));
    ck_assert_uint_eq(h.reserved0, 0);
    /* Every v1.0 entry is present: a v1.0 plugin may call any of them
     * without SLUICE_HOST_HAS. */
    ck_assert_ptr_nonnull(h.log);
    ck_assert_ptr_nonnull(h.exec_event);
    ck_assert_ptr_nonnull(h.exec_header);
    ck_assert_ptr_nonnull(h.exec_meta);
    ck_assert_ptr_nonnull(h.exec_set_output);
    ck_assert_ptr_nonnull(h.exec_set_error);
    ck_assert_ptr_nonnull(h.exec_set_exit_code);
    ck_assert_ptr_nonnull(h.exec_write_log);
    ck_assert_ptr_nonnull(h.exec_is_cancelled);
    ck_assert_ptr_nonnull(h.exec_complete);
    ck_assert_ptr_nonnull(h.exec_set_response);
    ck_assert(SLUICE_HOST_HAS(&h, exec_set_response));
    ck_assert(SLUICE_HOST_HAS(&h, log));
    /* And every 1.1 entry. */
    ck_assert_uint_ge(h.abi_minor, 1);
    ck_assert_ptr_nonnull(h.exec_body);
    ck_assert_ptr_nonnull(h.exec_set_meta);
    ck_assert(SLUICE_HOST_HAS(&h, exec_body));
    ck_assert(SLUICE_HOST_HAS(&h, exec_set_meta));
}
END_TEST

/* What a plugin built against 1.1 sees in a 1.0 host: a table that ends
 * after exec_set_response. Whatever lies beyond must not be taken for the
 * 1.1 functions, not even when those bytes happen to be non-zero. */
START_TEST(host_has_tells_a_1_0_host)
{
    sluice_host h;
    memset(&h, 0x5a, sizeof(h));
    host_fill(&h);
    h.abi_minor = 0;
    h.struct_size =
        (uint32_t)(offsetof(sluice_host, exec_set_response) + sizeof(h.exec_set_response));
    ck_assert(SLUICE_HOST_HAS(&h, exec_set_response));
    ck_assert(!SLUICE_HOST_HAS(&h, exec_body));
    ck_assert(!SLUICE_HOST_HAS(&h, exec_set_meta));
    /* A host that has exec_body but not exec_set_meta (never released,
     * but the macro must tell them apart). */
    h.struct_size = (uint32_t)(offsetof(sluice_host, exec_body) + sizeof(h.exec_body));
    ck_assert(SLUICE_HOST_HAS(&h, exec_body));
    ck_assert(!SLUICE_HOST_HAS(&h, exec_set_meta));
    h.struct_size = (uint32_t)sizeof(h);
    ck_assert(SLUICE_HOST_HAS(&h, exec_set_meta));
    h.exec_set_meta = NULL;
    ck_assert(!SLUICE_HOST_HAS(&h, exec_set_meta));
}
END_TEST

START_TEST(host_has_tells_a_smaller_host)
{
    sluice_host h;
    host_fill(&h);
    /* A host built before exec_set_response existed would say so with a
     * smaller struct_size; the bytes beyond it must not be trusted. */
    h.struct_size = (uint32_t)offsetof(sluice_host, exec_set_response);
    ck_assert(!SLUICE_HOST_HAS(&h, exec_set_response));
    ck_assert(SLUICE_HOST_HAS(&h, exec_complete));
    h.struct_size = (uint32_t)(offsetof(sluice_host, exec_set_response) + 1);
    ck_assert(!SLUICE_HOST_HAS(&h, exec_set_response));
    /* Present in size but NULL: not there either. */
    host_fill(&h);
    h.exec_set_response = NULL;
    ck_assert(!SLUICE_HOST_HAS(&h, exec_set_response));
}
END_TEST

/* ---- the loader ---- */

static plugin *load(const char *name)
{
    char path[4096], err[512] = "";
    snprintf(path, sizeof(path), "%s/%s.so", ABI_PLUGIN_DIR, name);
    plugin *p = loader_load_file(path, name, err, sizeof(err));
    ck_assert_msg(p != NULL, "%s refused: %s", path, err);
    ck_assert_str_eq(p->name, name);
    return p;
}

START_TEST(loads_the_v1_0_plugin)
{
    plugin *p = load("abi10");
    /* Built from the frozen header: minor 0, the v1.0 descriptor size. */
    ck_assert_uint_eq(p->desc.abi_major, 1);
    ck_assert_uint_eq(p->desc.abi_minor, 0);
    ck_assert_uint_eq(p->desc.struct_size,
                      offsetof(sluice_plugin, cancel) + sizeof(p->desc.cancel));
    /* Fields the host knows beyond the plugin's size are zero. */
    ck_assert_ptr_null(p->desc.cancel);
    ck_assert_ptr_null(p->desc.destroy);
    ck_assert_ptr_nonnull(p->desc.init);

    void *inst = NULL;
    char err[256];
    ck_assert_int_eq(loader_configure(p, "{}", 2, "abi.conf:1", &inst, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(inst);
    loader_unconfigure(p, inst);
}
END_TEST

START_TEST(loads_the_v1_1_plugin)
{
    plugin *p = load("abi11");
    ck_assert_uint_eq(p->desc.abi_major, 1);
    ck_assert_uint_eq(p->desc.abi_minor, 1);
    ck_assert_uint_eq(p->desc.struct_size, sizeof(sluice_plugin));
    void *inst = NULL;
    char err[256];
    ck_assert_int_eq(loader_configure(p, "{}", 2, "abi.conf:1", &inst, err, sizeof(err)), 0);
    loader_unconfigure(p, inst);
}
END_TEST

START_TEST(loads_the_c99_and_cxx_plugins)
{
    static const char *const names[] = {"c99", "cxx11", "cxx20"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        plugin *p = load(names[i]);
        ck_assert_uint_eq(p->desc.abi_major, SLUICE_ABI_MAJOR);
        ck_assert_uint_eq(p->desc.struct_size, sizeof(sluice_plugin));
        void *inst = NULL;
        char err[256] = "";
        ck_assert_int_eq(
            loader_configure(p, "{\"nope\":1}", 10, "x.conf:3", &inst, err, sizeof(err)), -1);
        ck_assert_msg(strstr(err, "x.conf:3: unknown setting \"nope\"") != NULL, "%s", err);
        ck_assert_int_eq(loader_configure(p, "{}", 2, "x.conf:3", &inst, err, sizeof(err)), 0);
        loader_unconfigure(p, inst);
    }
}
END_TEST

START_TEST(loads_the_sdk_examples)
{
    plugin *hello = load("hello");
    ck_assert_str_eq(hello->desc.version, "1.0.0");
    ck_assert_ptr_nonnull(hello->desc.init);
    ck_assert_ptr_nonnull(hello->desc.destroy);
    void *inst = NULL;
    char err[256] = "";
    ck_assert_int_eq(
        loader_configure(hello, "{\"greeting\":\"hi\"}", 17, "f.conf:2", &inst, err, sizeof(err)),
        -1);
    ck_assert_str_eq(err, "f.conf:2: hello takes no settings; remove the config group");
    ck_assert_int_eq(loader_configure(hello, " { } ", 5, "f.conf:2", &inst, err, sizeof(err)), 0);
    loader_unconfigure(hello, inst);

    plugin *jsonl = load("jsonl");
    ck_assert(jsonl->desc.flags & SLUICE_PF_REENTRANT);
    ck_assert_int_eq(loader_configure(jsonl, "{\"path\":\"relative.jsonl\"}", 25, "a.conf:9", &inst,
                                      err, sizeof(err)),
                     -1);
    ck_assert_str_eq(err, "a.conf:9: path must be an absolute file name");
}
END_TEST

/*
 * The loader's refusals, one fixture each (tests/plugins/fixture.c), and
 * the growth rule: a descriptor larger than the host's is accepted only
 * when the bytes the host does not know are all zero.
 */
START_TEST(refuses_each_malformed_plugin)
{
    static const struct {
        const char *file, *expect, *reason;
    } cases[] = {
        {"nosym", "nosym", "no sluice_plugin_v1 symbol"},
        {"major", "major", "this sluiced speaks ABI 1"},
        {"minor", "minor", "newer than this sluiced's"},
        {"small", "small", "descriptor size 32 is smaller than the v1.0 size"},
        {"nullcb", "nullcb", "mandatory callback execute is NULL"},
        {"badname", NULL, "must match [a-z0-9._-]"},
        {"good", "other", "plugin calls itself \"good\" but its file says \"other\""},
        {"initfail", "initfail", "init failed: fixture init says no"},
        {"bigtail", "bigtail", "larger than this sluiced's"},
    };
    char path[4096], err[512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s.so", FIXTURE_DIR, cases[i].file);
        err[0] = 0;
        plugin *p = loader_load_file(path, cases[i].expect, err, sizeof(err));
        ck_assert_msg(!p, "%s was loaded", cases[i].file);
        ck_assert_msg(strstr(err, cases[i].reason) != NULL, "%s: \"%s\" does not say \"%s\"",
                      cases[i].file, err, cases[i].reason);
    }
    /* A duplicate name is refused too. */
    snprintf(path, sizeof(path), "%s/good.so", FIXTURE_DIR);
    ck_assert_ptr_nonnull(loader_load_file(path, "good", err, sizeof(err)));
    snprintf(path, sizeof(path), "%s/dupe.so", FIXTURE_DIR);
    ck_assert_ptr_null(loader_load_file(path, NULL, err, sizeof(err)));
    ck_assert_msg(strstr(err, "is already loaded from") != NULL, "%s", err);
}
END_TEST

START_TEST(accepts_a_larger_descriptor_with_a_zero_tail)
{
    char path[4096], err[512] = "";
    snprintf(path, sizeof(path), "%s/bigzero.so", FIXTURE_DIR);
    plugin *p = loader_load_file(path, "bigzero", err, sizeof(err));
    ck_assert_msg(p != NULL, "%s", err);
    ck_assert_uint_eq(p->desc.struct_size, sizeof(sluice_plugin) + 16);
}
END_TEST

static Suite *abi_suite(void)
{
    Suite *s = suite_create("abi");
    TCase *tc = tcase_create("layout");
    tcase_add_test(tc, frozen_and_current_layouts_match);
    tcase_add_test(tc, frozen_and_current_constants_match);
    tcase_add_test(tc, frozen_v1_1_and_current_layouts_match);
    suite_add_tcase(s, tc);
    tc = tcase_create("host");
    tcase_add_test(tc, host_table_is_complete);
    tcase_add_test(tc, host_has_tells_a_smaller_host);
    tcase_add_test(tc, host_has_tells_a_1_0_host);
    suite_add_tcase(s, tc);
    tc = tcase_create("loader");
    tcase_add_test(tc, loads_the_v1_0_plugin);
    tcase_add_test(tc, loads_the_v1_1_plugin);
    tcase_add_test(tc, loads_the_c99_and_cxx_plugins);
    tcase_add_test(tc, loads_the_sdk_examples);
    tcase_add_test(tc, refuses_each_malformed_plugin);
    tcase_add_test(tc, accepts_a_larger_descriptor_with_a_zero_tail);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    sluice_host host;
    host_fill(&host);
    loader_set_host(&host);
    SRunner *sr = srunner_create(abi_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
