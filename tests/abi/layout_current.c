/*
 * layout_current.c - the v1.0 part of the layout as the current header
 * defines it: whatever later minors append, these must not move.
 */
#include <sluice/plugin.h>

#define ABI_LAYOUT_FN abi_layout_current
#define ABI_CONSTANTS_FN abi_constants_current
#include "layout_v1_0.h"
