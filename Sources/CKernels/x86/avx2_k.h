// Shared pieces of the AVX2 kernels for the 256-element super-block types (Q2_K...Q6_K): lane
// layout, scale unpacking (avx2_k.c: vec_dot and token tiles; avx2_k_rows.c: row tiles).
#ifndef EDGELM_CKERNELS_AVX2_K_H
#define EDGELM_CKERNELS_AVX2_K_H
#if defined(__x86_64__)
#include "avx2.h"

// ---- 256-element super-block (K) types -----------------------------------------------------
//
// Q3_K..Q6_K: the twins accumulate a super-block's products into eight integer lanes (element index
// mod 8), each product scaled by its group's scale, and add d * lane to eight float sums. maddubs
// sums adjacent bytes, so both codes and activations are first shuffled to pair element e with
// e + 8 of each 16-byte half (same lane); a word then holds lane j of its half. Words of two
// vectors are interleaved and multiplied by their groups' scales with madd, giving int32 lanes
// 0..3 (and 4..7) in both halves, folded once per super-block.

// Pairs bytes e and e + 8 of each 16-byte half.
EK_AVX2_INLINE __m256i lane_pairs(__m256i v) {
    const __m128i p = _mm_setr_epi8(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
    return _mm256_shuffle_epi8(v, _mm256_broadcastsi128_si256(p));
}

// Lane words of two vectors a, b (int16, one lane per word of each half) times their halves'
// scales, added to the int32 lane accumulators: *lo gets lanes 0..3, *hi lanes 4..7, in both halves.
// scales: per half, words [s_a s_b s_a s_b ...].
EK_AVX2_INLINE void lanes_acc(__m256i a, __m256i b, __m256i scales, __m256i *lo, __m256i *hi) {
    *lo = _mm256_add_epi32(*lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), scales));
    *hi = _mm256_add_epi32(*hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), scales));
}

// The eight int32 lanes in order from the two accumulators.
EK_AVX2_INLINE __m256i lanes_fold(__m256i lo, __m256i hi) {
    return _mm256_add_epi32(_mm256_permute2x128_si256(lo, hi, 0x20), _mm256_permute2x128_si256(lo, hi, 0x31));
}

// sums += d * lanes, per lane (the twins' `sums[l] += d * (float)lanes[l]`, unfused).
EK_AVX2_INLINE __m256 lanes_scale(__m256 sums, __m256i lanes, float d) {
    return _mm256_add_ps(sums, _mm256_mul_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(lanes)));
}

// start + sums[0] + ... + sums[7], left to right.
EK_AVX2_INLINE float fold_sums(float start, __m256 sums) {
    return add_lanes(add_lanes(start, _mm256_castps256_ps128(sums)), _mm256_extractf128_ps(sums, 1));
}

EK_AVX2_INLINE const ek_block_q8_K *q8K_row(const void *x, size_t stride, int t) {
    return (const ek_block_q8_K *)((const uint8_t *)x + (size_t)t * stride);
}

// 16 int8 scales as int16: scales 0..7 in both halves (*lo), and 8..15 in both halves (*hi).
EK_AVX2_INLINE void scales16(__m128i s8, __m256i *lo, __m256i *hi) {
    const __m256i s = _mm256_cvtepi8_epi16(s8);
    *lo = _mm256_permute2x128_si256(s, s, 0x00);
    *hi = _mm256_permute2x128_si256(s, s, 0x11);
}

// Scale words for vectors k and k + 1 of a 128-element half with 16-element groups (vector k: group
// 2k in its low half, 2k + 1 in its high half), from that half's eight scales.
EK_AVX2_INLINE __m256i scales_g16(__m256i sc, int k) {
    const __m128i lo = _mm_set1_epi32((4 * k + 5) << 24 | (4 * k + 4) << 16 | (4 * k + 1) << 8 | (4 * k));
    const __m128i hi = _mm_set1_epi32((4 * k + 7) << 24 | (4 * k + 6) << 16 | (4 * k + 3) << 8 | (4 * k + 2));
    return _mm256_shuffle_epi8(sc, _mm256_set_m128i(hi, lo));
}

// Scale words for groups 2c and 2c + 1 of 32 elements (both halves), from the eight scales.
EK_AVX2_INLINE __m256i scales_g32(__m256i sc, int c) {
    return _mm256_shuffle_epi8(sc, _mm256_set1_epi32((4 * c + 3) << 24 | (4 * c + 2) << 16 | (4 * c + 1) << 8 | (4 * c)));
}

// Q3_K's 16 six-bit scales (low nibbles in bytes 0..7, top two bits in bytes 8..11), minus 32.
EK_AVX2_INLINE __m128i q3_K_scales(const uint8_t *s) {
    const uint32_t u0 = load_u32(s), u1 = load_u32(s + 4), hi = load_u32(s + 8);
    const uint32_t m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
    const uint32_t s0 = (u0 & m4) | ((hi & m2) << 4);
    const uint32_t s1 = (u1 & m4) | (((hi >> 2) & m2) << 4);
    const uint32_t s2 = ((u0 >> 4) & m4) | (((hi >> 4) & m2) << 4);
    const uint32_t s3 = ((u1 >> 4) & m4) | (((hi >> 6) & m2) << 4);
    return _mm_sub_epi8(_mm_setr_epi32((int)s0, (int)s1, (int)s2, (int)s3), _mm_set1_epi8(32));
}

// Q4_K/Q5_K scales and mins as 8 bytes each: [scales | mins] in one 128-bit value.
EK_AVX2_INLINE __m128i k4_scales_mins(const uint8_t *q) {
    const uint32_t u0 = load_u32(q), u1 = load_u32(q + 4), u2 = load_u32(q + 8);
    const uint32_t m6 = 0x3f3f3f3fu, m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
    const uint32_t sc_lo = u0 & m6, mn_lo = u1 & m6;
    const uint32_t sc_hi = (u2 & m4) | (((u0 >> 6) & m2) << 4);
    const uint32_t mn_hi = ((u2 >> 4) & m4) | (((u1 >> 6) & m2) << 4);
    return _mm_setr_epi32((int)sc_lo, (int)sc_hi, (int)mn_lo, (int)mn_hi);
}

#endif
#endif
