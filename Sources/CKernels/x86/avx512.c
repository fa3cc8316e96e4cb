// AVX-512 (F, BW, VL, VNNI) kernels. Compiled into every x86-64 build with function-level target
// attributes; only run when cpuid reports the features. Entries not specialised here fall back
// to the AVX2 ones.
#if defined(__x86_64__)
#include "../dispatch.h"

const char *ek_patch_avx512(ek_type_traits *types, ek_op_kernels *ops) {
    ek_patch_avx2(types, ops);
    return "avx512";
}
#endif
