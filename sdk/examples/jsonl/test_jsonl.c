/*
 * test_jsonl.c - unit test of the jsonl plugin through the SDK's mock host:
 * load the built jsonl.so the way sluiced does, write events, and check the
 * lines and the rotation on disk.
 *
 *     ./test_jsonl ./jsonl.so
 *
 * MIT licensed, like sluice.
 */
#define _GNU_SOURCE
#include <sluice/mock_host.h>
#include <sluice/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;

#define CHECK(cond)                                                   \
    do {                                                              \
        if (cond) {                                                   \
            printf("ok - %s\n", #cond);                               \
        } else {                                                      \
            printf("FAIL - %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            failures++;                                               \
        }                                                             \
    } while (0)

static char dir[64] = "/tmp/test_jsonl.XXXXXX";

static long file_size(const char *name)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void remove_all(void)
{
    static const char *const names[] = {"log.jsonl", "log.jsonl.1", "log.jsonl.2", "log.jsonl.3"};
    char path[256];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

int main(int argc, char **argv)
{
    const char *so = argc > 1 ? argv[1] : "./jsonl.so";
    mock_host *host = mock_host_new();
    char cfg[256];
    void *inst = NULL;
    const char *err;

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    err = mock_host_load_path(host, so);
    CHECK(!err);
    if (err) {
        printf("# %s\n", err);
        return 1;
    }
    CHECK(!mock_host_init(host));

    /* Refused at configure time, with the place named. */
    err = mock_host_configure(host, "{\"path\":\"log.jsonl\"}", "audit.conf:7", &inst);
    CHECK(err && strcmp(err, "audit.conf:7: path must be an absolute file name") == 0);
    err = mock_host_configure(host, "{\"path\":\"/tmp/x\",\"size\":1}", "audit.conf:7", &inst);
    CHECK(err && strstr(err, "unknown setting \"size\""));

    /* 20 events of 20 bytes ({"n":10000000000xx}\n) with max_size 100: five
     * lines per file, rotated three times, keep = 2. */
    snprintf(cfg, sizeof(cfg), "{\"path\":\"%s/log.jsonl\",\"max_size\":100,\"keep\":2}", dir);
    err = mock_host_configure(host, cfg, "audit.conf:7", &inst);
    CHECK(!err);
    for (int i = 0; i < 20; i++) {
        char event[64];
        snprintf(event, sizeof(event), "{\"n\":%lld}", 1000000000000LL + i);
        mock_exec *exec = mock_exec_new(host, event);
        CHECK(mock_exec_run(exec, inst, 1000) == SLUICE_OK);
        mock_exec_free(exec);
    }
    CHECK(file_size("log.jsonl") == 100);
    CHECK(file_size("log.jsonl.1") == 100);
    CHECK(file_size("log.jsonl.2") == 100);
    CHECK(file_size("log.jsonl.3") == -1);
    CHECK(mock_host_log_matches(host, "rotated") == 3);
    CHECK(mock_host_misuse_count(host) == 0);

    mock_host_free(host);
    remove_all();
    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
