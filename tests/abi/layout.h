/*
 * layout.h - the layout of the published ABI structs, as data.
 *
 * layout_frozen.c (built against the frozen v1.0 header),
 * layout_frozen_v1_1.c (the frozen v1.1 header) and layout_current.c
 * (sdk/include) each return a table of every v1.0 field with its offset
 * and size, the last two also of every 1.1 field, and each of them checks
 * the same tables at compile time (layout_v1_0.h, layout_v1_1.h). test_abi
 * compares the tables at run time, which covers ABIs the static tables do
 * not spell out.
 */
#ifndef ABI_LAYOUT_H
#define ABI_LAYOUT_H

#include <stddef.h>

typedef struct abi_field {
    const char *name; /* "sluice_host.exec_meta", "sizeof(sluice_plugin)" */
    size_t offset;
    size_t size;
} abi_field;

/* Every v1.0 field and the v1.0 struct sizes; *n receives the count. */
const abi_field *abi_layout_frozen_v1_0(size_t *n);
const abi_field *abi_layout_current(size_t *n);

/* The values of the v1.0 constants (SLUICE_OK, SLUICE_LOG_*, limits...). */
const long *abi_constants_frozen_v1_0(size_t *n);
const long *abi_constants_current(size_t *n);

/* The same for the frozen v1.1 header: its v1.0 part (which must equal the
 * frozen v1.0 one), what 1.1 appended, and that part of the current header;
 * the 1.1 constants are the SLUICE_META_* limits. */
const abi_field *abi_layout_frozen_v1_1_base(size_t *n);
const long *abi_constants_frozen_v1_1_base(size_t *n);
const abi_field *abi_layout_frozen_v1_1(size_t *n);
const abi_field *abi_layout_current_v1_1(size_t *n);
const long *abi_constants_frozen_v1_1(size_t *n);
const long *abi_constants_current_v1_1(size_t *n);

#endif
