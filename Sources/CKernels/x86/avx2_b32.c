// AVX2 kernels for the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0): vec_dot, token
// tiles, row tiles and blocks.
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
// The token side of blocks i and i + 1 in the lane layout (Q8_0: the two blocks' values; nibble
// types: elements 0..15 of both, then 16..31 of both; the scales as [i's, four times | i + 1's]).
// Decode steps prepare them once per matrix instead of once per row tile.
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

//
// vec_dot_block: the row tile above run for up to EK_TILE_TOKENS tokens. Each row's codes and the
// rows' scales are decoded once for all tokens, each token's activations and scales loaded once
// for all rows; a token's four row sums are the lanes of one vector as in dot_b32_rows, so the
// tile has EK_TILE_TOKENS independent add chains of two adds per two blocks (the token tile's
// single serial chain per token was its latency bound). Order and terms are exactly vec_dot's.
// prep: NULL, or the tokens' b32_prepare results, token t's pairs at prep[t * (n / 64)...].
EK_AVX2_INLINE void dot_b32_block(const int kind, int64_t n, const void *restrict w, size_t w_stride, int nw,
                                  const void *restrict x, size_t x_stride, const int nx, const b32_tok *restrict prep,
                                  float *restrict s) {
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
    __m128 sum[EK_TILE_TOKENS];   // sum[t] lane r: row r's running sum for token t
    EK_UNROLL for (int t = 0; t < EK_TILE_TOKENS; ++t) sum[t] = _mm_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        const size_t pos = (size_t)i * ws;
        // Decode steps of a few sequences read each weight once: without this the loads stall.
        tile_prefetch(rw, nw, w_stride, row_bytes, pos, 2 * ws);
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
            const uint8_t *y0 = xb + (size_t)t * x_stride + (size_t)i * xs;
            const b32_tok tk = prep ? prep[t * (nb / 2) + i / 2] : b32_prepare(kind, y0, y0 + xs);
            const __m256 dx = tk.dx, sx = tk.sx;
            __m256i isum;
            if (kind == K_Q8_0) {
                const __m256i ya = tk.a, yb = tk.b;
                __m256i p[EK_TILE_ROWS];
                EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) {
                    const __m256i pa = b32_products(kind, (b32_codes){ lo[r], load256(rw[r] + pos + 2) }, ya);
                    const __m256i pb = b32_products(kind, (b32_codes){ hi[r], load256(rw[r] + pos + ws + 2) }, yb);
                    p[r] = _mm256_add_epi32(_mm256_blend_epi32(pa, pb, 0xf0), _mm256_permute2x128_si256(pa, pb, 0x21));
                }
                isum = sum4x4_epi32(p[0], p[1], p[2], p[3]);
            } else {
                const __m256i ylo = tk.a, yhi = tk.b;
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

// A decode step of up to EK_TILE_TOKENS sequences over `rows` consecutive rows: the tokens'
// operands prepared once, then one pass over the weights in row tiles that take one row from each
// quarter of the span (four long sequential streams read faster than one run or adjacent rows).
EK_AVX2_INLINE void span_b32(const int kind, int64_t n, const uint8_t *restrict w, int64_t rows, const uint8_t *restrict x,
                             size_t x_stride, const int nx, float *restrict y, int64_t y_stride, const float *restrict bias) {
    enum { MAX_PAIRS = 64 };   // rows of up to 4096 elements get prepared operands (32 KiB)
    b32_tok prep[EK_TILE_TOKENS * MAX_PAIRS];
    const int64_t pairs = n / 64;
    const size_t xs = b32_offset(kind) ? sizeof(ek_block_q8_1) : sizeof(ek_block_q8_0);
    const bool prepared = pairs <= MAX_PAIRS;
    if (prepared) {
        for (int t = 0; t < nx; ++t)
            for (int64_t i = 0; i < pairs; ++i) {
                const uint8_t *y0 = x + (size_t)t * x_stride + (size_t)(2 * i) * xs;
                prep[t * pairs + i] = b32_prepare(kind, y0, y0 + xs);
            }
    }
    const size_t row_bytes = (size_t)(n / 32) * b32_size(kind);
    const int64_t q = (rows + EK_TILE_ROWS - 1) / EK_TILE_ROWS;
    float sb[EK_TILE_ROWS * EK_TILE_TOKENS];
    for (int64_t k = 0; k < q; k++) {
        int nw = 0;
        while (nw < EK_TILE_ROWS && k + nw * q < rows) nw++;
        dot_b32_block(kind, n, w + (size_t)k * row_bytes, (size_t)q * row_bytes, nw, x, x_stride, nx, prepared ? prep : NULL, sb);
        for (int a = 0; a < nw; a++) {
            const int64_t r = k + a * q;
            for (int t = 0; t < nx; t++) y[t * y_stride + r] = bias ? sb[a * EK_TILE_TOKENS + t] + bias[r] : sb[a * EK_TILE_TOKENS + t];
        }
    }
}

// Full tiles (all but a matrix's or token tile's edge) get their own copy, whose token loop unrolls.
#define EK_B32_BLOCK(name, kind)                                                                            \
    EK_AVX2 static void vec_dot_block_##name(int64_t n, const void *restrict w, size_t w_stride, int nw,     \
                                             const void *restrict x, size_t x_stride, int nx, float *restrict s) { \
        if (nx == EK_TILE_TOKENS) dot_b32_block(kind, n, w, w_stride, nw, x, x_stride, EK_TILE_TOKENS, NULL, s); \
        else dot_b32_block(kind, n, w, w_stride, nw, x, x_stride, nx, NULL, s);                             \
    }                                                                                                       \
    EK_AVX2 static void matmul_span_##name(int64_t n, const void *restrict w, int64_t rows, const void *restrict x, \
                                           size_t x_stride, int nx, float *restrict y, int64_t y_stride,    \
                                           const float *restrict bias) {                                    \
        if (nx == EK_TILE_TOKENS) span_b32(kind, n, w, rows, x, x_stride, EK_TILE_TOKENS, y, y_stride, bias); \
        else span_b32(kind, n, w, rows, x, x_stride, nx, y, y_stride, bias);                                \
    }

EK_B32_BLOCK(q4_0_q8_0, K_Q4_0)
EK_B32_BLOCK(q4_1_q8_1, K_Q4_1)
EK_B32_BLOCK(q5_0_q8_0, K_Q5_0)
EK_B32_BLOCK(q5_1_q8_1, K_Q5_1)
EK_B32_BLOCK(q8_0_q8_0, K_Q8_0)


void ek_patch_avx2_b32(ek_type_traits *types) {
#define EK_SET(type, name)                                                                          \
    types[type].vec_dot = vec_dot_##name, types[type].vec_dot_tile = vec_dot_tile_##name,           \
    types[type].vec_dot_rows = vec_dot_rows_##name, types[type].vec_dot_block = vec_dot_block_##name,     \
    types[type].matmul_span = matmul_span_##name
    EK_SET(EK_Q4_0, q4_0_q8_0);
    EK_SET(EK_Q4_1, q4_1_q8_1);
    EK_SET(EK_Q5_0, q5_0_q8_0);
    EK_SET(EK_Q5_1, q5_1_q8_1);
    EK_SET(EK_Q8_0, q8_0_q8_0);
#undef EK_SET
}
#endif
