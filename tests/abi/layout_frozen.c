/*
 * layout_frozen.c - the v1.0 layout as the frozen v1.0 header defines it.
 * Never change the frozen header; see frozen/README.
 */
#include "frozen/v1.0/sluice/plugin.h"

#define ABI_LAYOUT_FN abi_layout_frozen_v1_0
#define ABI_CONSTANTS_FN abi_constants_frozen_v1_0
#include "layout_v1_0.h"
