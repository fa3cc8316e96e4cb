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
#if defined(__x86_64__)
#include "../dispatch.h"
#include <immintrin.h>
#include <string.h>

// The build passes -ffp-contract=off; say it here too for clang, whose default would fuse the scalar
// a * b + c of the twins' float terms (gcc ignores this pragma, with a warning, hence the guard).
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define EK_AVX2 __attribute__((target("avx2,fma,f16c")))
// Fixed-count loops over blocks, chunks and tokens must unroll for their vectors to stay in
// registers; gcc -O2 (the C harness) does not unroll by itself.
#define EK_UNROLL _Pragma("GCC unroll 8")
#define EK_AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))

// ---- helpers -------------------------------------------------------------------------------

EK_AVX2_INLINE float h2f(ek_fp16 h) { return _cvtsh_ss(h); }
EK_AVX2_INLINE ek_fp16 f2h(float f) { return (ek_fp16)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT); }

EK_AVX2_INLINE uint32_t load_u32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
EK_AVX2_INLINE __m256i load256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }
EK_AVX2_INLINE __m128i load128(const void *p) { return _mm_loadu_si128((const __m128i *)p); }

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

// ---- float rows ----------------------------------------------------------------------------

EK_AVX2 static float vec_dot_f32(int64_t n, const void *restrict w, const void *restrict x) {
    const float *a = w, *b = x;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
        acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
        acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
    }
    for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
    for (; i < n; ++i) sum += a[i] * b[i];
    return sum;
}

EK_AVX2_INLINE __m256 load_f16x8(const ek_fp16 *p) { return _mm256_cvtph_ps(load128(p)); }

EK_AVX2_INLINE __m256 load_bf16x8(const ek_bf16 *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(p)), 16));
}

EK_AVX2 static float dot_f16_rows(int64_t n, const ek_fp16 *a, const ek_fp16 *b) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm256_fmadd_ps(load_f16x8(a + i), load_f16x8(b + i), acc0);
        acc1 = _mm256_fmadd_ps(load_f16x8(a + i + 8), load_f16x8(b + i + 8), acc1);
        acc2 = _mm256_fmadd_ps(load_f16x8(a + i + 16), load_f16x8(b + i + 16), acc2);
        acc3 = _mm256_fmadd_ps(load_f16x8(a + i + 24), load_f16x8(b + i + 24), acc3);
    }
    for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(load_f16x8(a + i), load_f16x8(b + i), acc0);
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
    for (; i < n; ++i) sum += h2f(a[i]) * h2f(b[i]);
    return sum;
}

EK_AVX2 static float vec_dot_f16(int64_t n, const void *restrict w, const void *restrict x) {
    return dot_f16_rows(n, w, x);
}

EK_AVX2 static float vec_dot_bf16(int64_t n, const void *restrict w, const void *restrict x) {
    const ek_bf16 *a = w, *b = x;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm256_fmadd_ps(load_bf16x8(a + i), load_bf16x8(b + i), acc0);
        acc1 = _mm256_fmadd_ps(load_bf16x8(a + i + 8), load_bf16x8(b + i + 8), acc1);
        acc2 = _mm256_fmadd_ps(load_bf16x8(a + i + 16), load_bf16x8(b + i + 16), acc2);
        acc3 = _mm256_fmadd_ps(load_bf16x8(a + i + 24), load_bf16x8(b + i + 24), acc3);
    }
    for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(load_bf16x8(a + i), load_bf16x8(b + i), acc0);
    float sum = hsum_ps(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
    for (; i < n; ++i) {
        float fa, fb;
        const uint32_t ua = (uint32_t)a[i] << 16, ub = (uint32_t)b[i] << 16;
        memcpy(&fa, &ua, 4); memcpy(&fb, &ub, 4);
        sum += fa * fb;
    }
    return sum;
}

// f32 -> f16 with the scalar twin's NaN (quiet, payload dropped); F16C keeps the payload.
EK_AVX2_INLINE __m128i f32x8_to_f16(__m256 v) {
    const __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    const __m128i nan16 = _mm_packs_epi32(_mm256_castsi256_si128(nan), _mm256_extracti128_si256(nan, 1));
    const __m128i canon = _mm_or_si128(_mm_and_si128(h, _mm_set1_epi16((short)0x8000)), _mm_set1_epi16(0x7e00));
    return _mm_blendv_epi8(h, canon, nan16);
}

EK_AVX2 static void f32_to_f16_row(const float *x, ek_fp16 *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm_storeu_si128((__m128i *)(y + i), f32x8_to_f16(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float t[8] = {0};
        ek_fp16 h[8];
        memcpy(t, x + i, sizeof(float) * (size_t)(n - i));
        _mm_storeu_si128((__m128i *)h, f32x8_to_f16(_mm256_loadu_ps(t)));
        memcpy(y + i, h, sizeof(ek_fp16) * (size_t)(n - i));
    }
}

EK_AVX2 static void f16_to_f32_row(const ek_fp16 *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load_f16x8(x + i));
    for (; i < n; ++i) y[i] = h2f(x[i]);
}

EK_AVX2 static void quantize_row_f16(const float *restrict src, void *restrict dst, int64_t n) {
    f32_to_f16_row(src, dst, n);
}

// Round to nearest even on the dropped 16 bits; NaN stays quiet.
EK_AVX2_INLINE __m256i f32x8_to_bf16_lanes(__m256 v) {
    const __m256i u = _mm256_castps_si256(v);
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), odd), 16);
    const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
    return _mm256_blendv_epi8(rounded, quiet, nan);
}

EK_AVX2 static void quantize_row_bf16(const float *restrict src, void *restrict dst, int64_t n) {
    ek_bf16 *y = dst;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256i lo = f32x8_to_bf16_lanes(_mm256_loadu_ps(src + i));
        const __m256i hi = f32x8_to_bf16_lanes(_mm256_loadu_ps(src + i + 8));
        const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(lo, hi), 0xd8);
        _mm256_storeu_si256((__m256i *)(y + i), packed);
    }
    for (; i < n; ++i) {
        const __m256i v = f32x8_to_bf16_lanes(_mm256_set1_ps(src[i]));
        y[i] = (ek_bf16)_mm256_extract_epi32(v, 0);
    }
}

// ---- activation quantizers -----------------------------------------------------------------

EK_AVX2_INLINE __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

EK_AVX2_INLINE float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

// v * s rounded half to even, as int32 (the scalar twins' nearest_int of the same product).
EK_AVX2_INLINE __m256i round_mul(__m256 v, __m256 s) {
    return _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v, s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

// Four vectors of 8 int32 (elements in order) to 32 int8; values already fit.
EK_AVX2_INLINE __m256i pack32(__m256i i0, __m256i i1, __m256i i2, __m256i i3) {
    const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// One block of 32: d = amax/127, values times 127/amax rounded half to even; returns sum(qs).
EK_AVX2_INLINE int32_t quantize_block_q8(const float *src, int8_t *qs, float *d) {
    const __m256 v0 = _mm256_loadu_ps(src), v1 = _mm256_loadu_ps(src + 8);
    const __m256 v2 = _mm256_loadu_ps(src + 16), v3 = _mm256_loadu_ps(src + 24);
    const __m256 m = _mm256_max_ps(_mm256_max_ps(abs_ps(v0), abs_ps(v1)), _mm256_max_ps(abs_ps(v2), abs_ps(v3)));
    const float amax = hmax_ps(m);
    const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
    const __m256i i0 = round_mul(v0, id), i1 = round_mul(v1, id), i2 = round_mul(v2, id), i3 = round_mul(v3, id);
    _mm256_storeu_si256((__m256i *)qs, pack32(i0, i1, i2, i3));
    *d = amax / 127.0f;
    return hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)));
}

EK_AVX2 static void quantize_row_q8_0(const float *restrict src, void *restrict dst, int64_t n) {
    ek_block_q8_0 *restrict y = dst;
    for (int64_t b = 0; b < n / EK_QK8_0; ++b, src += EK_QK8_0) {
        float d;
        quantize_block_q8(src, y[b].qs, &d);
        y[b].d = f2h(d);
    }
}

EK_AVX2 static void quantize_row_q8_1(const float *restrict src, void *restrict dst, int64_t n) {
    ek_block_q8_1 *restrict y = dst;
    for (int64_t b = 0; b < n / EK_QK8_1; ++b, src += EK_QK8_1) {
        float d;
        const int32_t sum = quantize_block_q8(src, y[b].qs, &d);
        y[b].d = f2h(d);
        y[b].s = f2h((float)sum * d);
    }
}

EK_AVX2 static void quantize_row_q8_K(const float *restrict src, void *restrict dst, int64_t n) {
    ek_block_q8_K *restrict y = dst;
    for (int64_t b = 0; b < n / EK_QK_K; ++b, src += EK_QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < EK_QK_K; j += 8) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(src + j)));
        const float amax = hmax_ps(m);
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        // The first element of largest magnitude fixes the sign of d.
        const __m256 vmax = _mm256_set1_ps(amax);
        int first = 0;
        for (int j = 0; j < EK_QK_K; j += 8) {
            const int hit = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(src + j)), vmax, _CMP_EQ_OQ));
            if (hit) { first = j + __builtin_ctz((unsigned)hit); break; }
        }
        const float iscale = -127.0f / src[first];
        const __m256 s = _mm256_set1_ps(iscale);
        const __m256i top = _mm256_set1_epi32(127);
        for (int j = 0; j < EK_QK_K; j += 32) {
            const __m256i i0 = _mm256_min_epi32(round_mul(_mm256_loadu_ps(src + j), s), top);
            const __m256i i1 = _mm256_min_epi32(round_mul(_mm256_loadu_ps(src + j + 8), s), top);
            const __m256i i2 = _mm256_min_epi32(round_mul(_mm256_loadu_ps(src + j + 16), s), top);
            const __m256i i3 = _mm256_min_epi32(round_mul(_mm256_loadu_ps(src + j + 24), s), top);
            _mm256_storeu_si256((__m256i *)(y[b].qs + j), pack32(i0, i1, i2, i3));
            // Lanes 0 and 1 of the folded pair sums: the sums of elements j..j+15 and j+16..j+31.
            __m256i h = _mm256_hadd_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
            h = _mm256_hadd_epi32(h, h);
            const __m128i g = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
            y[b].bsums[j / 16] = (int16_t)_mm_cvtsi128_si32(g);
            y[b].bsums[j / 16 + 1] = (int16_t)_mm_extract_epi32(g, 1);
        }
        y[b].d = 1.0f / iscale;
    }
}

