// Scalar reference kernels ("generic" twins). Internal to CKernels.
//
// Every vec_dot reproduces the integer sums and the per-block float scaling order of ggml's scalar
// ggml_vec_dot_*_generic, and every activation quantizer reproduces ggml's quantize_row_*_ref, so
// results track llama.cpp's CPU backend.
#ifndef EDGELM_CKERNELS_GENERIC_H
#define EDGELM_CKERNELS_GENERIC_H

#include "../include/ckernels.h"
#include <string.h>

// The scalar twins are the reference for tests: keep them bit-identical across targets by never
// fusing a*b+c into an FMA (arm64 would otherwise contract and drift by an ulp from x86).
#pragma STDC FP_CONTRACT OFF

// ---- fp16 / bf16 helpers, branch-free so loops over them vectorise -------------------------

static inline uint32_t ek_gen_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float ek_gen_from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static inline float ek_h2f(ek_fp16 h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t two_h = (uint32_t)(h & 0x7fffu) << 1;   // exponent+mantissa, shifted left once
    // Normal/inf/nan: move exponent+mantissa into place, then rescale the exponent by 2^-112;
    // pre-biasing by 224 keeps inf/nan exponents (31) at 255 after the multiply.
    const float normal = ek_gen_from_bits((two_h << 12) + (224u << 23)) * 0x1.0p-112f;
    // Subnormal: mantissa m gives m * 2^-24; build 0.5 + m*2^-24 and subtract 0.5 (exact).
    const float subnormal = ek_gen_from_bits((126u << 23) | (two_h >> 1)) - 0.5f;
    const uint32_t mag = two_h < (1u << 11) ? ek_gen_bits(subnormal) : ek_gen_bits(normal);
    return ek_gen_from_bits(sign | mag);
}

static inline ek_fp16 ek_f2h(float f) {
    const uint32_t u = ek_gen_bits(f);
    const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    const uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return sign | 0x7e00u | (uint16_t)((a >> 13) & 0x3ffu);  // quiet nan, payload kept
    if (a >= 0x47800000u) return sign | 0x7c00u;                                  // >= 65536 (or inf)
    if (a < 0x38800000u) {
        // Below 2^-14: adding 0.5 puts the f16 subnormal lsb (2^-24) at the f32 lsb, so the FPU
        // rounds to nearest even for us.
        const float s = ek_gen_from_bits(a) + 0.5f;
        return sign | (uint16_t)(ek_gen_bits(s) - 0x3f000000u);
    }
    // Rebias 127 -> 15 and round to nearest even on the 13 dropped bits; a carry out of the
    // mantissa correctly bumps the exponent (up to inf at 65520).
    const uint32_t odd = (a >> 13) & 1u;
    return sign | (uint16_t)((a - (112u << 23) + 0xfffu + odd) >> 13);
}

static inline float ek_b2f(ek_bf16 h) { return ek_gen_from_bits((uint32_t)h << 16); }

