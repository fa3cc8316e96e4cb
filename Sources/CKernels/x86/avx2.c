// AVX2 + FMA + F16C kernels. Compiled into every x86-64 build with function-level target
// attributes; only run when cpuid reports the features.
//
// Every result is bit-identical to the scalar twin's (generic/, ops.c); only F32/F16/BF16 weight
// rows are summed in another order. SIMD computes the integer sums, which are exact in any order,
// and the element-wise float products; the float sums then follow the twins' order: per-block terms
// are added to the row's sum one block after the other, and the K types keep the twins' eight lanes
// (element index mod 8). Like the twins, this file relies on the build's -ffp-contract=off: FMA
// only where written, and only where the twin fuses too.
//
// Tile kernels decode a weight row's blocks once for up to EK_TILE_TOKENS tokens; row-tile kernels
// (decode steps) take EK_TILE_ROWS weight rows against one token. Either way each result's
// arithmetic is exactly its vec_dot's.
//
// The kernels live in avx2_float.c, avx2_b32.c and avx2_k.c, with shared helpers in avx2.h.
#if defined(__x86_64__)
#include "avx2.h"

const char *ek_patch_avx2(ek_type_traits *types, ek_op_kernels *ops) {
    ek_patch_avx2_float(types, ops);
    ek_patch_avx2_b32(types);
    ek_patch_avx2_k(types);
    return "avx2";
}
#endif