// ---- 32-element block types ----------------------------------------------------------------
//
// SIMD computes each block's integer sum (exact in any order); the float terms then follow the
// twins: computed four blocks at a time with the twins' multiplies, and added to the token's sum
// one block after the other. One driver serves all five types through a constant `kind`; it takes
// up to EK_TILE_TOKENS activation rows, so a tile decodes the weights once.

enum { K_Q4_0, K_Q4_1, K_Q5_0, K_Q5_1, K_Q8_0 };

EK_AVX2_INLINE int load_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

EK_AVX2_INLINE size_t b32_size(int kind) {
    return kind == K_Q4_0 ? sizeof(ek_block_q4_0) : kind == K_Q4_1 ? sizeof(ek_block_q4_1)
         : kind == K_Q5_0 ? sizeof(ek_block_q5_0) : kind == K_Q5_1 ? sizeof(ek_block_q5_1) : sizeof(ek_block_q8_0);
}

// Types with an offset m pair with Q8_1 (whose s = dx * sum(qx)); the others with Q8_0.
EK_AVX2_INLINE bool b32_offset(int kind) { return kind == K_Q4_1 || kind == K_Q5_1; }

// A decoded weight block: unsigned codes u (elements 0..15 in the low lane, 16..31 in the high),
// and what the products must lose: for Q4_0/Q5_0 the offset 8 or 16 (where Q5_0's fifth bit is
// clear) is taken off as a product with the activations (q y - 8 y: one multiply, where the sign
// trick costs two sign ops and a multiply); Q8_0 keeps the sign trick (|w|, sign of w).
typedef struct { __m256i u, off; } b32_codes;

EK_AVX2_INLINE b32_codes b32_decode(int kind, const uint8_t *w) {
    b32_codes c;
    switch (kind) {
    case K_Q4_0:
        c.u = nibbles32(w + 2); c.off = _mm256_set1_epi8(8); break;
    case K_Q4_1:
        c.u = nibbles32(w + 4); c.off = _mm256_setzero_si256(); break;
    case K_Q5_0:
        c.u = nibbles32(w + 6); c.off = _mm256_andnot_si256(bits32(load_u32(w + 2)), _mm256_set1_epi8(16)); break;
    case K_Q5_1:
        c.u = _mm256_or_si256(nibbles32(w + 8), _mm256_and_si256(bits32(load_u32(w + 4)), _mm256_set1_epi8(0x10)));
        c.off = _mm256_setzero_si256(); break;
    default: {
        const __m256i q = load256(w + 2);
        c.u = _mm256_sign_epi8(q, q); c.off = q; break;
    }
    }
    return c;
}

// Pair sums of a block's products: sixteen int16 for the nibble types (|sum| <= 2 * 31 * 127, so
// four of them still fit), eight int32 for Q8_0. Activations are within -127..127, so negating
// them for the sign trick cannot overflow.
EK_AVX2_INLINE __m256i b32_products(int kind, b32_codes c, __m256i y) {
    switch (kind) {
    case K_Q4_0: case K_Q5_0:
        return _mm256_sub_epi16(_mm256_maddubs_epi16(c.u, y), _mm256_maddubs_epi16(c.off, y));
    case K_Q4_1: case K_Q5_1:
        return _mm256_maddubs_epi16(c.u, y);
    default:
        return _mm256_madd_epi16(_mm256_maddubs_epi16(c.u, _mm256_sign_epi8(y, c.off)), _mm256_set1_epi16(1));
    }
}

// The four blocks' integer sums [A B C D] from their pair sums; in-lane shuffles only (the
// cross-lane ones issue at half the rate), words of one block kept paired until the widening add.
EK_AVX2_INLINE __m128i b32_fold4(int kind, __m256i pa, __m256i pb, __m256i pc, __m256i pd) {
    __m256i f;
    if (kind == K_Q8_0) {
        const __m256i ab = _mm256_add_epi32(_mm256_unpacklo_epi32(pa, pb), _mm256_unpackhi_epi32(pa, pb));
        const __m256i cd = _mm256_add_epi32(_mm256_unpacklo_epi32(pc, pd), _mm256_unpackhi_epi32(pc, pd));
        f = _mm256_add_epi32(_mm256_unpacklo_epi64(ab, cd), _mm256_unpackhi_epi64(ab, cd));
    } else {
        const __m256i ab = _mm256_add_epi16(_mm256_unpacklo_epi32(pa, pb), _mm256_unpackhi_epi32(pa, pb));
        const __m256i cd = _mm256_add_epi16(_mm256_unpacklo_epi32(pc, pd), _mm256_unpackhi_epi32(pc, pd));
        f = _mm256_madd_epi16(_mm256_add_epi16(_mm256_unpacklo_epi64(ab, cd), _mm256_unpackhi_epi64(ab, cd)), _mm256_set1_epi16(1));
    }
    return _mm_add_epi32(_mm256_castsi256_si128(f), _mm256_extracti128_si256(f, 1));
}

EK_AVX2_INLINE int32_t b32_sum1(int kind, __m256i p) {
    return hsum_epi32(kind == K_Q8_0 ? p : _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

// The halves at p, p + step, p + 2 step, p + 3 step (bytes), widened. Element inserts from memory
// measured faster than packing the halves in general registers or blending wide loads.
EK_AVX2_INLINE __m128 h2f_x4(const uint8_t *p, size_t step) {
    __m128i h = _mm_cvtsi32_si128(load_u16(p));
    h = _mm_insert_epi16(h, load_u16(p + step), 1);
    h = _mm_insert_epi16(h, load_u16(p + 2 * step), 2);
    h = _mm_insert_epi16(h, load_u16(p + 3 * step), 3);
    return _mm_cvtph_ps(h);
}

// The (d, m) or (d, s) pairs of four blocks: *d and *m widened.
EK_AVX2_INLINE void h2f_pairs_x4(const uint8_t *p, size_t step, __m128 *d, __m128 *m) {
    __m128i h = _mm_cvtsi32_si128((int)load_u32(p));
    h = _mm_insert_epi32(h, (int)load_u32(p + step), 1);
    h = _mm_insert_epi32(h, (int)load_u32(p + 2 * step), 2);
    h = _mm_insert_epi32(h, (int)load_u32(p + 3 * step), 3);
    const __m256 v = _mm256_cvtph_ps(_mm_shuffle_epi8(h, _mm_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15)));
    *d = _mm256_castps256_ps128(v);
    *m = _mm256_extractf128_ps(v, 1);
}

// Each twin's float term of a block (dw, mw: weight scale and offset; dx, sx: activation scale and
// scaled sum), four blocks at once.
EK_AVX2_INLINE __m128 b32_terms(int kind, __m128 isum, __m128 dw, __m128 mw, __m128 dx, __m128 sx) {
    switch (kind) {
    case K_Q4_0: return _mm_mul_ps(_mm_mul_ps(isum, dw), dx);
    case K_Q5_0: return _mm_mul_ps(_mm_mul_ps(dw, dx), isum);
    case K_Q4_1: case K_Q5_1: return _mm_add_ps(_mm_mul_ps(_mm_mul_ps(dw, dx), isum), _mm_mul_ps(mw, sx));
    default: return _mm_mul_ps(isum, _mm_mul_ps(dw, dx));
    }
}

EK_AVX2_INLINE float b32_term(int kind, float isum, float dw, float mw, float dx, float sx) {
    switch (kind) {
    case K_Q4_0: return isum * dw * dx;
    case K_Q5_0: return (dw * dx) * isum;
    case K_Q4_1: case K_Q5_1: return (dw * dx) * isum + mw * sx;
    default: return isum * (dw * dx);
    }
}

// s + v[0] + v[1] + v[2] + v[3], left to right.
EK_AVX2_INLINE float add_lanes(float s, __m128 v) {
    s += _mm_cvtss_f32(v);
    s += _mm_cvtss_f32(_mm_movehdup_ps(v));
    s += _mm_cvtss_f32(_mm_movehl_ps(v, v));
    s += _mm_cvtss_f32(_mm_shuffle_ps(v, v, 3));
    return s;
}

EK_AVX2_INLINE void dot_b32(const int kind, int64_t n, const void *restrict w, const void *restrict x, size_t stride,
                            const int nx, float *restrict s) {
    const bool offset = b32_offset(kind);
    const size_t ws = b32_size(kind);
    const size_t xs = offset ? sizeof(ek_block_q8_1) : sizeof(ek_block_q8_0);
    const size_t xq = offset ? offsetof(ek_block_q8_1, qs) : offsetof(ek_block_q8_0, qs);
    const int64_t nb = n / 32;
    const uint8_t *restrict wb = w;
    float sum[EK_TILE_TOKENS];
    __m128 pending[EK_TILE_TOKENS];
    // Adding +0 to a sum that starts at +0 changes nothing, so `pending` can start as zeros.
    EK_UNROLL for (int t = 0; t < nx; ++t) { sum[t] = 0.0f; pending[t] = _mm_setzero_ps(); }
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        const uint8_t *blk = wb + (size_t)i * ws;
        ek_prefetch(blk, (int)((4 * ws + 63) / 64));
        b32_codes c[4];
        EK_UNROLL for (int k = 0; k < 4; ++k) c[k] = b32_decode(kind, blk + (size_t)k * ws);
        __m128 dw, mw;
        if (offset) h2f_pairs_x4(blk, ws, &dw, &mw);
        else dw = mw = h2f_x4(blk, ws);
        EK_UNROLL for (int t = 0; t < nx; ++t) {
            const uint8_t *yb = (const uint8_t *)x + (size_t)t * stride + (size_t)i * xs;
            __m256i p[4];
            EK_UNROLL for (int k = 0; k < 4; ++k) p[k] = b32_products(kind, c[k], load256(yb + (size_t)k * xs + xq));
            const __m128 isum = _mm_cvtepi32_ps(b32_fold4(kind, p[0], p[1], p[2], p[3]));
            __m128 dx, sx;
            if (offset) h2f_pairs_x4(yb, xs, &dx, &sx);
            else dx = sx = h2f_x4(yb, xs);
            // The serial sum takes the previous group's terms while this group's are computed
            // (measured 10-25% faster than adding them at once).
            const __m128 terms = b32_terms(kind, isum, dw, mw, dx, sx);
            sum[t] = add_lanes(sum[t], pending[t]);
            pending[t] = terms;
        }
    }
    EK_UNROLL for (int t = 0; t < nx; ++t) sum[t] = add_lanes(sum[t], pending[t]);
    for (; i < nb; ++i) {
        const uint8_t *blk = wb + (size_t)i * ws;
        const b32_codes c = b32_decode(kind, blk);
        const float dw = h2f((ek_fp16)load_u16(blk));
        const float mw = offset ? h2f((ek_fp16)load_u16(blk + 2)) : 0.0f;
        EK_UNROLL for (int t = 0; t < nx; ++t) {
            const uint8_t *yb = (const uint8_t *)x + (size_t)t * stride + (size_t)i * xs;
            const int32_t isum = b32_sum1(kind, b32_products(kind, c, load256(yb + xq)));
            const float dx = h2f((ek_fp16)load_u16(yb));
            const float sx = offset ? h2f((ek_fp16)load_u16(yb + 2)) : 0.0f;
            sum[t] += b32_term(kind, (float)isum, dw, mw, dx, sx);
        }
    }
    EK_UNROLL for (int t = 0; t < nx; ++t) s[t] = sum[t];
}

