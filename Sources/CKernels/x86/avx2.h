// Shared helpers of the AVX2 kernels (x86/avx2*.c): one compilation unit per family of types,
// all with the same target attributes and the same exactness contract (see avx2.c).
#ifndef EDGELM_CKERNELS_AVX2_H
#define EDGELM_CKERNELS_AVX2_H
#if defined(__x86_64__)
#include "../dispatch.h"
#include <immintrin.h>
#include <string.h>

// The build passes -ffp-contract=off; say it here too for clang, whose default would fuse the scalar
// a * b + c of the twins' float terms (gcc ignores this pragma, with a warning, hence the guard).
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

// A unit that compiles these kernels again for a wider ISA (avx512_b32_block.c) sets EK_X86_TARGET.
#ifndef EK_X86_TARGET
#define EK_X86_TARGET "avx2,fma,f16c"
#endif
#define EK_AVX2 __attribute__((target(EK_X86_TARGET)))
// Fixed-count loops over blocks, chunks and tokens must unroll for their vectors to stay in
// registers; gcc -O2 (the C harness) does not unroll by itself.
#define EK_UNROLL _Pragma("GCC unroll 8")
#define EK_AVX2_INLINE static inline __attribute__((always_inline, target(EK_X86_TARGET)))

// ---- helpers -------------------------------------------------------------------------------

EK_AVX2_INLINE float h2f(ek_fp16 h) { return _cvtsh_ss(h); }
EK_AVX2_INLINE ek_fp16 f2h(float f) { return (ek_fp16)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT); }

EK_AVX2_INLINE uint32_t load_u32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
EK_AVX2_INLINE __m256i load256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
EK_AVX2_INLINE __m128i load128(const void *p) { return _mm_loadu_si128((const __m128i *)p); }
EK_AVX2_INLINE __m256 load_f16x8(const ek_fp16 *p) { return _mm256_cvtph_ps(load128(p)); }

EK_AVX2_INLINE float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

EK_AVX2_INLINE int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

// 32 packed nibbles: low nibbles (elements 0..15) in the low lane, high nibbles in the high lane.
// A 128-bit broadcast is a plain load, and one variable shift splits the lanes.
EK_AVX2_INLINE __m256i nibbles32(const uint8_t *qs) {
    const __m256i b = _mm256_broadcastsi128_si256(load128(qs));
    return _mm256_and_si256(_mm256_srlv_epi64(b, _mm256_setr_epi64x(0, 0, 4, 4)), _mm256_set1_epi8(0x0f));
}

// Bit j of a 32-bit word as byte j: 0xff if set, else 0.
EK_AVX2_INLINE __m256i bits32(uint32_t bits) {
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits),
        _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
    const __m256i sel = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, sel), sel);
}

// Weight rows stream from memory once per decode step. The hardware prefetcher alone left
// 10-40% of the bandwidth unused in measurements; asking for the lines EK_PREFETCH bytes ahead
// recovers most of it (and past the end of a row, the next row is what comes next).
#define EK_PREFETCH 1024
EK_AVX2_INLINE void ek_prefetch(const void *p, int lines) {
    for (int k = 0; k < lines; ++k) _mm_prefetch((const char *)p + EK_PREFETCH + 64 * k, _MM_HINT_T0);
}


EK_AVX2_INLINE int load_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

// s + v[0] + v[1] + v[2] + v[3], left to right.
EK_AVX2_INLINE float add_lanes(float s, __m128 v) {
    s += _mm_cvtss_f32(v);
    s += _mm_cvtss_f32(_mm_movehdup_ps(v));
    s += _mm_cvtss_f32(_mm_movehl_ps(v, v));
    s += _mm_cvtss_f32(_mm_shuffle_ps(v, v, 3));
    return s;
}

