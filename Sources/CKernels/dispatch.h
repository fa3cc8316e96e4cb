// Internal: the traits tables behind ek_traits().
#ifndef EDGELM_CKERNELS_DISPATCH_H
#define EDGELM_CKERNELS_DISPATCH_H

#include "include/ckernels.h"

// Scalar traits indexed by type id; entries with name == NULL are unknown types.
extern const ek_type_traits ek_generic_table[EK_TYPE_LIMIT];

// The table of the selected variant (same indexing as ek_generic_table).
const ek_type_traits *ek_dispatch_table(void);

#endif