// vec_dot and tile entry points; the tile kernel has a copy for full tiles, whose token loops unroll.
#define EK_B32_ENTRIES(name, kind)                                                                          \
    EK_AVX2 static float vec_dot_##name(int64_t n, const void *restrict w, const void *restrict x) {         \
        float s;                                                                                            \
        dot_b32(kind, n, w, x, 0, 1, &s);                                                                   \
        return s;                                                                                           \
    }                                                                                                       \
    EK_AVX2 static void vec_dot_tile_##name(int64_t n, const void *restrict w, const void *restrict x,       \
                                            size_t stride, int nx, float *restrict s) {                     \
        if (nx == EK_TILE_TOKENS) dot_b32(kind, n, w, x, stride, EK_TILE_TOKENS, s);                        \
        else dot_b32(kind, n, w, x, stride, nx, s);                                                         \
    }

EK_B32_ENTRIES(q4_0_q8_0, K_Q4_0)
EK_B32_ENTRIES(q4_1_q8_1, K_Q4_1)
EK_B32_ENTRIES(q5_0_q8_0, K_Q5_0)
EK_B32_ENTRIES(q5_1_q8_1, K_Q5_1)
EK_B32_ENTRIES(q8_0_q8_0, K_Q8_0)

// ---- row tiles (decode steps) --------------------------------------------------------------
//
// vec_dot_rows: up to EK_TILE_ROWS weight rows against one activation row. The activation's share
// of the work (loads, scales, lane shuffles, products with the codes' constant offsets) is done
// once for all rows. For the 32-element types, a row's block terms form a serial chain of float
// adds; the rows' running sums are the lanes of one vector, so one add advances every chain, and a
// tile of fewer rows repeats its last row in the spare lanes (not stored). Each row's integer sums,
// float terms and their order are exactly its vec_dot's.

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

// Per 128-bit half: the totals of four vectors' eight int16 each, as int32 [a b c d]. Pairs of a
// vector's words are added before widening, so every |word| must be below 2^14.
EK_AVX2_INLINE __m256i sum4x8_epi16(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i one = _mm256_set1_epi16(1);
    const __m256i ab = _mm256_madd_epi16(_mm256_add_epi16(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b)), one);
    const __m256i cd = _mm256_madd_epi16(_mm256_add_epi16(_mm256_unpacklo_epi32(c, d), _mm256_unpackhi_epi32(c, d)), one);
    return _mm256_add_epi32(_mm256_unpacklo_epi64(ab, cd), _mm256_unpackhi_epi64(ab, cd));
}

// A row's "head" for blocks i and i + 1: 32 bytes from block i, which hold both blocks' scales
// (and the Q5 types' fifth bits) for every type but Q8_0, whose head is two 16-byte loads. Four
// rows' heads give the scales in the lane layout with a few shuffles (gathering them one by one
// took a quarter of the loop's instructions). b32_head_hi: where block i + 1 starts in the high half.
EK_AVX2_INLINE size_t b32_head_hi(int kind) { return kind == K_Q8_0 ? 0 : b32_size(kind) - 16; }

EK_AVX2_INLINE __m256i b32_head(int kind, const uint8_t *blk) {
    return kind == K_Q8_0 ? load2x128(blk, blk + sizeof(ek_block_q8_0)) : load256(blk);
}

// The f16 scales of four rows' heads, widened: [rows 0..3 of block i | rows 0..3 of block i + 1].
EK_AVX2_INLINE __m256 b32_head_scales(int kind, const __m256i h[EK_TILE_ROWS]) {
    // Words 0..3 of each half, of rows 0 and 1 (a) and 2 and 3 (b), interleaved; then the four rows'
    // words 0 and 1 (lo) or 2 and 3 (hi) as the quadwords of each half.
    const __m256i a = _mm256_unpacklo_epi16(h[0], h[1]), b = _mm256_unpacklo_epi16(h[2], h[3]);
    const __m256i lo = _mm256_unpacklo_epi32(a, b);
    // the low half's quadword 0 (block i), and the high half's quadword with block i + 1's scales
    switch (b32_head_hi(kind) / 2) {
    case 0: return _mm256_cvtph_ps(_mm256_castsi256_si128(_mm256_permute4x64_epi64(lo, 0x08)));
    case 1: return _mm256_cvtph_ps(_mm256_castsi256_si128(_mm256_permute4x64_epi64(lo, 0x0c)));
    default: {   // word 3
        const __m256i c = _mm256_blend_epi32(lo, _mm256_unpackhi_epi32(a, b), 0xf0);
        return _mm256_cvtph_ps(_mm256_castsi256_si128(_mm256_permute4x64_epi64(c, 0x0c)));
    }
    }
}

// The (d, m) pairs of four rows' heads: *d and *m as [rows of block i | rows of block i + 1].
EK_AVX2_INLINE void b32_head_pairs(int kind, const __m256i h[EK_TILE_ROWS], __m256 *d, __m256 *m) {
    // dword 0 of each half (block i), and dword 1 (Q4_1) or 2 (Q5_1) of the high half (block i + 1)
    const __m256i a = _mm256_unpacklo_epi32(h[0], h[1]), b = _mm256_unpacklo_epi32(h[2], h[3]);
    const __m256i hi = b32_head_hi(kind) == 4 ? _mm256_unpackhi_epi64(a, b)
                     : _mm256_unpacklo_epi64(_mm256_unpackhi_epi32(h[0], h[1]), _mm256_unpackhi_epi32(h[2], h[3]));
    const __m256i c = _mm256_blend_epi32(_mm256_unpacklo_epi64(a, b), hi, 0xf0);
    // per half: [d0 m0 d1 m1 d2 m2 d3 m3] to [d0 d1 d2 d3 m0 m1 m2 m3]; then the d quadwords together
    const __m256i dm = _mm256_shuffle_epi8(c, _mm256_broadcastsi128_si256(_mm_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15)));
    const __m256i q = _mm256_permute4x64_epi64(dm, 0xd8);
    *d = _mm256_cvtph_ps(_mm256_castsi256_si128(q));
    *m = _mm256_cvtph_ps(_mm256_extracti128_si256(q, 1));
}

// The codes of blocks i and i + 1 of a nibble type as [block i | block i + 1] halves: *lo holds
// elements 0..15 of each, *hi elements 16..31; unsigned, the Q5 types' fifth bit (from the head) as 16.
EK_AVX2_INLINE void b32_codes2(int kind, const uint8_t *blk, __m256i head, __m256i *lo, __m256i *hi) {
    const size_t ws = b32_size(kind);
    const size_t qo = kind == K_Q4_0 ? 2 : kind == K_Q4_1 ? 4 : kind == K_Q5_0 ? 6 : 8;
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m256i v = load2x128(blk + qo, blk + ws + qo);
    *lo = _mm256_and_si256(v, m4);
    *hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
    if (kind == K_Q5_0 || kind == K_Q5_1) {
        // Bit e of a block's qh as byte e: qh bytes 0 and 1 give *lo's, bytes 2 and 3 *hi's.
        const unsigned h0 = kind == K_Q5_0 ? 2 : 4, h1 = h0 + (unsigned)b32_head_hi(kind);
        const uint64_t rep = 0x0101010101010101ull;
        const __m256i sel = _mm256_set1_epi64x((long long)0x8040201008040201ull), b4 = _mm256_set1_epi8(0x10);
        const __m256i slo = _mm256_shuffle_epi8(head, _mm256_setr_epi64x((long long)(rep * h0), (long long)(rep * (h0 + 1)),
                                                                        (long long)(rep * h1), (long long)(rep * (h1 + 1))));
        const __m256i shi = _mm256_shuffle_epi8(head, _mm256_setr_epi64x((long long)(rep * (h0 + 2)), (long long)(rep * (h0 + 3)),
                                                                        (long long)(rep * (h1 + 2)), (long long)(rep * (h1 + 3))));
        *lo = _mm256_or_si256(*lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(slo, sel), sel), b4));
        *hi = _mm256_or_si256(*hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(shi, sel), sel), b4));
    }
}

// The codes' constant offset (Q4_0: 8, Q5_0: 16), taken off as its products with the activations.
EK_AVX2_INLINE int b32_row_offset(int kind) { return kind == K_Q4_0 ? 8 : kind == K_Q5_0 ? 16 : 0; }

// b32_terms over eight lanes.
EK_AVX2_INLINE __m256 b32_terms8(int kind, __m256 isum, __m256 dw, __m256 mw, __m256 dx, __m256 sx) {
    switch (kind) {
    case K_Q4_0: return _mm256_mul_ps(_mm256_mul_ps(isum, dw), dx);
    case K_Q5_0: return _mm256_mul_ps(_mm256_mul_ps(dw, dx), isum);
    case K_Q4_1: case K_Q5_1: return _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(dw, dx), isum), _mm256_mul_ps(mw, sx));
    default: return _mm256_mul_ps(isum, _mm256_mul_ps(dw, dx));
    }
}

