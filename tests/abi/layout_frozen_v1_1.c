/*
 * layout_frozen_v1_1.c - the layout as the frozen v1.1 header defines it:
 * the v1.0 fields (which it must still place where v1.0 did) and what 1.1
 * appended. Never change the frozen header; see frozen/README.
 */
#include "frozen/v1.1/sluice/plugin.h"

#define ABI_LAYOUT_FN abi_layout_frozen_v1_1_base
#define ABI_CONSTANTS_FN abi_constants_frozen_v1_1_base
#include "layout_v1_0.h"

#define ABI_LAYOUT_1_1_FN abi_layout_frozen_v1_1
#define ABI_CONSTANTS_1_1_FN abi_constants_frozen_v1_1
#include "layout_v1_1.h"
