// The prompt and decode-span kernels of the 32-element types (avx2_b32_block.c, avx2_b32_span.c)
// compiled again for CPUs with AVX-512 VNNI. VPDPBUSD sums four byte products per int32 lane, so a row's
// pair of blocks takes two instructions where VPMADDUBSW needs two multiplies, an add and a wider
// fold through int16; Q8_0 loses its widening multiply. Integer sums are exact in any order and the
// float terms are unchanged, so the results stay bit-identical to the twins.
//
// Measured on Zen 4, 4 tokens, weights in cache, one thread: Q4_1 1536x576 57.0 -> 49.0 us, Q4_0
// 55.0 -> 47.9 us.
#if defined(__x86_64__)
#define EK_X86_TARGET "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"
#define EK_B32_VNNI 1
#define EK_B32_BLOCK_PATCH ek_patch_avx512_b32_block
#define EK_B32_SPAN_PATCH ek_patch_avx512_b32_span
#include "avx2_b32_block.c"
#include "avx2_b32_span.c"
#endif