// Two blocks per step; every vector holds [block i | block i + 1] with the four rows in each half.
_Static_assert(EK_TILE_ROWS == 4, "row tiles hold four rows: one per 32-bit lane of a 128-bit half");
EK_AVX2_INLINE void dot_b32_rows(const int kind, int64_t n, const void *restrict w, size_t w_stride, int nw,
                                 const void *restrict x, float *restrict s) {
    const bool offset = b32_offset(kind);
    const int off = b32_row_offset(kind);
    const size_t ws = b32_size(kind);
    const size_t xs = offset ? sizeof(ek_block_q8_1) : sizeof(ek_block_q8_0);
    const size_t xq = offset ? offsetof(ek_block_q8_1, qs) : offsetof(ek_block_q8_0, qs);
    const int64_t nb = n / 32;
    const size_t row_bytes = (size_t)nb * ws;
    const uint8_t *rw[EK_TILE_ROWS];
    tile_rows(w, w_stride, nw, rw);
    const uint8_t *restrict xb = x;
    __m128 sum = _mm_setzero_ps();   // lane r: row r's running sum
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        const size_t pos = (size_t)i * ws;
        const uint8_t *y0 = xb + (size_t)i * xs, *y1 = y0 + xs;
        tile_prefetch(rw, nw, w_stride, row_bytes, pos, 2 * ws);
        __m256 dx, sx;   // [block i's, four times | block i + 1's]
        if (offset) {
            const __m256 v = _mm256_cvtph_ps(_mm_unpacklo_epi64(_mm_set1_epi32((int)load_u32(y0)), _mm_set1_epi32((int)load_u32(y1))));
            dx = _mm256_moveldup_ps(v);
            sx = _mm256_movehdup_ps(v);
        } else {
            dx = sx = _mm256_cvtph_ps(_mm_unpacklo_epi64(_mm_set1_epi16((short)load_u16(y0)), _mm_set1_epi16((short)load_u16(y1))));
        }
        __m256i h[EK_TILE_ROWS], isum;
        EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) h[r] = b32_head(kind, rw[r] + pos);
        if (kind == K_Q8_0) {
            const __m256i ya = load256(y0 + xq), yb = load256(y1 + xq);
            __m256i p[EK_TILE_ROWS];
            EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) {
                const __m256i pa = b32_products(kind, b32_decode(kind, rw[r] + pos), ya);
                const __m256i pb = b32_products(kind, b32_decode(kind, rw[r] + pos + ws), yb);
                p[r] = _mm256_add_epi32(_mm256_blend_epi32(pa, pb, 0xf0), _mm256_permute2x128_si256(pa, pb, 0x21));
            }
            isum = sum4x4_epi32(p[0], p[1], p[2], p[3]);
        } else {
            const __m256i ylo = load2x128(y0 + xq, y1 + xq), yhi = load2x128(y0 + xq + 16, y1 + xq + 16);
            __m256i o = _mm256_setzero_si256();
            if (off) {
                const __m256i c = _mm256_set1_epi8((char)off);
                o = _mm256_add_epi16(_mm256_maddubs_epi16(c, ylo), _mm256_maddubs_epi16(c, yhi));
            }
            // |word| <= 4 * 31 * 127 (the offset taken off: 4 * 16 * 127), as sum4x8_epi16 needs
            __m256i p[EK_TILE_ROWS];
            EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) {
                __m256i lo, hi;
                b32_codes2(kind, rw[r] + pos, h[r], &lo, &hi);
                p[r] = _mm256_add_epi16(_mm256_maddubs_epi16(lo, ylo), _mm256_maddubs_epi16(hi, yhi));
                if (off) p[r] = _mm256_sub_epi16(p[r], o);
            }
            isum = sum4x8_epi16(p[0], p[1], p[2], p[3]);
        }
        __m256 dw, mw;
        if (offset) b32_head_pairs(kind, h, &dw, &mw);
        else dw = mw = b32_head_scales(kind, h);
        const __m256 t = b32_terms8(kind, _mm256_cvtepi32_ps(isum), dw, mw, dx, sx);
        sum = _mm_add_ps(_mm_add_ps(sum, _mm256_castps256_ps128(t)), _mm256_extractf128_ps(t, 1));
    }
    float out[EK_TILE_ROWS];
    _mm_storeu_ps(out, sum);
    if (i < nb) {   // an odd last block, as vec_dot's tail
        const uint8_t *yb = xb + (size_t)i * xs;
        const __m256i y = load256(yb + xq);
        const float dx = h2f((ek_fp16)load_u16(yb));
        const float sx = offset ? h2f((ek_fp16)load_u16(yb + 2)) : 0.0f;
        for (int r = 0; r < nw; ++r) {
            const uint8_t *blk = rw[r] + (size_t)i * ws;
            const int32_t is = b32_sum1(kind, b32_products(kind, b32_decode(kind, blk), y));
            const float dw = h2f((ek_fp16)load_u16(blk));
            const float mw = offset ? h2f((ek_fp16)load_u16(blk + 2)) : 0.0f;
            out[r] += b32_term(kind, (float)is, dw, mw, dx, sx);
        }
    }
    store_rows(s, out, nw);
}

#define EK_B32_ROWS(name, kind)                                                                             \
    EK_AVX2 static void vec_dot_rows_##name(int64_t n, const void *restrict w, size_t w_stride, int nw,      \
                                            const void *restrict x, float *restrict s) {                    \
        dot_b32_rows(kind, n, w, w_stride, nw, x, s);                                                       \
    }

EK_B32_ROWS(q4_0_q8_0, K_Q4_0)
EK_B32_ROWS(q4_1_q8_1, K_Q4_1)
EK_B32_ROWS(q5_0_q8_0, K_Q5_0)
EK_B32_ROWS(q5_1_q8_1, K_Q5_1)
EK_B32_ROWS(q8_0_q8_0, K_Q8_0)

// ---- blocks (prompts) ----------------------------------------------------------------------
//
// vec_dot_block: the row tile above run for up to EK_TILE_TOKENS tokens. Each row's codes and the
// rows' scales are decoded once for all tokens, each token's activations and scales loaded once
// for all rows; a token's four row sums are the lanes of one vector as in dot_b32_rows, so the
// tile has EK_TILE_TOKENS independent add chains of two adds per two blocks (the token tile's
// single serial chain per token was its latency bound). Order and terms are exactly vec_dot's.
EK_AVX2_INLINE void dot_b32_block(const int kind, int64_t n, const void *restrict w, size_t w_stride, int nw,
                                  const void *restrict x, size_t x_stride, const int nx, float *restrict s) {
    const bool offset = b32_offset(kind);
    const int off = b32_row_offset(kind);
    const size_t ws = b32_size(kind);
    const size_t xs = offset ? sizeof(ek_block_q8_1) : sizeof(ek_block_q8_0);
    const size_t xq = offset ? offsetof(ek_block_q8_1, qs) : offsetof(ek_block_q8_0, qs);
    const int64_t nb = n / 32;
    const uint8_t *rw[EK_TILE_ROWS];
    tile_rows(w, w_stride, nw, rw);
    const uint8_t *restrict xb = x;
    __m128 sum[EK_TILE_TOKENS];   // sum[t] lane r: row r's running sum for token t
    EK_UNROLL for (int t = 0; t < nx; ++t) sum[t] = _mm_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        const size_t pos = (size_t)i * ws;
        __m256i h[EK_TILE_ROWS];
        EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) h[r] = b32_head(kind, rw[r] + pos);
        __m256 dw, mw;
        if (offset) b32_head_pairs(kind, h, &dw, &mw);
        else dw = mw = b32_head_scales(kind, h);
        // Nibble types: codes of blocks i, i + 1 per row (as dot_b32_rows). Q8_0: |w| per row and
        // block (its sign goes onto each token's activations).
        __m256i lo[EK_TILE_ROWS], hi[EK_TILE_ROWS];
        EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) {
            if (kind == K_Q8_0) {
                lo[r] = b32_decode(kind, rw[r] + pos).u;
                hi[r] = b32_decode(kind, rw[r] + pos + ws).u;
            } else {
                b32_codes2(kind, rw[r] + pos, h[r], &lo[r], &hi[r]);
            }
        }
        EK_UNROLL for (int t = 0; t < nx; ++t) {
            const uint8_t *y0 = xb + (size_t)t * x_stride + (size_t)i * xs, *y1 = y0 + xs;
            __m256 dx, sx;   // [block i's, four times | block i + 1's]
            if (offset) {
                const __m256 v = _mm256_cvtph_ps(_mm_unpacklo_epi64(_mm_set1_epi32((int)load_u32(y0)), _mm_set1_epi32((int)load_u32(y1))));
                dx = _mm256_moveldup_ps(v);
                sx = _mm256_movehdup_ps(v);
            } else {
                dx = sx = _mm256_cvtph_ps(_mm_unpacklo_epi64(_mm_set1_epi16((short)load_u16(y0)), _mm_set1_epi16((short)load_u16(y1))));
            }
            __m256i isum;
            if (kind == K_Q8_0) {
                const __m256i ya = load256(y0 + xq), yb = load256(y1 + xq);
                __m256i p[EK_TILE_ROWS];
                EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) {
                    const __m256i pa = b32_products(kind, (b32_codes){ lo[r], load256(rw[r] + pos + 2) }, ya);
                    const __m256i pb = b32_products(kind, (b32_codes){ hi[r], load256(rw[r] + pos + ws + 2) }, yb);
                    p[r] = _mm256_add_epi32(_mm256_blend_epi32(pa, pb, 0xf0), _mm256_permute2x128_si256(pa, pb, 0x21));
                }
                isum = sum4x4_epi32(p[0], p[1], p[2], p[3]);
            } else {
                const __m256i ylo = load2x128(y0 + xq, y1 + xq), yhi = load2x128(y0 + xq + 16, y1 + xq + 16);
                __m256i o = _mm256_setzero_si256();
                if (off) {
                    const __m256i c = _mm256_set1_epi8((char)off);
                    o = _mm256_add_epi16(_mm256_maddubs_epi16(c, ylo), _mm256_maddubs_epi16(c, yhi));
                }
                __m256i p[EK_TILE_ROWS];
                EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) {
                    p[r] = _mm256_add_epi16(_mm256_maddubs_epi16(lo[r], ylo), _mm256_maddubs_epi16(hi[r], yhi));
                    if (off) p[r] = _mm256_sub_epi16(p[r], o);
                }
                isum = sum4x8_epi16(p[0], p[1], p[2], p[3]);
            }
            const __m256 tm = b32_terms8(kind, _mm256_cvtepi32_ps(isum), dw, mw, dx, sx);
            sum[t] = _mm_add_ps(_mm_add_ps(sum[t], _mm256_castps256_ps128(tm)), _mm256_extractf128_ps(tm, 1));
        }
    }
    float out[EK_TILE_TOKENS][EK_TILE_ROWS];
    EK_UNROLL for (int t = 0; t < nx; ++t) _mm_storeu_ps(out[t], sum[t]);
    if (i < nb) {   // an odd last block, as vec_dot's tail
        for (int r = 0; r < nw; ++r) {
            const uint8_t *blk = rw[r] + (size_t)i * ws;
            const b32_codes c = b32_decode(kind, blk);
            const float dw = h2f((ek_fp16)load_u16(blk));
            const float mw = offset ? h2f((ek_fp16)load_u16(blk + 2)) : 0.0f;
            for (int t = 0; t < nx; ++t) {
                const uint8_t *yb = xb + (size_t)t * x_stride + (size_t)i * xs;
                const int32_t is = b32_sum1(kind, b32_products(kind, c, load256(yb + xq)));
                const float dx = h2f((ek_fp16)load_u16(yb));
                const float sx = offset ? h2f((ek_fp16)load_u16(yb + 2)) : 0.0f;
                out[t][r] += b32_term(kind, (float)is, dw, mw, dx, sx);
            }
        }
    }
    for (int r = 0; r < nw; ++r)
        for (int t = 0; t < nx; ++t) s[r * EK_TILE_TOKENS + t] = out[t][r];
}

