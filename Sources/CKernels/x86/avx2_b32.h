// Shared pieces of the AVX2 kernels for the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0):
// decoding, integer products and folds, the twins' float terms (avx2_b32.c: vec_dot, token and row
// tiles; avx2_b32_block.c: blocks and decode spans).
#ifndef EDGELM_CKERNELS_AVX2_B32_H
#define EDGELM_CKERNELS_AVX2_B32_H
#if defined(__x86_64__)
#include "avx2.h"

// ---- 32-element block types ----------------------------------------------------------------
//
// SIMD computes each block's integer sum (exact in any order); the float terms then follow the
// twins: computed four blocks at a time with the twins' multiplies, and added to the token's sum
// one block after the other. One driver serves all five types through a constant `kind`; it takes
// up to EK_TILE_TOKENS activation rows, so a tile decodes the weights once.

enum { K_Q4_0, K_Q4_1, K_Q5_0, K_Q5_1, K_Q8_0 };


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


// The token side of blocks i and i + 1 in the lane layout (Q8_0: the two blocks' values; nibble
// types: elements 0..15 of both, then 16..31 of both; the scales as [i's, four times | i + 1's]).
// Row tiles load them once per step; decode spans prepare them once per matrix.
typedef struct { __m256i a, b; __m256 dx, sx; } b32_tok;

EK_AVX2_INLINE b32_tok b32_prepare(int kind, const uint8_t *y0, const uint8_t *y1) {
    const bool offset = b32_offset(kind);
    const size_t xq = offset ? offsetof(ek_block_q8_1, qs) : offsetof(ek_block_q8_0, qs);
    b32_tok p;
    if (offset) {
        const __m256 v = _mm256_cvtph_ps(_mm_unpacklo_epi64(_mm_set1_epi32((int)load_u32(y0)), _mm_set1_epi32((int)load_u32(y1))));
        p.dx = _mm256_moveldup_ps(v);
        p.sx = _mm256_movehdup_ps(v);
    } else {
        p.dx = p.sx = _mm256_cvtph_ps(_mm_unpacklo_epi64(_mm_set1_epi16((short)load_u16(y0)), _mm_set1_epi16((short)load_u16(y1))));
    }
    if (kind == K_Q8_0) {
        p.a = load256(y0 + xq);
        p.b = load256(y1 + xq);
    } else {
        p.a = load2x128(y0 + xq, y1 + xq);
        p.b = load2x128(y0 + xq + 16, y1 + xq + 16);
    }
    return p;
}

#endif
#endif
