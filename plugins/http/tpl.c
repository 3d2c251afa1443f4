/*
 * tpl.c - the one translation unit that compiles tpl.h's implementation.
 *
 * Copyright (c) 2026 the sluice authors. MIT licensed (see LICENSE).
 */
#define _GNU_SOURCE
#define TPL_IMPLEMENTATION
#include "tpl.h"