// Full tiles (all but a matrix's or token tile's edge) get their own copy, whose token loop unrolls.
#define EK_B32_BLOCK(name, kind)                                                                            \
    EK_AVX2 static void vec_dot_block_##name(int64_t n, const void *restrict w, size_t w_stride, int nw,     \
                                             const void *restrict x, size_t x_stride, int nx, float *restrict s) { \
        if (nx == EK_TILE_TOKENS) dot_b32_block(kind, n, w, w_stride, nw, x, x_stride, EK_TILE_TOKENS, s);   \
        else dot_b32_block(kind, n, w, w_stride, nw, x, x_stride, nx, s);                                   \
    }

EK_B32_BLOCK(q4_0_q8_0, K_Q4_0)
EK_B32_BLOCK(q4_1_q8_1, K_Q4_1)
EK_B32_BLOCK(q5_0_q8_0, K_Q5_0)
EK_B32_BLOCK(q5_1_q8_1, K_Q5_1)
EK_B32_BLOCK(q8_0_q8_0, K_Q8_0)

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

// Q2_K: the twin needs only the integer totals of scale * products and of min * bsums.
EK_AVX2_INLINE void dot_q2_K(int64_t n, const void *restrict w, const void *restrict x, size_t stride, const int nx,
                             float *restrict s) {
    const ek_block_q2_K *restrict a = w;
    const __m256i m3 = _mm256_set1_epi8(3);
    float sum[EK_TILE_TOKENS];
    EK_UNROLL for (int t = 0; t < nx; ++t) sum[t] = 0.0f;
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        ek_prefetch(&a[i], 2);
        const __m128i packed = load128(a[i].scales);
        const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f)));
        __m256i slo, shi;
        scales16(_mm_and_si128(packed, _mm_set1_epi8(0x0f)), &slo, &shi);
        __m256i q[8];
        EK_UNROLL for (int h = 0; h < 2; ++h) {
            const __m256i raw = load256(a[i].qs + 32 * h);
            EK_UNROLL for (int k = 0; k < 4; ++k) q[4 * h + k] = _mm256_and_si256(_mm256_srli_epi16(raw, 2 * k), m3);
        }
        const float dw = h2f(a[i].d), mw = h2f(a[i].dmin);
        EK_UNROLL for (int t = 0; t < nx; ++t) {
            const ek_block_q8_K *y = q8K_row(x, stride, t) + i;
            __m256i acc = _mm256_setzero_si256();
            EK_UNROLL for (int h = 0; h < 2; ++h) {
                const __m256i sc = h ? shi : slo;
                EK_UNROLL for (int k = 0; k < 4; ++k) {
                    // word pairs of one 16-element group: scale 2k in the low half, 2k + 1 in the high
                    const __m256i sk = _mm256_shuffle_epi8(sc, _mm256_set_m128i(_mm_set1_epi16((short)((4 * k + 3) << 8 | (4 * k + 2))),
                                                                                _mm_set1_epi16((short)((4 * k + 1) << 8 | (4 * k)))));
                    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(q[4 * h + k], load256(y->qs + 128 * h + 32 * k)), sk));
                }
            }
            const int32_t isum = hsum_epi32(acc);
            const int32_t summs = hsum_epi32(_mm256_madd_epi16(load256(y->bsums), mins));
            const float dall = y->d * dw, dmin = y->d * mw;
            sum[t] += dall * (float)isum - dmin * (float)summs;
        }
    }
    EK_UNROLL for (int t = 0; t < nx; ++t) s[t] = sum[t];
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

// Q3_K: codes = 2 low bits (32-byte runs of qs, shifts 0/2/4/6) - 4 unless the hmask bit is set;
// as products: lo * y - 4 * y where the bit is clear.
EK_AVX2_INLINE void dot_q3_K(int64_t n, const void *restrict w, const void *restrict x, size_t stride, const int nx,
                             float *restrict s) {
    const ek_block_q3_K *restrict a = w;
    const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    __m256 sums[EK_TILE_TOKENS];
    EK_UNROLL for (int t = 0; t < nx; ++t) sums[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        ek_prefetch(&a[i], 2);
        __m256i sc[2];
        scales16(q3_K_scales(a[i].scales), &sc[0], &sc[1]);
        const __m256i nh = _mm256_xor_si256(lane_pairs(load256(a[i].hmask)), _mm256_set1_epi8(-1));
        __m256i lo[8], h4[8];
        EK_UNROLL for (int h = 0; h < 2; ++h) {
            const __m256i q = lane_pairs(load256(a[i].qs + 32 * h));
            EK_UNROLL for (int k = 0; k < 4; ++k) {
                const int bit = 4 * h + k;
                lo[4 * h + k] = _mm256_and_si256(_mm256_srli_epi16(q, 2 * k), m3);
                const __m256i hb = bit >= 2 ? _mm256_srli_epi16(nh, bit - 2) : _mm256_slli_epi16(nh, 2 - bit);
                h4[4 * h + k] = _mm256_and_si256(hb, four);
            }
        }
        const float dw = h2f(a[i].d);
        EK_UNROLL for (int t = 0; t < nx; ++t) {
            const ek_block_q8_K *y = q8K_row(x, stride, t) + i;
            __m256i acc_lo = _mm256_setzero_si256(), acc_hi = _mm256_setzero_si256();
            EK_UNROLL for (int h = 0; h < 2; ++h) {
                __m256i p[4];
                EK_UNROLL for (int k = 0; k < 4; ++k) {
                    const __m256i yv = lane_pairs(load256(y->qs + 128 * h + 32 * k));
                    p[k] = _mm256_sub_epi16(_mm256_maddubs_epi16(lo[4 * h + k], yv), _mm256_maddubs_epi16(h4[4 * h + k], yv));
                }
                lanes_acc(p[0], p[1], scales_g16(sc[h], 0), &acc_lo, &acc_hi);
                lanes_acc(p[2], p[3], scales_g16(sc[h], 2), &acc_lo, &acc_hi);
            }
            sums[t] = lanes_scale(sums[t], lanes_fold(acc_lo, acc_hi), dw * y->d);
        }
    }
    EK_UNROLL for (int t = 0; t < nx; ++t) s[t] = fold_sums(0.0f, sums[t]);
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

// Q4_K/Q5_K: eight groups of 32 with 6-bit scales and mins; qs chunk c holds group 2c in its low
// nibbles and 2c + 1 in its high nibbles. Q5_K's fifth bits: bit 2c of qh[l] for the low nibble,
// 2c + 1 for the high one. The twins subtract dmin * mins from the row's sum block by block and add
// the eight lane sums at the end.
EK_AVX2_INLINE void dot_q45_K(const bool five, int64_t n, const void *restrict w, const void *restrict x, size_t stride,
                              const int nx, float *restrict s) {
    const size_t bs = five ? sizeof(ek_block_q5_K) : sizeof(ek_block_q4_K);
    const __m256i m4 = _mm256_set1_epi8(0x0f), bit4 = _mm256_set1_epi8(0x10);
    __m256 sums[EK_TILE_TOKENS];
    float msum[EK_TILE_TOKENS];
    EK_UNROLL for (int t = 0; t < nx; ++t) { sums[t] = _mm256_setzero_ps(); msum[t] = 0.0f; }
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        const uint8_t *blk = (const uint8_t *)w + (size_t)i * bs;
        ek_prefetch(blk, 3);
        const ek_block_q4_K *b4 = (const ek_block_q4_K *)blk;   // d, dmin, scales: same offsets in Q5_K
        const uint8_t *qs = five ? ((const ek_block_q5_K *)blk)->qs : b4->qs;
        const __m128i sm = k4_scales_mins(b4->scales);
        const __m128i sc16 = _mm_cvtepu8_epi16(sm);
        const __m256i sc = _mm256_set_m128i(sc16, sc16);
        const __m128i mins = _mm_cvtepu8_epi16(_mm_unpackhi_epi64(sm, sm));
        const __m256i qh = five ? lane_pairs(load256(((const ek_block_q5_K *)blk)->qh)) : _mm256_setzero_si256();
        __m256i q[8];
        EK_UNROLL for (int c = 0; c < 4; ++c) {
            const __m256i raw = lane_pairs(load256(qs + 32 * c));
            q[2 * c] = _mm256_and_si256(raw, m4);
            q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
            if (five) {
                // bits 2c and 2c + 1 moved to bit 4 (16-bit shifts stay within bytes once masked)
                const int s0 = 2 * c, s1 = 2 * c + 1;
                const __m256i h0 = s0 <= 4 ? _mm256_slli_epi16(qh, 4 - s0) : _mm256_srli_epi16(qh, s0 - 4);
                const __m256i h1 = s1 <= 4 ? _mm256_slli_epi16(qh, 4 - s1) : _mm256_srli_epi16(qh, s1 - 4);
                q[2 * c] = _mm256_or_si256(q[2 * c], _mm256_and_si256(h0, bit4));
                q[2 * c + 1] = _mm256_or_si256(q[2 * c + 1], _mm256_and_si256(h1, bit4));
            }
        }
        const float dw = h2f(b4->d), mw = h2f(b4->dmin);
        EK_UNROLL for (int t = 0; t < nx; ++t) {
            const ek_block_q8_K *y = q8K_row(x, stride, t) + i;
            // min term: sum over groups of 32 of min * (sum of the group's activations), exact
            const __m128i pairs = _mm_hadd_epi16(load128(y->bsums), load128(y->bsums + 8));
            const __m128i m = _mm_madd_epi16(mins, pairs);
            const int32_t summs = _mm_cvtsi128_si32(_mm_hadd_epi32(_mm_hadd_epi32(m, m), _mm_hadd_epi32(m, m)));
            __m256i acc_lo = _mm256_setzero_si256(), acc_hi = _mm256_setzero_si256();
            EK_UNROLL for (int c = 0; c < 4; ++c) {
                const __m256i p0 = _mm256_maddubs_epi16(q[2 * c], lane_pairs(load256(y->qs + 64 * c)));
                const __m256i p1 = _mm256_maddubs_epi16(q[2 * c + 1], lane_pairs(load256(y->qs + 64 * c + 32)));
                lanes_acc(p0, p1, scales_g32(sc, c), &acc_lo, &acc_hi);
            }
            sums[t] = lanes_scale(sums[t], lanes_fold(acc_lo, acc_hi), dw * y->d);
            msum[t] -= (mw * y->d) * (float)summs;
        }
    }
    EK_UNROLL for (int t = 0; t < nx; ++t) s[t] = fold_sums(msum[t], sums[t]);
}

