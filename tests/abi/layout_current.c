/*
 * layout_current.c - the layout as the current header defines it: the v1.0
 * part and the 1.1 part, which whatever later minors append must not move.
 */
#include <sluice/plugin.h>

#define ABI_LAYOUT_FN abi_layout_current
#define ABI_CONSTANTS_FN abi_constants_current
#include "layout_v1_0.h"

#define ABI_LAYOUT_1_1_FN abi_layout_current_v1_1
#define ABI_CONSTANTS_1_1_FN abi_constants_current_v1_1
#include "layout_v1_1.h"
