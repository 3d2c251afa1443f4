/*
 * template.h - {placeholder} templates resolved against the event JSON.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * A template is text with placeholders: "{body.ref}", "--user={query.u}",
 * "{body.items.0.id}". A placeholder is a dotted path into the event; its
 * first part (the root) must be one of the event's documented fields, which
 * is checked when the template is compiled (at configure time). "{{" and
 * "}}" stand for literal braces. Rendering never splits or quotes anything:
 * the result is one string, exactly the literal text with each placeholder
 * replaced by its value:
 *
 *     string          inserted as-is
 *     number, bool    JSON text (reals in their shortest exact form)
 *     object, array   compact JSON
 *     null, missing   empty string
 *
 * An array with exactly one element stands for that element, so query
 * values (always arrays) read naturally: {query.a} of {"a": ["1"]} is "1".
 * Walking a path, a numeric part indexes an array; a name applied to a
 * one-element array looks inside its element. Header names are matched in
 * lower case, the way the event stores them.
 */
#ifndef KIT_TEMPLATE_H
#define KIT_TEMPLATE_H

#include <stddef.h>

#include <jansson.h>

typedef struct kit_template kit_template;

/*
 * What rendering does to the inserted values (never to the literal text
 * around them): KIT_ENC_RAW inserts them unchanged; KIT_ENC_URL
 * percent-encodes every byte but ALPHA, DIGIT, '-', '_' and '~' (even '.',
 * so a value of ".." cannot become a dot segment), so a value can never
 * end a path segment, start a query or a fragment, or add a parameter.
 */
enum kit_enc { KIT_ENC_RAW, KIT_ENC_URL };

/*
 * Compile text. Returns 0 and sets *out, or -1 with the reason in err
 * (unclosed or unmatched brace, empty path part, unknown root...).
 */
int kit_template_compile(kit_template **out, const char *text, char *err, size_t errlen);

void kit_template_free(kit_template *tpl);

/* Nonzero when the template has at least one placeholder. */
int kit_template_has_placeholders(const kit_template *tpl);

/* The text the template was compiled from. */
const char *kit_template_source(const kit_template *tpl);

/*
 * Render against event. Returns 0 with a malloc'd NUL-terminated string in
 * *out and its length in *len (which is less than strlen only when a value
 * carried a NUL byte: callers that need C strings check for that), or -1
 * when out of memory.
 */
int kit_template_render(const kit_template *tpl, const json_t *event, char **out, size_t *len);

/* kit_template_render with the values encoded as enc says. */
int kit_template_render_enc(const kit_template *tpl, const json_t *event, enum kit_enc enc,
                            char **out, size_t *len);

/* Nonzero when the template is exactly one placeholder and nothing else. */
int kit_template_is_single(const kit_template *tpl);

/* For a template that kit_template_is_single: the value its placeholder
 * names in event (borrowed), or NULL when missing. */
const json_t *kit_template_single_value(const kit_template *tpl, const json_t *event);

/*
 * The value at a dotted path (already split) inside event, with the
 * one-element-array rule applied, or NULL when missing.
 */
const json_t *kit_template_lookup(const json_t *event, char *const *parts, size_t nparts);

/* Append the text of one value (rules above) to a malloc'd buffer. */
int kit_template_value_text(const json_t *value, char **out, size_t *len);

/* Nonzero when name (len bytes) is a top-level field of the event. */
int kit_template_root_known(const char *name, size_t len);

/*
 * Look for text that would be a placeholder in script text (a "{" not
 * preceded by "$" and not doubled, a valid path with a known root, a "}").
 * Returns 1 and copies the first one found, braces included, into found;
 * 0 when there is none.
 */
int kit_template_find_in_script(const char *script, char *found, size_t foundlen);

#endif /* KIT_TEMPLATE_H */