// Q6_K: 16 groups of 16 with int8 scales; codes = 6 bits - 32, as products q y - 32 y. Per
// 128-element half, ql holds the low nibbles (elements l and 32 + l in the low nibbles, 64 + l and
// 96 + l in the high ones) and qh the top two bits at shifts 0/2/4/6.
EK_AVX2_INLINE void dot_q6_K(int64_t n, const void *restrict w, const void *restrict x, size_t stride, const int nx,
                             float *restrict s) {
    const ek_block_q6_K *restrict a = w;
    const __m256i m4 = _mm256_set1_epi8(0x0f), mhi = _mm256_set1_epi8(0x30), k32 = _mm256_set1_epi8(32);
    __m256 sums[EK_TILE_TOKENS];
    EK_UNROLL for (int t = 0; t < nx; ++t) sums[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        ek_prefetch(&a[i], 4);
        __m256i sc[2];
        scales16(load128(a[i].scales), &sc[0], &sc[1]);
        __m256i q[8];
        EK_UNROLL for (int h = 0; h < 2; ++h) {
            const __m256i l0 = lane_pairs(load256(a[i].ql + 64 * h)), l1 = lane_pairs(load256(a[i].ql + 64 * h + 32));
            const __m256i hb = lane_pairs(load256(a[i].qh + 32 * h));
            q[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), mhi));
            q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), mhi));
            q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(hb, mhi));
            q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(hb, 2), mhi));
        }
        const float dw = h2f(a[i].d);
        EK_UNROLL for (int t = 0; t < nx; ++t) {
            const ek_block_q8_K *y = q8K_row(x, stride, t) + i;
            __m256i acc_lo = _mm256_setzero_si256(), acc_hi = _mm256_setzero_si256();
            EK_UNROLL for (int h = 0; h < 2; ++h) {
                __m256i p[4];
                EK_UNROLL for (int k = 0; k < 4; ++k) {
                    const __m256i yv = lane_pairs(load256(y->qs + 128 * h + 32 * k));
                    p[k] = _mm256_sub_epi16(_mm256_maddubs_epi16(q[4 * h + k], yv), _mm256_maddubs_epi16(k32, yv));
                }
                lanes_acc(p[0], p[1], scales_g16(sc[h], 0), &acc_lo, &acc_hi);
                lanes_acc(p[2], p[3], scales_g16(sc[h], 2), &acc_lo, &acc_hi);
            }
            sums[t] = lanes_scale(sums[t], lanes_fold(acc_lo, acc_hi), dw * y->d);
        }
    }
    EK_UNROLL for (int t = 0; t < nx; ++t) s[t] = fold_sums(0.0f, sums[t]);
}

#define EK_Q4_K(n, w, x, stride, nx, s) dot_q45_K(false, n, w, x, stride, nx, s)
#define EK_Q5_K(n, w, x, stride, nx, s) dot_q45_K(true, n, w, x, stride, nx, s)

#define EK_K_ENTRIES(name, fn)                                                                              \
    EK_AVX2 static float vec_dot_##name(int64_t n, const void *restrict w, const void *restrict x) {         \
        float s;                                                                                            \
        fn(n, w, x, 0, 1, &s);                                                                              \
        return s;                                                                                           \
    }                                                                                                       \
    EK_AVX2 static void vec_dot_tile_##name(int64_t n, const void *restrict w, const void *restrict x,       \
                                            size_t stride, int nx, float *restrict s) {                     \
        if (nx == EK_TILE_TOKENS) fn(n, w, x, stride, EK_TILE_TOKENS, s);                                   \
        else fn(n, w, x, stride, nx, s);                                                                    \
    }

EK_K_ENTRIES(q2_K_q8_K, dot_q2_K)
EK_K_ENTRIES(q3_K_q8_K, dot_q3_K)
EK_K_ENTRIES(q4_K_q8_K, EK_Q4_K)
EK_K_ENTRIES(q5_K_q8_K, EK_Q5_K)
EK_K_ENTRIES(q6_K_q8_K, dot_q6_K)

// ---- K types: row tiles --------------------------------------------------------------------
//
// Per super-block the activation's element pairs (and Q6_K's products with the codes' offset 32)
// are prepared once for the tile's rows; each row then does its vec_dot's integer and float work
// (eight lane sums, folded at the end). Q4_K/Q5_K's min terms are taken for the rows together.

// The f16 at rw[r] + o for the four rows, widened.
EK_AVX2_INLINE __m128 h2f_rows4(const uint8_t *const rw[EK_TILE_ROWS], size_t o) {
    const uint64_t h = (uint64_t)load_u16(rw[0] + o) | (uint64_t)load_u16(rw[1] + o) << 16
                     | (uint64_t)load_u16(rw[2] + o) << 32 | (uint64_t)load_u16(rw[3] + o) << 48;
    return _mm_cvtph_ps(_mm_cvtsi64_si128((long long)h));
}

// The totals of four vectors' four int32 each, as [a b c d].
EK_AVX2_INLINE __m128i sum4x4_epi32_128(__m128i a, __m128i b, __m128i c, __m128i d) {
    const __m128i ab = _mm_add_epi32(_mm_unpacklo_epi32(a, b), _mm_unpackhi_epi32(a, b));
    const __m128i cd = _mm_add_epi32(_mm_unpacklo_epi32(c, d), _mm_unpackhi_epi32(c, d));
    return _mm_add_epi32(_mm_unpacklo_epi64(ab, cd), _mm_unpackhi_epi64(ab, cd));
}

EK_AVX2_INLINE void rows_q45_K(const bool five, int64_t n, const void *restrict w, size_t w_stride, const int nw,
                               const void *restrict x, float *restrict s) {
    const size_t bs = five ? sizeof(ek_block_q5_K) : sizeof(ek_block_q4_K);
    const int64_t nb = n / EK_QK_K;
    const size_t row_bytes = (size_t)nb * bs;
    const __m256i m4 = _mm256_set1_epi8(0x0f), bit4 = _mm256_set1_epi8(0x10);
    const ek_block_q8_K *restrict y = x;
    const uint8_t *rw[EK_TILE_ROWS];
    tile_rows(w, w_stride, nw, rw);
    __m256 sums[EK_TILE_ROWS];
    __m128 msum = _mm_setzero_ps();   // lane r: row r's min terms
    EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) sums[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        const size_t pos = (size_t)i * bs;
        __m256i yv[8];
        EK_UNROLL for (int k = 0; k < 8; ++k) yv[k] = lane_pairs(load256(y[i].qs + 32 * k));
        const __m128i pairs = _mm_hadd_epi16(load128(y[i].bsums), load128(y[i].bsums + 8));
        const float dx = y[i].d;
        __m128i mm[EK_TILE_ROWS];   // per row: mins times the groups' activation sums, four partial totals
        EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) mm[r] = _mm_setzero_si128();
        tile_prefetch(rw, nw, w_stride, row_bytes, pos, bs);
        EK_UNROLL for (int r = 0; r < nw; ++r) {
            const uint8_t *blk = rw[r] + pos;
            const ek_block_q4_K *b4 = (const ek_block_q4_K *)blk;   // d, dmin, scales: same offsets in Q5_K
            const uint8_t *qs = five ? ((const ek_block_q5_K *)blk)->qs : b4->qs;
            const __m128i sm = k4_scales_mins(b4->scales);
            const __m128i sc16 = _mm_cvtepu8_epi16(sm);
            const __m256i sc = _mm256_set_m128i(sc16, sc16);
            mm[r] = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_unpackhi_epi64(sm, sm)), pairs);
            const __m256i qh = five ? lane_pairs(load256(((const ek_block_q5_K *)blk)->qh)) : _mm256_setzero_si256();
            __m256i acc_lo = _mm256_setzero_si256(), acc_hi = _mm256_setzero_si256();
            EK_UNROLL for (int c = 0; c < 4; ++c) {
                const __m256i raw = lane_pairs(load256(qs + 32 * c));
                __m256i q0 = _mm256_and_si256(raw, m4), q1 = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
                if (five) {   // as dot_q45_K
                    const int s0 = 2 * c, s1 = 2 * c + 1;
                    const __m256i h0 = s0 <= 4 ? _mm256_slli_epi16(qh, 4 - s0) : _mm256_srli_epi16(qh, s0 - 4);
                    const __m256i h1 = s1 <= 4 ? _mm256_slli_epi16(qh, 4 - s1) : _mm256_srli_epi16(qh, s1 - 4);
                    q0 = _mm256_or_si256(q0, _mm256_and_si256(h0, bit4));
                    q1 = _mm256_or_si256(q1, _mm256_and_si256(h1, bit4));
                }
                lanes_acc(_mm256_maddubs_epi16(q0, yv[2 * c]), _mm256_maddubs_epi16(q1, yv[2 * c + 1]), scales_g32(sc, c),
                          &acc_lo, &acc_hi);
            }
            sums[r] = lanes_scale(sums[r], lanes_fold(acc_lo, acc_hi), h2f(b4->d) * dx);
        }
        // the rows' min terms at once: msum -= (dmin * dx) * summs, each lane as vec_dot's scalar
        const __m128 summs = _mm_cvtepi32_ps(sum4x4_epi32_128(mm[0], mm[1], mm[2], mm[3]));
        const __m128 mw = h2f_rows4(rw, pos + offsetof(ek_block_q4_K, dmin));
        msum = _mm_sub_ps(msum, _mm_mul_ps(_mm_mul_ps(mw, _mm_set1_ps(dx)), summs));
    }
    float m[EK_TILE_ROWS], out[EK_TILE_ROWS];
    _mm_storeu_ps(m, msum);
    EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) out[r] = fold_sums(m[r], sums[r]);
    store_rows(s, out, nw);
}

