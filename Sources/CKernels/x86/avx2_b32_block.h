// The block kernel of the 32-element types (four weight rows times up to four token rows) and
// what the prompt and decode-span kernels built on it share (avx2_b32_block.c, avx2_b32_span.c).
#ifndef EDGELM_CKERNELS_AVX2_B32_BLOCK_H
#define EDGELM_CKERNELS_AVX2_B32_BLOCK_H
#if defined(__x86_64__)
#include "avx2_b32.h"

// Per thread, for prompt and span kernels: prepared activations (the first B32_PREP_BYTES, kept
// within L2), then a prompt row tile's decoded pairs. NULL if it cannot be allocated (callers
// fall back to the block kernels); freed when the thread ends (pools come and go with models).
enum { B32_PREP_BYTES = 128 << 10, B32_SCRATCH_BYTES = B32_PREP_BYTES + (32 << 10) };
void *ek_b32_scratch(void);

// Four rows' blocks at pos and pos + one block: the scales (*dw, *mw as b32_head_pairs or
// b32_head_scales lay them out) and the codes (nibble types: b32_codes2; Q8_0: |w| per block, its
// sign going onto each token's activations).
EK_AVX2_INLINE void b32_decode_pair4(const int kind, const uint8_t *const rw[EK_TILE_ROWS], size_t pos, __m256 *dw, __m256 *mw,
                                     __m256i lo[EK_TILE_ROWS], __m256i hi[EK_TILE_ROWS]) {
    const size_t ws = b32_size(kind);
    __m256i h[EK_TILE_ROWS];
    EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) h[r] = b32_head(kind, rw[r] + pos);
    if (b32_offset(kind)) b32_head_pairs(kind, h, dw, mw);
    else *dw = *mw = b32_head_scales(kind, h);
    EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) {
        if (kind == K_Q8_0) {
            lo[r] = b32_decode(kind, rw[r] + pos).u;
            hi[r] = b32_decode(kind, rw[r] + pos + ws).u;
        } else {
            b32_codes2(kind, rw[r] + pos, h[r], &lo[r], &hi[r]);
        }
    }
}

// The odd last block of nb (vec_dot's tail) of rows rw[0..nw) with nx tokens of raw activations
// (token t at x + t * x_stride), added to out[t][r].
EK_AVX2_INLINE void b32_tail(const int kind, int64_t nb, const uint8_t *const rw[EK_TILE_ROWS], int nw,
                             const uint8_t *restrict x, size_t x_stride, int nx, float out[EK_TILE_TOKENS][EK_TILE_ROWS]) {
    const bool offset = b32_offset(kind);
    const size_t ws = b32_size(kind);
    const size_t xs = offset ? sizeof(ek_block_q8_1) : sizeof(ek_block_q8_0);
    const size_t xq = offset ? offsetof(ek_block_q8_1, qs) : offsetof(ek_block_q8_0, qs);
    const int64_t i = nb - 1;
    for (int r = 0; r < nw; ++r) {
        const uint8_t *blk = rw[r] + (size_t)i * ws;
        const b32_codes c = b32_decode(kind, blk);
        const float dw = h2f((ek_fp16)load_u16(blk));
        const float mw = offset ? h2f((ek_fp16)load_u16(blk + 2)) : 0.0f;
        for (int t = 0; t < nx; ++t) {
            const uint8_t *yb = x + (size_t)t * x_stride + (size_t)i * xs;
            const int32_t is = b32_sum1(kind, b32_products(kind, c, load256(yb + xq)));
            const float dx = h2f((ek_fp16)load_u16(yb));
            const float sx = offset ? h2f((ek_fp16)load_u16(yb + 2)) : 0.0f;
            out[t][r] += b32_term(kind, (float)is, dw, mw, dx, sx);
        }
    }
}

//
// vec_dot_block: four weight rows times up to EK_TILE_TOKENS tokens (with one token, the row tile
// of single-sequence decode steps). Each row's codes and the rows' scales are decoded once for all
// tokens, each token's activations and scales loaded once for all rows; a token's four row sums are
// the lanes of one vector, so the tile has EK_TILE_TOKENS independent add chains of two adds per
// two blocks (the token tile's single serial chain per token was its latency bound). Order and
// terms are exactly vec_dot's.
EK_AVX2_INLINE void dot_b32_block(const int kind, int64_t n, const void *restrict w, size_t w_stride, int nw,
                                  const void *restrict x, size_t x_stride, const int nx, float *restrict s) {
    const bool offset = b32_offset(kind);
    const int off = b32_row_offset(kind);
    const size_t ws = b32_size(kind);
    const size_t xs = offset ? sizeof(ek_block_q8_1) : sizeof(ek_block_q8_0);
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
        __m256 dw, mw;
        __m256i lo[EK_TILE_ROWS], hi[EK_TILE_ROWS];
        b32_decode_pair4(kind, rw, pos, &dw, &mw, lo, hi);
        EK_UNROLL for (int t = 0; t < nx; ++t) {
            const uint8_t *y0 = xb + (size_t)t * x_stride + (size_t)i * xs;
            const b32_tok tk = b32_prepare(kind, y0, y0 + xs);
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
    if (i < nb) b32_tail(kind, nb, rw, nw, xb, x_stride, nx, out);
    for (int r = 0; r < nw; ++r)
        for (int t = 0; t < nx; ++t) s[r * EK_TILE_TOKENS + t] = out[t][r];
}

// The token side as b32_prepare, with the offset types' sx replaced by offset * sum(y) per block
// (int32, in the dx lane layout): their offset then comes off the folded sums in one subtract
// instead of two multiplies per token (without it the int16 words stay below 2^14: 2 * 2 * 31 * 127).
EK_AVX2_INLINE b32_tok b32_prepare_folded(int kind, const uint8_t *y0, const uint8_t *y1) {
    b32_tok p = b32_prepare(kind, y0, y1);
    const int off = b32_row_offset(kind);
    if (off) {
        const __m256i one8 = _mm256_set1_epi8(1), one16 = _mm256_set1_epi16(1);
        const __m256i s = _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(one8, p.a), _mm256_maddubs_epi16(one8, p.b)), one16);
        __m256i t = _mm256_hadd_epi32(s, s);
        t = _mm256_hadd_epi32(t, t);   // each half: its block's sum in every lane
        p.sx = _mm256_castsi256_ps(_mm256_mullo_epi32(t, _mm256_set1_epi32(off)));
    }
    return p;
}

#endif
#endif