// Weight rows stream from memory once per decode step. Tiles of consecutive rows are one contiguous
// run, the next tile's run right after it: each step requests its share of the next tile's run, in
// order, a single ascending stream the hardware prefetcher also follows (requesting each row's own
// lines ahead, four short interleaved streams, measured 1.5-2x slower for rows of about 1 KB).
// Rows further apart are long streams of their own: their lines are requested EK_ROW_PREFETCH ahead.
#define EK_ROW_PREFETCH 512
EK_AVX2_INLINE void tile_prefetch(const uint8_t *const rw[EK_TILE_ROWS], int nw, size_t w_stride, size_t row_bytes,
                                  size_t pos, size_t step) {
    if (w_stride == row_bytes) {
        const uint8_t *p = rw[0] + (size_t)nw * (row_bytes + pos);
        for (size_t k = 0; k < (size_t)nw * step; k += 64) _mm_prefetch((const char *)p + k, _MM_HINT_T0);
    } else if (step <= 64) {   // one line per row (the loop below costs more than the prefetches)
        _mm_prefetch((const char *)rw[0] + pos + EK_ROW_PREFETCH, _MM_HINT_T0);
        if (nw > 1) _mm_prefetch((const char *)rw[1] + pos + EK_ROW_PREFETCH, _MM_HINT_T0);
        if (nw > 2) _mm_prefetch((const char *)rw[2] + pos + EK_ROW_PREFETCH, _MM_HINT_T0);
        if (nw > 3) _mm_prefetch((const char *)rw[3] + pos + EK_ROW_PREFETCH, _MM_HINT_T0);
    } else {
        for (int r = 0; r < nw; ++r)
            for (size_t k = 0; k < step; k += 64) _mm_prefetch((const char *)rw[r] + pos + EK_ROW_PREFETCH + k, _MM_HINT_T0);
    }
}

// The tile's row pointers; lanes past nw repeat the last row.
EK_AVX2_INLINE void tile_rows(const void *w, size_t w_stride, int nw, const uint8_t *rows[EK_TILE_ROWS]) {
    for (int r = 0; r < EK_TILE_ROWS; ++r) rows[r] = (const uint8_t *)w + (size_t)(r < nw ? r : nw - 1) * w_stride;
}

// s[0..<nw] = v[0..<nw], without the library call a loop of variable count compiles to.
EK_AVX2_INLINE void store_rows(float *s, const float v[EK_TILE_ROWS], int nw) {
    s[0] = v[0];
    if (nw > 1) s[1] = v[1];
    if (nw > 2) s[2] = v[2];
    if (nw > 3) s[3] = v[3];
}

EK_AVX2_INLINE __m256i load2x128(const uint8_t *lo, const uint8_t *hi) {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(load128(lo)), load128(hi), 1);
}

// Per 128-bit half: the totals of four vectors' four int32 each, as [a b c d].
EK_AVX2_INLINE __m256i sum4x4_epi32(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i ab = _mm256_add_epi32(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));
    const __m256i cd = _mm256_add_epi32(_mm256_unpacklo_epi32(c, d), _mm256_unpackhi_epi32(c, d));
    return _mm256_add_epi32(_mm256_unpacklo_epi64(ab, cd), _mm256_unpackhi_epi64(ab, cd));
}

// Each unit installs its kernels into the tables (called by ek_patch_avx2).
void ek_patch_avx2_float(ek_type_traits *types, ek_op_kernels *ops);
void ek_patch_avx2_attention(ek_op_kernels *ops);   // called by ek_patch_avx2_float
void ek_patch_avx2_b32(ek_type_traits *types);
void ek_patch_avx2_b32_block(ek_type_traits *types);   // called by ek_patch_avx2_b32
void ek_patch_avx2_b32_span(ek_type_traits *types);    // called by ek_patch_avx2_b32
void ek_patch_avx2_k(ek_type_traits *types);
void ek_patch_avx2_k_rows(ek_type_traits *types);   // called by ek_patch_avx2_k
#endif
#endif