EK_AVX2_INLINE void rows_q6_K(int64_t n, const void *restrict w, size_t w_stride, const int nw, const void *restrict x,
                              float *restrict s) {
    const int64_t nb = n / EK_QK_K;
    const size_t bs = sizeof(ek_block_q6_K), row_bytes = (size_t)nb * bs;
    const __m256i m4 = _mm256_set1_epi8(0x0f), mhi = _mm256_set1_epi8(0x30), k32 = _mm256_set1_epi8(32);
    const ek_block_q8_K *restrict y = x;
    const uint8_t *rw[EK_TILE_ROWS];
    tile_rows(w, w_stride, nw, rw);
    __m256 sums[EK_TILE_ROWS];
    EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) sums[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        const size_t pos = (size_t)i * bs;
        __m256i yv[8], y32[8];
        EK_UNROLL for (int k = 0; k < 8; ++k) {
            yv[k] = lane_pairs(load256(y[i].qs + 32 * k));
            y32[k] = _mm256_maddubs_epi16(k32, yv[k]);
        }
        const float dx = y[i].d;
        tile_prefetch(rw, nw, w_stride, row_bytes, pos, bs);
        EK_UNROLL for (int r = 0; r < nw; ++r) {
            const ek_block_q6_K *a = (const ek_block_q6_K *)(rw[r] + pos);
            __m256i sc[2];
            scales16(load128(a->scales), &sc[0], &sc[1]);
            __m256i acc_lo = _mm256_setzero_si256(), acc_hi = _mm256_setzero_si256();
            EK_UNROLL for (int h = 0; h < 2; ++h) {   // codes as dot_q6_K
                const __m256i l0 = lane_pairs(load256(a->ql + 64 * h)), l1 = lane_pairs(load256(a->ql + 64 * h + 32));
                const __m256i hb = lane_pairs(load256(a->qh + 32 * h));
                __m256i q[4], p[4];
                q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), mhi));
                q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), mhi));
                q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(hb, mhi));
                q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(hb, 2), mhi));
                EK_UNROLL for (int k = 0; k < 4; ++k) p[k] = _mm256_sub_epi16(_mm256_maddubs_epi16(q[k], yv[4 * h + k]), y32[4 * h + k]);
                lanes_acc(p[0], p[1], scales_g16(sc[h], 0), &acc_lo, &acc_hi);
                lanes_acc(p[2], p[3], scales_g16(sc[h], 2), &acc_lo, &acc_hi);
            }
            sums[r] = lanes_scale(sums[r], lanes_fold(acc_lo, acc_hi), h2f(a->d) * dx);
        }
    }
    float out[EK_TILE_ROWS];
    EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) out[r] = fold_sums(0.0f, sums[r]);
    store_rows(s, out, nw);
}

// Q2_K: the rows' integer totals and min totals are reduced together, and their float terms added
// lane by lane, each lane as vec_dot's scalar sum += dall * isum - dmin * summs.
EK_AVX2_INLINE void rows_q2_K(int64_t n, const void *restrict w, size_t w_stride, const int nw, const void *restrict x,
                              float *restrict s) {
    const int64_t nb = n / EK_QK_K;
    const size_t bs = sizeof(ek_block_q2_K), row_bytes = (size_t)nb * bs;
    const __m256i m3 = _mm256_set1_epi8(3);
    const ek_block_q8_K *restrict y = x;
    const uint8_t *rw[EK_TILE_ROWS];
    tile_rows(w, w_stride, nw, rw);
    __m128 sum = _mm_setzero_ps();   // lane r: row r's sum
    for (int64_t i = 0; i < nb; ++i) {
        const size_t pos = (size_t)i * bs;
        tile_prefetch(rw, nw, w_stride, row_bytes, pos, bs);
        const __m256i bsums = load256(y[i].bsums);
        __m256i acc[EK_TILE_ROWS], macc[EK_TILE_ROWS];
        EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) acc[r] = macc[r] = _mm256_setzero_si256();
        EK_UNROLL for (int r = 0; r < nw; ++r) {   // as dot_q2_K
            const ek_block_q2_K *a = (const ek_block_q2_K *)(rw[r] + pos);
            const __m128i packed = load128(a->scales);
            macc[r] = _mm256_madd_epi16(bsums, _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f))));
            __m256i slo, shi;
            scales16(_mm_and_si128(packed, _mm_set1_epi8(0x0f)), &slo, &shi);
            EK_UNROLL for (int h = 0; h < 2; ++h) {
                const __m256i raw = load256(a->qs + 32 * h), sc = h ? shi : slo;
                EK_UNROLL for (int k = 0; k < 4; ++k) {
                    const __m256i q = _mm256_and_si256(_mm256_srli_epi16(raw, 2 * k), m3);
                    const __m256i sk = _mm256_shuffle_epi8(sc, _mm256_set_m128i(_mm_set1_epi16((short)((4 * k + 3) << 8 | (4 * k + 2))),
                                                                                _mm_set1_epi16((short)((4 * k + 1) << 8 | (4 * k)))));
                    acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(y[i].qs + 128 * h + 32 * k)), sk));
                }
            }
        }
        const __m256i ti = sum4x4_epi32(acc[0], acc[1], acc[2], acc[3]), tm = sum4x4_epi32(macc[0], macc[1], macc[2], macc[3]);
        const __m128 isum = _mm_cvtepi32_ps(_mm_add_epi32(_mm256_castsi256_si128(ti), _mm256_extracti128_si256(ti, 1)));
        const __m128 summs = _mm_cvtepi32_ps(_mm_add_epi32(_mm256_castsi256_si128(tm), _mm256_extracti128_si256(tm, 1)));
        const __m128 dx = _mm_set1_ps(y[i].d);
        const __m128 dall = _mm_mul_ps(dx, h2f_rows4(rw, pos + offsetof(ek_block_q2_K, d)));
        const __m128 dmin = _mm_mul_ps(dx, h2f_rows4(rw, pos + offsetof(ek_block_q2_K, dmin)));
        sum = _mm_add_ps(sum, _mm_sub_ps(_mm_mul_ps(dall, isum), _mm_mul_ps(dmin, summs)));
    }
    float out[EK_TILE_ROWS];
    _mm_storeu_ps(out, sum);
    store_rows(s, out, nw);
}

EK_AVX2_INLINE void rows_q3_K(int64_t n, const void *restrict w, size_t w_stride, const int nw, const void *restrict x,
                              float *restrict s) {
    const int64_t nb = n / EK_QK_K;
    const size_t bs = sizeof(ek_block_q3_K), row_bytes = (size_t)nb * bs;
    const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    const ek_block_q8_K *restrict y = x;
    const uint8_t *rw[EK_TILE_ROWS];
    tile_rows(w, w_stride, nw, rw);
    __m256 sums[EK_TILE_ROWS];
    EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) sums[r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; ++i) {
        const size_t pos = (size_t)i * bs;
        __m256i yv[8];
        EK_UNROLL for (int k = 0; k < 8; ++k) yv[k] = lane_pairs(load256(y[i].qs + 32 * k));
        const float dx = y[i].d;
        tile_prefetch(rw, nw, w_stride, row_bytes, pos, bs);
        EK_UNROLL for (int r = 0; r < nw; ++r) {   // as dot_q3_K
            const ek_block_q3_K *a = (const ek_block_q3_K *)(rw[r] + pos);
            __m256i sc[2];
            scales16(q3_K_scales(a->scales), &sc[0], &sc[1]);
            const __m256i nh = _mm256_xor_si256(lane_pairs(load256(a->hmask)), _mm256_set1_epi8(-1));
            __m256i acc_lo = _mm256_setzero_si256(), acc_hi = _mm256_setzero_si256();
            EK_UNROLL for (int h = 0; h < 2; ++h) {
                const __m256i q = lane_pairs(load256(a->qs + 32 * h));
                __m256i p[4];
                EK_UNROLL for (int k = 0; k < 4; ++k) {
                    const int bit = 4 * h + k;
                    const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(q, 2 * k), m3);
                    const __m256i hb = bit >= 2 ? _mm256_srli_epi16(nh, bit - 2) : _mm256_slli_epi16(nh, 2 - bit);
                    const __m256i h4 = _mm256_and_si256(hb, four);
                    p[k] = _mm256_sub_epi16(_mm256_maddubs_epi16(lo, yv[4 * h + k]), _mm256_maddubs_epi16(h4, yv[4 * h + k]));
                }
                lanes_acc(p[0], p[1], scales_g16(sc[h], 0), &acc_lo, &acc_hi);
                lanes_acc(p[2], p[3], scales_g16(sc[h], 2), &acc_lo, &acc_hi);
            }
            sums[r] = lanes_scale(sums[r], lanes_fold(acc_lo, acc_hi), h2f(a->d) * dx);
        }
    }
    float out[EK_TILE_ROWS];
    EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) out[r] = fold_sums(0.0f, sums[r]);
    store_rows(s, out, nw);
}

#define EK_Q4_K_ROWS(n, w, stride, nw, x, s) rows_q45_K(false, n, w, stride, nw, x, s)
#define EK_Q5_K_ROWS(n, w, stride, nw, x, s) rows_q45_K(true, n, w, stride, nw, x, s)

// Full tiles get their own copy, whose row loops unroll.
#define EK_K_ROWS(name, fn)                                                                                 \
    EK_AVX2 static void vec_dot_rows_##name(int64_t n, const void *restrict w, size_t w_stride, int nw,      \
                                            const void *restrict x, float *restrict s) {                    \
        if (nw == EK_TILE_ROWS) fn(n, w, w_stride, EK_TILE_ROWS, x, s);                                     \
        else fn(n, w, w_stride, nw, x, s);                                                                  \
    }

EK_K_ROWS(q2_K_q8_K, rows_q2_K)
EK_K_ROWS(q3_K_q8_K, rows_q3_K)
EK_K_ROWS(q4_K_q8_K, EK_Q4_K_ROWS)
EK_K_ROWS(q5_K_q8_K, EK_Q5_K_ROWS)
EK_K_ROWS(q6_K_q8_K, rows_q6_K)

// ---- op kernels ----------------------------------------------------------------------------
// Bit-identical to the twins. exp_shift_sum and silu_mul, which call the engine's ek_expf, are
// in exp_avx2.c.

// Squares rounded to f32, then summed in f64 in element order as the twin does.
EK_AVX2 static double sum_squares(const float *x, int64_t n) {
    double sum = 0.0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 sq = _mm256_mul_ps(v, v);
        double d[8];
        _mm256_storeu_pd(d, _mm256_cvtps_pd(_mm256_castps256_ps128(sq)));
        _mm256_storeu_pd(d + 4, _mm256_cvtps_pd(_mm256_extractf128_ps(sq, 1)));
        for (int k = 0; k < 8; ++k) sum += d[k];
    }
    for (; i < n; i++) sum += (double)(x[i] * x[i]);
    return sum;
}

