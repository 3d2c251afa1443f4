/*
 * units.h - the small value types of the configuration and the wire:
 * sizes ("1M"), durations ("30s"), timestamps, UUIDv7 ids, random tokens,
 * base64.
 */
#ifndef SLUICE_UNITS_H
#define SLUICE_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "1024", "512K", "1M", "2G" (also "KB"/"KiB" forms; powers of 1024). */
int units_parse_size(const char *s, uint64_t *out);
/* "250ms", "30s", "5m" or "5min", "1h", "14d", spaces allowed before the unit;
 * a bare number is seconds. Exactly the strings sluice_json_duration
 * (<sluice/jansson.h>) accepts: tests/unit/test_duration keeps them in step. */
int units_parse_duration(const char *s, uint64_t *out_ms);

/* Milliseconds since the epoch, and on the monotonic clock. */
uint64_t units_now_ms(void);
uint64_t units_mono_ms(void);
/* RFC 3339 UTC with milliseconds: 2026-11-23T12:00:00.123Z (buf >= 32). */
void units_format_time(uint64_t epoch_ms, char *buf, size_t len);

/* A UUIDv7 (time-ordered) in canonical text form; buf >= 37. */
void units_uuidv7(char *buf);
/* n random bytes from the OS CSPRNG; 0 or -1. */
int units_random(void *buf, size_t n);

/* Base64 (standard alphabet, padded). Returns a malloc'd string. */
char *units_base64_encode(const unsigned char *data, size_t len);
/* strerror for any thread: the text lives in a buffer of the calling
 * thread, valid until its next call (strerror's may be shared). */
const char *units_strerror(int err);

/* The value of one hexadecimal digit, or -1. */
int units_hex_digit(int c);

#endif
