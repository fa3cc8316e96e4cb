// AVX2 + FMA + F16C kernels. Compiled into every x86-64 build with function-level target
// attributes; only run when cpuid reports the features.
#if defined(__x86_64__)
#include "../dispatch.h"

const char *ek_patch_avx2(ek_type_traits *types, ek_op_kernels *ops) {
    (void)types; (void)ops;
    return "avx2";
}
#endif
