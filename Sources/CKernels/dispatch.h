// Internal: the kernel tables behind ek_traits() and the element-wise ops, one per variant.
#ifndef EDGELM_CKERNELS_DISPATCH_H
#define EDGELM_CKERNELS_DISPATCH_H

#include "include/ckernels.h"

// Scalar traits indexed by type id; entries with name == NULL are unknown types.
extern const ek_type_traits ek_generic_table[EK_TYPE_LIMIT];

// Lanes of the engine's own SIMD-shaped reductions (see dot_f32_f16 in ops.c).
#define EK_CANONICAL_LANES 16

// Inner loops of the element-wise ops and of attention. Every variant's result is bit-identical to
// the scalar twin's (the reference engine's order where the models are sensitive to it, the
// canonical lane order of EK_CANONICAL_LANES elsewhere). Each variant overrides what it speeds up;
// the public ek_* functions in ops.c / attention.c call through the selected table.
typedef struct {
    // sum of x[i]^2 (the reference engine accumulates it in double)
    double (*sum_squares)(const float *x, int64_t n);
    // y = x * scale * w   (w may be NULL: y = x * scale)
    void (*scale_mul)(const float *x, float scale, const float *w, float *y, int64_t n);
    // x[i] = exp(x[i] - max); returns the sum in double
    double (*exp_shift_sum)(float *x, int64_t n, float max);
    float (*max)(const float *x, int64_t n);
    void (*scale)(float *x, float s, int64_t n);
    // out = silu(gate) * up
    void (*silu_mul)(const float *gate, const float *up, float *out, int64_t n);
    void (*add)(const float *a, const float *b, float *out, int64_t n);
    // Rotates `pairs` pairs of every head: (v[a], v[b]) by (cs[i], sn[i]), with a = i, b = i + pairs
    // (neox) or a = 2i, b = 2i + 1.
    void (*rope)(float *x, int64_t n_heads, int64_t head_dim, int64_t pairs, const float *cs, const float *sn, bool neox);
    // Attention. Short batches: one query (d <= EK_ATTENTION_MAX_HEAD_DIM floats) against n_kv
    // positions of one KV head (rows kv_stride halves apart) into out[d], with the numerics of
    // ops.c (f16 query and accumulator, online softmax). Long prompts: f32·f16 dot in canonical
    // lane order with fused multiply-adds, acc = fma(v, s, acc).
    void (*attend_f16)(int64_t d, const float *q, const ek_fp16 *k, const ek_fp16 *v, int64_t n_kv,
                       int64_t kv_stride, float scale, float *out);
    // attend_f16 for g query heads that share this KV head: queries and outputs g rows of d
    // floats; each head's result is exactly attend_f16's (the keys and values are read once).
    void (*attend_f16_group)(int64_t d, int g, const float *q, const ek_fp16 *k, const ek_fp16 *v, int64_t n_kv,
                             int64_t kv_stride, float scale, float *out);
    float (*dot_f32_f16)(int64_t n, const float *a, const ek_fp16 *b);
    void (*mad_f32_f16)(int64_t n, float *acc, const ek_fp16 *v, float s);      // acc += v * s
    void (*f32_to_f16)(const float *x, ek_fp16 *y, int64_t n);
    void (*f16_to_f32)(const ek_fp16 *x, float *y, int64_t n);
} ek_op_kernels;

// The scalar op kernels (ops.c).
extern const ek_op_kernels ek_generic_ops;
#define EK_ATTENTION_MAX_HEAD_DIM 1024
// Query heads per KV head that the vector group kernels take at once (more go in several calls).
#define EK_ATTENTION_MAX_GROUP 8
// The short-batch attention score (ops.c), for variants that only vectorise some head sizes.
float ek_attention_dot_f16(int64_t n, const ek_fp16 *a, const ek_fp16 *b);

// A variant's patch overrides entries of the copies of the generic tables it is given and returns
// a label naming the instruction sets it chose (e.g. "neon+dotprod").
typedef const char *(*ek_patch_fn)(ek_type_traits *types, ek_op_kernels *ops);

#if defined(__x86_64__)
bool ek_cpu_has_avx2(void);     // AVX2 + FMA + F16C, OS saves YMM state
bool ek_cpu_has_avx512(void);   // AVX-512 F, BW, VL, VNNI, OS saves ZMM state
const char *ek_patch_avx2(ek_type_traits *types, ek_op_kernels *ops);
const char *ek_patch_avx512(ek_type_traits *types, ek_op_kernels *ops);
// The AVX2 prompt and decode-span kernels of the 32-element types rebuilt with VNNI (x86/avx512_b32_block.c).
void ek_patch_avx512_b32_block(ek_type_traits *types);
void ek_patch_avx512_b32_span(ek_type_traits *types);
// Vectorised ek_expf (exp.h) ops, installed by ek_patch_avx2 (x86/exp_avx2.c).
double ek_exp_shift_sum_avx2(float *x, int64_t n, float max);
void ek_silu_mul_avx2(const float *gate, const float *up, float *out, int64_t n);
#endif
#if defined(__aarch64__)
bool ek_cpu_has_neon(void);
bool ek_cpu_has_dotprod(void);  // SDOT/UDOT (ARMv8.2 dotprod)
bool ek_cpu_has_i8mm(void);     // SMMLA (ARMv8.6 i8mm)
const char *ek_patch_neon(ek_type_traits *types, ek_op_kernels *ops);
// Vectorised ek_expf (exp.h) ops, installed by ek_patch_neon (arm/exp_neon.c).
double ek_exp_shift_sum_neon(float *x, int64_t n, float max);
void ek_silu_mul_neon(const float *gate, const float *up, float *out, int64_t n);
#endif

// The tables of the selected variant.
const ek_type_traits *ek_dispatch_table(void);
const ek_op_kernels *ek_ops(void);
// The op kernels of variant `v` (the scalar ones if the CPU lacks it).
const ek_op_kernels *ek_ops_variant(ek_variant v);

#endif