static inline ek_bf16 ek_f2b(float f) {
    const uint32_t u = ek_gen_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (ek_bf16)((u >> 16) | 0x40u);  // keep nan quiet
    return (ek_bf16)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// ggml's nearest_int: round half to even via the 1.5*2^23 trick (valid for |f| < 2^22).
static inline int ek_nearest_int(float f) {
    const float v = f + 12582912.0f;
    return (int)(ek_gen_bits(v) & 0x007fffffu) - 0x00400000;
}

// ---- float types (float_types.c) -----------------------------------------------------------

void ek_dequantize_row_f32_generic(const void *restrict src, float *restrict dst, int64_t n);
void ek_dequantize_row_f16_generic(const void *restrict src, float *restrict dst, int64_t n);
void ek_dequantize_row_bf16_generic(const void *restrict src, float *restrict dst, int64_t n);
void ek_quantize_row_f32_generic(const float *restrict src, void *restrict dst, int64_t n);
void ek_quantize_row_f16_generic(const float *restrict src, void *restrict dst, int64_t n);
void ek_quantize_row_bf16_generic(const float *restrict src, void *restrict dst, int64_t n);
float ek_vec_dot_f32_generic(int64_t n, const void *restrict w, const void *restrict x);
float ek_vec_dot_f16_generic(int64_t n, const void *restrict w, const void *restrict x);
float ek_vec_dot_bf16_generic(int64_t n, const void *restrict w, const void *restrict x);

// ---- 32-element block types ----------------------------------------------------------------

void ek_dequantize_row_q4_0_generic(const void *restrict src, float *restrict dst, int64_t n);
void ek_dequantize_row_q4_1_generic(const void *restrict src, float *restrict dst, int64_t n);
void ek_dequantize_row_q5_0_generic(const void *restrict src, float *restrict dst, int64_t n);
void ek_dequantize_row_q5_1_generic(const void *restrict src, float *restrict dst, int64_t n);
void ek_dequantize_row_q8_0_generic(const void *restrict src, float *restrict dst, int64_t n);
float ek_vec_dot_q4_0_q8_0_generic(int64_t n, const void *restrict w, const void *restrict x);
float ek_vec_dot_q4_1_q8_1_generic(int64_t n, const void *restrict w, const void *restrict x);
float ek_vec_dot_q5_0_q8_0_generic(int64_t n, const void *restrict w, const void *restrict x);
float ek_vec_dot_q5_1_q8_1_generic(int64_t n, const void *restrict w, const void *restrict x);
float ek_vec_dot_q8_0_q8_0_generic(int64_t n, const void *restrict w, const void *restrict x);

// ---- activation quantizers (quant_q8.c) ----------------------------------------------------

void ek_quantize_row_q8_0_generic(const float *restrict src, void *restrict dst, int64_t n);
void ek_quantize_row_q8_1_generic(const float *restrict src, void *restrict dst, int64_t n);
void ek_quantize_row_q8_K_generic(const float *restrict src, void *restrict dst, int64_t n);

// ---- 256-element super-block (K) types -----------------------------------------------------

void ek_dequantize_row_q2_K_generic(const void *restrict src, float *restrict dst, int64_t n);
void ek_dequantize_row_q3_K_generic(const void *restrict src, float *restrict dst, int64_t n);
void ek_dequantize_row_q4_K_generic(const void *restrict src, float *restrict dst, int64_t n);
void ek_dequantize_row_q5_K_generic(const void *restrict src, float *restrict dst, int64_t n);
void ek_dequantize_row_q6_K_generic(const void *restrict src, float *restrict dst, int64_t n);
float ek_vec_dot_q2_K_q8_K_generic(int64_t n, const void *restrict w, const void *restrict x);
float ek_vec_dot_q3_K_q8_K_generic(int64_t n, const void *restrict w, const void *restrict x);
float ek_vec_dot_q4_K_q8_K_generic(int64_t n, const void *restrict w, const void *restrict x);
float ek_vec_dot_q5_K_q8_K_generic(int64_t n, const void *restrict w, const void *restrict x);
float ek_vec_dot_q6_K_q8_K_generic(int64_t n, const void *restrict w, const void *restrict x);

// Q4_K/Q5_K pack eight 6-bit scales and eight 6-bit mins into 12 bytes.
static inline void ek_unpack_k4_scales(const uint8_t *restrict q, uint8_t *restrict sc, uint8_t *restrict mn) {
    for (int j = 0; j < 4; ++j) {
        sc[j] = q[j] & 63;
        mn[j] = q[j + 4] & 63;
        sc[j + 4] = (uint8_t)((q[j + 8] & 0x0f) | ((q[j] >> 6) << 4));
        mn[j + 4] = (uint8_t)((q[j + 8] >> 4) | ((q[j + 4] >> 6) << 4));
    }
}

// Lane sums of a K-type super-block: ggml's scalar K dot products accumulate the integer products
// into 8 lanes (element index mod 8) and scale each lane by d separately; we keep that lane
// structure so the float results are identical.
static inline void ek_k_lane_dot(const int8_t *restrict a, const int8_t *restrict q8,
                                 const int32_t *restrict group_scale, int group, int32_t lanes[8]) {
    for (int l = 0; l < 8; ++l) lanes[l] = 0;
    for (int g = 0; g < EK_QK_K / group; ++g) {
        const int32_t s = group_scale[g];
        for (int k = 0; k < group; k += 8) {
            for (int l = 0; l < 8; ++l) lanes[l] += s * (q8[g * group + k + l] * a[g * group + k + l]);
        }
    }
}

#endif