EK_AVX2 static void scale_mul(const float *x, float scale, const float *w, float *y, int64_t n) {
    const __m256 s = _mm256_set1_ps(scale);
    int64_t i = 0;
    if (w) {
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), s), _mm256_loadu_ps(w + i)));
        for (; i < n; ++i) y[i] = x[i] * scale * w[i];
    } else {
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), s));
        for (; i < n; ++i) y[i] = x[i] * scale;
    }
}

// The twin keeps the first value that no later one exceeds; lanes do the same, and of equal lane
// maxima (only +0 and -0 can differ) the element that came first wins.
EK_AVX2 static float max_f32(const float *x, int64_t n) {
    __m256 acc = _mm256_set1_ps(-__builtin_inff());
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_max_ps(_mm256_loadu_ps(x + i), acc);   // NaN in x keeps acc
    float max = hmax_ps(acc);
    if (max == 0.0f) {
        for (int64_t k = 0; k < i; ++k) if (x[k] == 0.0f) { max = x[k]; break; }
    }
    for (; i < n; ++i) if (x[i] > max) max = x[i];
    return max;
}

EK_AVX2 static void scale_f32(float *x, float s, int64_t n) {
    const __m256 vs = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs));
    for (; i < n; ++i) x[i] *= s;
}

EK_AVX2 static void add_f32(const float *a, const float *b, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    for (; i < n; ++i) out[i] = a[i] + b[i];
}

// Products rounded separately, then subtracted/added, as the twin does.
EK_AVX2 static void rope(float *x, int64_t n_heads, int64_t head_dim, int64_t pairs, const float *cs, const float *sn, bool neox) {
    for (int64_t h = 0; h < n_heads; h++) {
        float *v = x + h * head_dim;
        int64_t i = 0;
        if (neox) {
            for (; i + 8 <= pairs; i += 8) {
                const __m256 x0 = _mm256_loadu_ps(v + i), x1 = _mm256_loadu_ps(v + i + pairs);
                const __m256 c = _mm256_loadu_ps(cs + i), s = _mm256_loadu_ps(sn + i);
                _mm256_storeu_ps(v + i, _mm256_sub_ps(_mm256_mul_ps(x0, c), _mm256_mul_ps(x1, s)));
                _mm256_storeu_ps(v + i + pairs, _mm256_add_ps(_mm256_mul_ps(x0, s), _mm256_mul_ps(x1, c)));
            }
            for (; i < pairs; i++) {
                const float x0 = v[i], x1 = v[i + pairs];
                v[i] = x0 * cs[i] - x1 * sn[i];
                v[i + pairs] = x0 * sn[i] + x1 * cs[i];
            }
        } else {
            const __m256i dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
            for (; i + 4 <= pairs; i += 4) {
                const __m256 xv = _mm256_loadu_ps(v + 2 * i);
                const __m256 c = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(cs + i)), dup);
                const __m256 s = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(sn + i)), dup);
                const __m256 swapped = _mm256_permute_ps(xv, 0xb1);
                // even: x0 c - x1 s; odd: x1 c + x0 s (the twin's x0 s + x1 c: a sum of the same two products)
                _mm256_storeu_ps(v + 2 * i, _mm256_addsub_ps(_mm256_mul_ps(xv, c), _mm256_mul_ps(swapped, s)));
            }
            for (; i < pairs; i++) {
                const float x0 = v[2 * i], x1 = v[2 * i + 1];
                v[2 * i] = x0 * cs[i] - x1 * sn[i];
                v[2 * i + 1] = x0 * sn[i] + x1 * cs[i];
            }
        }
    }
}

// Short-batch attention: products rounded to f32, summed in element order.
EK_AVX2 static float dot_f16_f16(int64_t n, const ek_fp16 *a, const ek_fp16 *b) {
    float s = 0.0f;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 p = _mm256_mul_ps(load_f16x8(a + i), load_f16x8(b + i));
        s = add_lanes(add_lanes(s, _mm256_castps256_ps128(p)), _mm256_extractf128_ps(p, 1));
    }
    for (; i < n; ++i) s += h2f(a[i]) * h2f(b[i]);
    return s;
}

// Long prompts: the canonical layout, 16 FMA lanes (two vectors) folded pairwise 8, 4, 2, 1, then
// the tail fused in one element at a time.
EK_AVX2 static float dot_f32_f16(int64_t n, const float *a, const ek_fp16 *b) {
    _Static_assert(EK_CANONICAL_LANES == 16, "two vectors of lanes");
    __m256 l0 = _mm256_setzero_ps(), l1 = _mm256_setzero_ps();
    const int64_t body = n - n % EK_CANONICAL_LANES;
    for (int64_t i = 0; i < body; i += 16) {
        l0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load_f16x8(b + i), l0);
        l1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), load_f16x8(b + i + 8), l1);
    }
    const __m256 f8 = _mm256_add_ps(l0, l1);
    const __m128 f4 = _mm_add_ps(_mm256_castps256_ps128(f8), _mm256_extractf128_ps(f8, 1));
    const __m128 f2 = _mm_add_ps(f4, _mm_movehl_ps(f4, f4));
    __m128 f1 = _mm_add_ss(f2, _mm_movehdup_ps(f2));
    for (int64_t i = body; i < n; i++) f1 = _mm_fmadd_ss(_mm_set_ss(a[i]), _mm_set_ss(h2f(b[i])), f1);
    return _mm_cvtss_f32(f1);
}

EK_AVX2 static void scale_f16(int64_t n, ek_fp16 *acc, float s) {
    const __m256 vs = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm_storeu_si128((__m128i *)(acc + i), f32x8_to_f16(_mm256_mul_ps(load_f16x8(acc + i), vs)));
    for (; i < n; ++i) {
        const __m128i h = f32x8_to_f16(_mm256_set1_ps(h2f(acc[i]) * s));
        acc[i] = (ek_fp16)_mm_extract_epi16(h, 0);
    }
}

// acc + v * s, unfused, as the twin.
EK_AVX2 static void mad_f16(int64_t n, ek_fp16 *acc, const ek_fp16 *v, float s) {
    const __m256 vs = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(acc + i), f32x8_to_f16(_mm256_add_ps(load_f16x8(acc + i), _mm256_mul_ps(load_f16x8(v + i), vs))));
    for (; i < n; ++i) {
        const __m128i h = f32x8_to_f16(_mm256_set1_ps(h2f(acc[i]) + h2f(v[i]) * s));
        acc[i] = (ek_fp16)_mm_extract_epi16(h, 0);
    }
}

// acc = fma(v, s, acc), as the twin.
EK_AVX2 static void mad_f32_f16(int64_t n, float *acc, const ek_fp16 *v, float s) {
    const __m256 vs = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(load_f16x8(v + i), vs, _mm256_loadu_ps(acc + i)));
    for (; i < n; ++i) acc[i] = _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(h2f(v[i])), _mm_set_ss(s), _mm_set_ss(acc[i])));
}

// ---- patch ---------------------------------------------------------------------------------

const char *ek_patch_avx2(ek_type_traits *types, ek_op_kernels *ops) {
    types[EK_F32].vec_dot = vec_dot_f32;
    types[EK_F16].vec_dot = vec_dot_f16;
    types[EK_F16].from_float = quantize_row_f16;
    types[EK_BF16].vec_dot = vec_dot_bf16;
    types[EK_BF16].from_float = quantize_row_bf16;
    types[EK_Q8_0].from_float = quantize_row_q8_0;
    types[EK_Q8_1].from_float = quantize_row_q8_1;
    types[EK_Q8_K].from_float = quantize_row_q8_K;
#define EK_SET(type, name) types[type].vec_dot = vec_dot_##name, types[type].vec_dot_tile = vec_dot_tile_##name
    EK_SET(EK_Q4_0, q4_0_q8_0);
    EK_SET(EK_Q4_1, q4_1_q8_1);
    EK_SET(EK_Q5_0, q5_0_q8_0);
    EK_SET(EK_Q5_1, q5_1_q8_1);
    EK_SET(EK_Q8_0, q8_0_q8_0);
    EK_SET(EK_Q2_K, q2_K_q8_K);
    EK_SET(EK_Q3_K, q3_K_q8_K);
    EK_SET(EK_Q4_K, q4_K_q8_K);
    EK_SET(EK_Q5_K, q5_K_q8_K);
    EK_SET(EK_Q6_K, q6_K_q8_K);
#undef EK_SET
#define EK_SET_ROWS(type, name) types[type].vec_dot_rows = vec_dot_rows_##name
    EK_SET_ROWS(EK_Q4_0, q4_0_q8_0);
    EK_SET_ROWS(EK_Q4_1, q4_1_q8_1);
    EK_SET_ROWS(EK_Q5_0, q5_0_q8_0);
    EK_SET_ROWS(EK_Q5_1, q5_1_q8_1);
    EK_SET_ROWS(EK_Q8_0, q8_0_q8_0);
    EK_SET_ROWS(EK_Q2_K, q2_K_q8_K);
    EK_SET_ROWS(EK_Q3_K, q3_K_q8_K);
    EK_SET_ROWS(EK_Q4_K, q4_K_q8_K);
    EK_SET_ROWS(EK_Q5_K, q5_K_q8_K);
    EK_SET_ROWS(EK_Q6_K, q6_K_q8_K);
#undef EK_SET_ROWS
#define EK_SET_BLOCK(type, name) types[type].vec_dot_block = vec_dot_block_##name
    EK_SET_BLOCK(EK_Q4_0, q4_0_q8_0);
    EK_SET_BLOCK(EK_Q4_1, q4_1_q8_1);
    EK_SET_BLOCK(EK_Q5_0, q5_0_q8_0);
    EK_SET_BLOCK(EK_Q5_1, q5_1_q8_1);
    EK_SET_BLOCK(EK_Q8_0, q8_0_q8_0);
#undef EK_SET_BLOCK

    ops->sum_squares = sum_squares;
    ops->scale_mul = scale_mul;
    ops->max = max_f32;
    ops->scale = scale_f32;
    ops->add = add_f32;
    ops->rope = rope;
    ops->dot_f16 = dot_f16_f16;
    ops->dot_f32_f16 = dot_f32_f16;
    ops->scale_f16 = scale_f16;
    ops->mad_f16 = mad_f16;
    ops->mad_f32_f16 = mad_f32_f16;
    ops->f32_to_f16 = f32_to_f16_row;
    ops->f16_to_f32 = f16_to_f32_row;
    ops->exp_shift_sum = ek_exp_shift_sum_avx2;
    ops->silu_mul = ek_silu_mul_avx2;
    return "avx2";
}
#endif
