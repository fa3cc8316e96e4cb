// F32, F16 and BF16 rows: conversion and dot products.
#include "generic.h"

void ek_dequantize_row_f32_generic(const void *restrict src, float *restrict dst, int64_t n) {
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void ek_dequantize_row_f16_generic(const void *restrict src, float *restrict dst, int64_t n) {
    ek_fp16_to_fp32_row(src, dst, n);
}

void ek_dequantize_row_bf16_generic(const void *restrict src, float *restrict dst, int64_t n) {
    const ek_bf16 *restrict x = src;
    for (int64_t i = 0; i < n; ++i) dst[i] = ek_b2f(x[i]);
}

void ek_quantize_row_f32_generic(const float *restrict src, void *restrict dst, int64_t n) {
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void ek_quantize_row_f16_generic(const float *restrict src, void *restrict dst, int64_t n) {
    ek_fp32_to_fp16_row(src, dst, n);
}

void ek_quantize_row_bf16_generic(const float *restrict src, void *restrict dst, int64_t n) {
    ek_bf16 *restrict y = dst;
    for (int64_t i = 0; i < n; ++i) y[i] = ek_f2b(src[i]);
}

// Float dot products keep EK_LANES independent partial sums (like ggml's SIMD kernels) so the
// compiler can vectorise without reassociating; lanes are folded pairwise at the end. Half types
// are widened a chunk at a time first: a plain conversion loop vectorises, a fused one does not.
#define EK_LANES 16
#define EK_CHUNK 256

static inline void ek_dot_lanes(const float *restrict a, const float *restrict b, int64_t n, float acc[EK_LANES]) {
    int64_t i = 0;
    for (; i + EK_LANES <= n; i += EK_LANES) {
        for (int l = 0; l < EK_LANES; ++l) acc[l] += a[i + l] * b[i + l];
    }
    for (int l = 0; i < n; ++i, ++l) acc[l] += a[i] * b[i];
}

static inline float ek_fold_lanes(float acc[EK_LANES]) {
    for (int w = EK_LANES / 2; w > 0; w /= 2) {
        for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
    }
    return acc[0];
}

float ek_vec_dot_f32_generic(int64_t n, const void *restrict w, const void *restrict x) {
    float acc[EK_LANES] = {0};
    ek_dot_lanes(w, x, n, acc);
    return ek_fold_lanes(acc);
}

float ek_vec_dot_f16_generic(int64_t n, const void *restrict w, const void *restrict x) {
    const ek_fp16 *restrict a = w;
    const ek_fp16 *restrict b = x;
    float acc[EK_LANES] = {0};
    float fa[EK_CHUNK], fb[EK_CHUNK];
    for (int64_t i = 0; i < n; i += EK_CHUNK) {
        const int64_t m = n - i < EK_CHUNK ? n - i : EK_CHUNK;
        for (int64_t k = 0; k < m; ++k) fa[k] = ek_h2f(a[i + k]);
        for (int64_t k = 0; k < m; ++k) fb[k] = ek_h2f(b[i + k]);
        ek_dot_lanes(fa, fb, m, acc);
    }
    return ek_fold_lanes(acc);
}

float ek_vec_dot_bf16_generic(int64_t n, const void *restrict w, const void *restrict x) {
    const ek_bf16 *restrict a = w;
    const ek_bf16 *restrict b = x;
    float acc[EK_LANES] = {0};
    float fa[EK_CHUNK], fb[EK_CHUNK];
    for (int64_t i = 0; i < n; i += EK_CHUNK) {
        const int64_t m = n - i < EK_CHUNK ? n - i : EK_CHUNK;
        for (int64_t k = 0; k < m; ++k) fa[k] = ek_b2f(a[i + k]);
        for (int64_t k = 0; k < m; ++k) fb[k] = ek_b2f(b[i + k]);
        ek_dot_lanes(fa, fb, m, acc);
    }
    return ek_fold_lanes(acc);
}
