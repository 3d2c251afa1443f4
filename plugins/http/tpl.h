/*
 * tpl.h - {placeholder} templates resolved against the event JSON.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 *
 * The shell executor's templates (plugins/shell/template.c, compiled into
 * this plugin too: plugins share source, never symbols at run time), under
 * the names the http executor uses, so every first-party executor reads
 * "{body.ref}" the same way.
 *
 * THE SYNTAX
 *
 * A template is text with placeholders: "{body.ref}", "--user={query.u}",
 * "{body.items.0.id}". A placeholder is a dotted path into the event; its
 * first part (the root) must be one of the event's documented top-level
 * fields, which is checked when the template is compiled (at configure
 * time). "{{" and "}}" stand for literal braces. Rendering inserts each
 * value as text:
 *
 *     string          as-is
 *     number, bool    JSON text (reals in their shortest exact form)
 *     object, array   compact JSON
 *     null, missing   empty string
 *
 * An array with exactly one element stands for that element, so query
 * values (always arrays) read naturally: {query.a} of {"a": ["1"]} is "1".
 * Walking a path, a numeric part indexes an array; a name applied to a
 * one-element array looks inside its element. Header names are matched in
 * lower case, the way the event stores them.
 *
 * ENCODINGS
 *
 * tpl_render takes an encoding applied to the inserted values only, never
 * to the literal text around them: TPL_RAW inserts them unchanged, TPL_URL
 * percent-encodes every byte but ALPHA, DIGIT, '-', '_' and '~' (even '.',
 * so a value of ".." cannot become a dot segment that a client or server
 * would resolve), so a value can never end a path segment, start a query
 * or a fragment, or add a parameter.
 */
#ifndef SLUICE_TPL_H
#define SLUICE_TPL_H

#include <stddef.h>

#include <jansson.h>

#include "../shell/template.h"

typedef shell_template tpl;

enum tpl_enc { TPL_RAW = SHELL_ENC_RAW, TPL_URL = SHELL_ENC_URL };

/* Compile text: 0 and *out, or -1 with the reason in err. */
static inline int tpl_compile(tpl **out, const char *text, char *err, size_t errlen)
{
    return shell_template_compile(out, text, err, errlen);
}

static inline void tpl_free(tpl *t)
{
    shell_template_free(t);
}

static inline int tpl_has_placeholders(const tpl *t)
{
    return shell_template_has_placeholders(t);
}

/* Nonzero when the template is exactly one placeholder and nothing else. */
static inline int tpl_is_single(const tpl *t)
{
    return shell_template_is_single(t);
}

static inline const char *tpl_source(const tpl *t)
{
    return shell_template_source(t);
}

/* Render with the values encoded as enc says (see ENCODINGS). */
static inline int tpl_render(const tpl *t, const json_t *event, enum tpl_enc enc, char **out,
                             size_t *len)
{
    return shell_template_render_enc(t, event, (enum shell_enc)enc, out, len);
}

/* For a template that tpl_is_single: the value its placeholder names. */
static inline const json_t *tpl_single_value(const tpl *t, const json_t *event)
{
    return shell_template_single_value(t, event);
}

static inline const json_t *tpl_lookup(const json_t *event, char *const *parts, size_t nparts)
{
    return shell_template_lookup(event, parts, nparts);
}

static inline int tpl_root_known(const char *name, size_t len)
{
    return shell_template_root_known(name, len);
}

#endif /* SLUICE_TPL_H */
