/*
 * fuzz.h - what the libFuzzer targets share: splitting an input into
 * fields, a scratch directory, loading a configuration from text, and the
 * check that turns a broken invariant into a crash libFuzzer records.
 */
#ifndef SLUICE_FUZZ_H
#define SLUICE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

struct sluice_config;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken invariant: say which, with the input's detail, and abort so
 * that libFuzzer saves the input. */
#define FUZZ_CHECK(cond, ...)                                  \
    do {                                                       \
        if (!(cond))                                           \
            fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); \
    } while (0)
void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

/*
 * An input read as fields: each field ends at the next newline (not kept)
 * and fuzz_rest takes whatever is left, bytes of any value, so seeds stay
 * readable text and a body may hold anything.
 */
typedef struct fuzz_in {
    const uint8_t *p;
    size_t n;
} fuzz_in;

/* The next line as a NUL-terminated malloc'd string (NUL bytes in it are
 * kept, so strlen may see less); "" at the end of the input. */
char *fuzz_line(fuzz_in *in);
/* One byte (0 at the end). */
unsigned fuzz_byte(fuzz_in *in);
/* The rest, malloc'd with a NUL after it; *len gets its length. */
char *fuzz_rest(fuzz_in *in, size_t *len);

/* A private directory made once per process (removed at exit). */
const char *fuzz_tmpdir(void);
/* Write text to DIR/name; returns the path (static buffer). */
const char *fuzz_write_file(const char *name, const void *text, size_t len);
/* Load a configuration from text (through config_load, as sluiced reads a
 * file). NULL with the error in err. */
struct sluice_config *fuzz_load_config(const char *text, size_t len, char *err, size_t errlen);

#endif
