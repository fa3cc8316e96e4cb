// AVX2 block kernels for the 32-element block types: weight rows times token rows for prompts,
// and spans of rows for decode steps of several sequences. avx512_b32_block.c compiles this unit
// again with EK_B32_VNNI, whose integer sums take VPDPBUSD.
#if defined(__x86_64__)
#include "avx2_b32.h"
#ifndef EK_B32_VNNI
#define EK_B32_VNNI 0
#define EK_B32_BLOCK_PATCH ek_patch_avx2_b32_block
#endif
#include <pthread.h>
#include <stdlib.h>

// ---- blocks (prompts) ----------------------------------------------------------------------

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

// The folded integer sums of four rows' nibble codes (lo, hi: blocks i and i + 1 as b32_codes2
// gives them) with one prepared token, offset taken off: [rows of block i | rows of block i + 1].
EK_AVX2_INLINE __m256i b32_isum4(const int kind, const __m256i lo[EK_TILE_ROWS], const __m256i hi[EK_TILE_ROWS],
                                 const b32_tok *restrict tk) {
    __m256i p[EK_TILE_ROWS];
#if EK_B32_VNNI   // four products per int32 lane, no int16 stage: half the folds
    EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r)
        p[r] = _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), lo[r], tk->a), hi[r], tk->b);
    const __m256i isum = sum4x4_epi32(p[0], p[1], p[2], p[3]);
#else
    EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r)
        p[r] = _mm256_add_epi16(_mm256_maddubs_epi16(lo[r], tk->a), _mm256_maddubs_epi16(hi[r], tk->b));
    const __m256i isum = sum4x8_epi16(p[0], p[1], p[2], p[3]);
#endif
    return b32_row_offset(kind) ? _mm256_sub_epi32(isum, _mm256_castps_si256(tk->sx)) : isum;
}

// A decode step of up to EK_TILE_TOKENS sequences over `rows` consecutive rows, in row tiles that
// take one row from each quarter of the span (four long sequential streams read faster than one
// run or adjacent rows): y[t][k + a * q] = out[t][a] (+ bias) for the tile at k.
EK_AVX2_INLINE void span_store(int64_t k, int64_t q, int nw, int nx, const float out[EK_TILE_TOKENS][EK_TILE_ROWS],
                               float *restrict y, int64_t y_stride, const float *restrict bias) {
    for (int a = 0; a < nw; a++) {
        const int64_t r = k + a * q;
        for (int t = 0; t < nx; t++) y[t * y_stride + r] = bias ? out[t][a] + bias[r] : out[t][a];
    }
}

EK_AVX2_INLINE int span_tile_rows(int64_t k, int64_t q, int64_t rows) {
    int nw = 0;
    while (nw < EK_TILE_ROWS && k + nw * q < rows) nw++;
    return nw;
}

// Rows too long for the prepared operands: the block kernels, in the same tile order.
EK_AVX2_INLINE void span_blocks(const int kind, int64_t n, const uint8_t *restrict w, int64_t rows, const uint8_t *restrict x,
                                size_t x_stride, const int nx, float *restrict y, int64_t y_stride, const float *restrict bias) {
    const size_t row_bytes = (size_t)(n / 32) * b32_size(kind);
    const int64_t q = (rows + EK_TILE_ROWS - 1) / EK_TILE_ROWS;
    float sb[EK_TILE_ROWS * EK_TILE_TOKENS], out[EK_TILE_TOKENS][EK_TILE_ROWS];
    for (int64_t k = 0; k < q; k++) {
        const int nw = span_tile_rows(k, q, rows);
        dot_b32_block(kind, n, w + (size_t)k * row_bytes, (size_t)q * row_bytes, nw, x, x_stride, nx, sb);
        for (int a = 0; a < nw; a++)
            for (int t = 0; t < nx; t++) out[t][a] = sb[a * EK_TILE_TOKENS + t];
        span_store(k, q, nw, nx, out, y, y_stride, bias);
    }
}

// ---- prompts ---------------------------------------------------------------------------------
//
// A prompt's product over a task's rows and all its tokens in one call. Per tile of tokens, each
// token's activations are prepared once (as decode spans do); per tile of rows, the codes and
// scales of each pair of blocks are decoded once into an L1 buffer for the whole token tile. The
// inner loop then only multiplies, folds and scales: block kernels decoded the weights for every
// four tokens and prepared the activations for every four rows. Order and terms are exactly vec_dot's.

typedef struct { __m256i lo[EK_TILE_ROWS], hi[EK_TILE_ROWS]; __m256 dw, mw; } b32_wpair;

enum {
    B32_PREP_BYTES = 128 << 10,   // a token tile's prepared activations stay in L2
    B32_MAX_PAIRS = 64,           // rows of up to 4096 elements take this path
};

// Rows rw[0..3], blocks 2i and 2i + 1 for i < pairs, decoded into wp[i].
EK_AVX2_INLINE void b32_unpack_rows(const int kind, int64_t pairs, const uint8_t *const rw[EK_TILE_ROWS], b32_wpair *restrict wp) {
    const size_t ws = b32_size(kind);
    for (int64_t i = 0; i < pairs; ++i) {
        b32_decode_pair4(kind, rw, (size_t)(2 * i) * ws, &wp[i].dw, &wp[i].mw, wp[i].lo, wp[i].hi);
    }
}

// Rows of wp times tokens tk[t * pairs ...] (t < nx): out[t][r] over the pairs.
EK_AVX2_INLINE void dot_b32_unpacked(const int kind, int64_t pairs, const b32_wpair *restrict wp, const b32_tok *restrict tk,
                                     const int nx, float out[EK_TILE_TOKENS][EK_TILE_ROWS]) {
    __m128 sum[EK_TILE_TOKENS];
    EK_UNROLL for (int t = 0; t < EK_TILE_TOKENS; ++t) sum[t] = _mm_setzero_ps();
    for (int64_t i = 0; i < pairs; ++i) {
        const b32_wpair *restrict p = wp + i;
        __m256i lo[EK_TILE_ROWS], hi[EK_TILE_ROWS];
        EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) { lo[r] = p->lo[r]; hi[r] = p->hi[r]; }
        EK_UNROLL for (int t = 0; t < nx; ++t) {
            const b32_tok *restrict y = tk + (size_t)t * (size_t)pairs + i;
            const __m256i isum = b32_isum4(kind, lo, hi, y);
            const __m256 tm = b32_terms8(kind, _mm256_cvtepi32_ps(isum), p->dw, p->mw, y->dx, y->sx);
            sum[t] = _mm_add_ps(_mm_add_ps(sum[t], _mm256_castps256_ps128(tm)), _mm256_extractf128_ps(tm, 1));
        }
    }
    EK_UNROLL for (int t = 0; t < nx; ++t) _mm_storeu_ps(out[t], sum[t]);
}

// Per thread: a token tile's prepared activations, then one row tile's decoded pairs; freed when
// the thread ends (pools come and go with models).
static pthread_key_t b32_scratch_key;
static pthread_once_t b32_scratch_once = PTHREAD_ONCE_INIT;
static void b32_scratch_init(void) { pthread_key_create(&b32_scratch_key, free); }

static void *b32_scratch(void) {
    pthread_once(&b32_scratch_once, b32_scratch_init);
    void *p = pthread_getspecific(b32_scratch_key);
    if (!p && (p = aligned_alloc(64, B32_PREP_BYTES + B32_MAX_PAIRS * sizeof(b32_wpair)))) pthread_setspecific(b32_scratch_key, p);
    return p;
}

EK_AVX2_INLINE void prompt_b32(const int kind, int64_t n, const uint8_t *restrict w, int64_t rows, const uint8_t *restrict x,
                               size_t x_stride, int64_t ntok, float *restrict y, int64_t y_stride, const float *restrict bias) {
    const int64_t nb = n / 32, pairs = nb / 2;
    const size_t ws = b32_size(kind), row_bytes = (size_t)nb * ws;
    const bool offset = b32_offset(kind);
    const size_t xs = offset ? sizeof(ek_block_q8_1) : sizeof(ek_block_q8_0);
    void *scratch = pairs > 0 && pairs <= B32_MAX_PAIRS ? b32_scratch() : NULL;
    if (!scratch) {   // the block kernels, tile by tile
        float sb[EK_TILE_ROWS * EK_TILE_TOKENS];
        for (int64_t r = 0; r < rows; r += EK_TILE_ROWS) {
            const int nw = rows - r < EK_TILE_ROWS ? (int)(rows - r) : EK_TILE_ROWS;
            for (int64_t t = 0; t < ntok; t += EK_TILE_TOKENS) {
                const int nx = ntok - t < EK_TILE_TOKENS ? (int)(ntok - t) : EK_TILE_TOKENS;
                dot_b32_block(kind, n, w + (size_t)r * row_bytes, row_bytes, nw, x + (size_t)t * x_stride, x_stride, nx, sb);
                for (int a = 0; a < nw; a++)
                    for (int i = 0; i < nx; i++)
                        y[(t + i) * y_stride + r + a] = bias ? sb[a * EK_TILE_TOKENS + i] + bias[r + a] : sb[a * EK_TILE_TOKENS + i];
            }
        }
        return;
    }
    b32_tok *prep = scratch;
    b32_wpair *wp = (b32_wpair *)((uint8_t *)scratch + B32_PREP_BYTES);
    int64_t tile = (int64_t)(B32_PREP_BYTES / sizeof(b32_tok)) / pairs / EK_TILE_TOKENS * EK_TILE_TOKENS;
    if (tile > 64) tile = 64;
    for (int64_t t0 = 0; t0 < ntok; t0 += tile) {
        const int64_t nt = ntok - t0 < tile ? ntok - t0 : tile;
        for (int64_t t = 0; t < nt; ++t)
            for (int64_t i = 0; i < pairs; ++i) {
                const uint8_t *y0 = x + (size_t)(t0 + t) * x_stride + (size_t)(2 * i) * xs;
                prep[t * pairs + i] = b32_prepare_folded(kind, y0, y0 + xs);
            }
        for (int64_t r = 0; r < rows; r += EK_TILE_ROWS) {
            const int nw = rows - r < EK_TILE_ROWS ? (int)(rows - r) : EK_TILE_ROWS;
            const uint8_t *rw[EK_TILE_ROWS];
            tile_rows(w + (size_t)r * row_bytes, row_bytes, nw, rw);
            b32_unpack_rows(kind, pairs, rw, wp);
            for (int64_t t = 0; t < nt; t += EK_TILE_TOKENS) {
                const int nx = nt - t < EK_TILE_TOKENS ? (int)(nt - t) : EK_TILE_TOKENS;
                float out[EK_TILE_TOKENS][EK_TILE_ROWS];
                if (nx == EK_TILE_TOKENS) dot_b32_unpacked(kind, pairs, wp, prep + t * pairs, EK_TILE_TOKENS, out);
                else dot_b32_unpacked(kind, pairs, wp, prep + t * pairs, nx, out);
                if (nb % 2) b32_tail(kind, nb, rw, nw, x + (size_t)(t0 + t) * x_stride, x_stride, nx, out);
                for (int a = 0; a < nw; a++)
                    for (int k = 0; k < nx; k++)
                        y[(t0 + t + k) * y_stride + r + a] = bias ? out[k][a] + bias[r + a] : out[k][a];
            }
        }
    }
}

// ---- decode spans of the nibble types ----------------------------------------------------------
//
// Int32 lane r of each half accumulates row r's block whole: per pair of blocks the four rows'
// codes are transposed by dwords once for all tokens, so that vector k holds elements 4k..4k+3 of
// each row, against each token's dword k broadcast alike (prepared once per matrix). The products
// then leave [rows of block i | rows of block i + 1] with nothing to fold; the lane layout's fold
// (b32_isum4) was a third of a token's instructions. Measured on Zen 4, 4 tokens, Q4_1 1536x576,
// weights in cache, one thread: AVX2 59.8 -> 55.6 us, VNNI 50.2 -> 45.1 us; streamed from memory
// by two threads, unchanged (memory-bound there).

typedef struct { __m256i y[8]; __m256 dx, sx; } b32_ttok;   // y[k]: dword k of each block, four times per half

enum { B32_SPAN_MAX_PAIRS = 64 };   // rows of up to 4096 elements take this path
_Static_assert(EK_TILE_TOKENS * B32_SPAN_MAX_PAIRS * sizeof(b32_ttok) <= B32_PREP_BYTES, "a span's tokens fit the scratch");

// Per 128-bit half: dword k of v[r] to dword r of the result k.
EK_AVX2_INLINE void transpose4_epi32(const __m256i v[4], __m256i t[4]) {
    const __m256i a = _mm256_unpacklo_epi32(v[0], v[1]), b = _mm256_unpackhi_epi32(v[0], v[1]);
    const __m256i c = _mm256_unpacklo_epi32(v[2], v[3]), d = _mm256_unpackhi_epi32(v[2], v[3]);
    t[0] = _mm256_unpacklo_epi64(a, c);
    t[1] = _mm256_unpackhi_epi64(a, c);
    t[2] = _mm256_unpacklo_epi64(b, d);
    t[3] = _mm256_unpackhi_epi64(b, d);
}

// One row tile: rows rw[0..3] (nw used, the rest repeat the last) times nx prepared tokens (token
// t's pairs at prep[t * (nb / 2)...]); an odd last block as vec_dot's tail, from the raw
// activations. The rows are a quarter of the span apart: one line each is requested ahead per step.
EK_AVX2_INLINE void dot_b32_span(const int kind, int64_t nb, const uint8_t *const rw[EK_TILE_ROWS], int nw,
                                 const b32_ttok *restrict prep, const uint8_t *restrict x, size_t x_stride, const int nx,
                                 float out[EK_TILE_TOKENS][EK_TILE_ROWS]) {
    const size_t ws = b32_size(kind);
    const int64_t pairs = nb / 2;
    __m128 sum[EK_TILE_TOKENS];
    EK_UNROLL for (int t = 0; t < EK_TILE_TOKENS; ++t) sum[t] = _mm_setzero_ps();
    for (int64_t i = 0; i < pairs; ++i) {
        const size_t pos = (size_t)(2 * i) * ws;
        EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) _mm_prefetch((const char *)rw[r] + pos + EK_ROW_PREFETCH, _MM_HINT_T0);
        __m256 dw, mw;
        __m256i lo[EK_TILE_ROWS], hi[EK_TILE_ROWS], w[8];
        b32_decode_pair4(kind, rw, pos, &dw, &mw, lo, hi);
        transpose4_epi32(lo, w);
        transpose4_epi32(hi, w + 4);
        EK_UNROLL for (int t = 0; t < nx; ++t) {
            const b32_ttok *restrict tk = prep + (size_t)t * (size_t)pairs + i;
            __m256i isum;
#if EK_B32_VNNI
            const __m256i z = _mm256_setzero_si256();
            __m256i c0 = _mm256_dpbusd_epi32(z, w[0], tk->y[0]), c1 = _mm256_dpbusd_epi32(z, w[4], tk->y[4]);
            EK_UNROLL for (int k = 1; k < 4; ++k) {
                c0 = _mm256_dpbusd_epi32(c0, w[k], tk->y[k]);
                c1 = _mm256_dpbusd_epi32(c1, w[4 + k], tk->y[4 + k]);
            }
            isum = _mm256_add_epi32(c0, c1);
#else
            // int16 pair sums: |u y + u' y'| <= 2 * 15 * 127, so eight of them still fit (four for the
            // Q5 types' codes up to 31)
            __m256i c0 = _mm256_add_epi16(_mm256_maddubs_epi16(w[0], tk->y[0]), _mm256_maddubs_epi16(w[1], tk->y[1]));
            __m256i c1 = _mm256_add_epi16(_mm256_maddubs_epi16(w[4], tk->y[4]), _mm256_maddubs_epi16(w[5], tk->y[5]));
            c0 = _mm256_add_epi16(c0, _mm256_add_epi16(_mm256_maddubs_epi16(w[2], tk->y[2]), _mm256_maddubs_epi16(w[3], tk->y[3])));
            c1 = _mm256_add_epi16(c1, _mm256_add_epi16(_mm256_maddubs_epi16(w[6], tk->y[6]), _mm256_maddubs_epi16(w[7], tk->y[7])));
            const __m256i one = _mm256_set1_epi16(1);
            if (kind == K_Q5_0 || kind == K_Q5_1) isum = _mm256_add_epi32(_mm256_madd_epi16(c0, one), _mm256_madd_epi16(c1, one));
            else isum = _mm256_madd_epi16(_mm256_add_epi16(c0, c1), one);
#endif
            if (b32_row_offset(kind)) isum = _mm256_sub_epi32(isum, _mm256_castps_si256(tk->sx));
            const __m256 tm = b32_terms8(kind, _mm256_cvtepi32_ps(isum), dw, mw, tk->dx, tk->sx);
            sum[t] = _mm_add_ps(_mm_add_ps(sum[t], _mm256_castps256_ps128(tm)), _mm256_extractf128_ps(tm, 1));
        }
    }
    EK_UNROLL for (int t = 0; t < nx; ++t) _mm_storeu_ps(out[t], sum[t]);
    if (nb % 2) b32_tail(kind, nb, rw, nw, x, x_stride, nx, out);
}

// The tokens' operands prepared once per matrix, then one pass over the weights.
EK_AVX2_INLINE void span_b32(const int kind, int64_t n, const uint8_t *restrict w, int64_t rows, const uint8_t *restrict x,
                              size_t x_stride, const int nx, float *restrict y, int64_t y_stride, const float *restrict bias) {
    const int64_t nb = n / 32, pairs = nb / 2;
    void *scratch = pairs <= B32_SPAN_MAX_PAIRS ? b32_scratch() : NULL;
    if (!scratch) {
        span_blocks(kind, n, w, rows, x, x_stride, nx, y, y_stride, bias);
        return;
    }
    b32_ttok *prep = scratch;
    const size_t xs = b32_offset(kind) ? sizeof(ek_block_q8_1) : sizeof(ek_block_q8_0);
    const size_t row_bytes = (size_t)nb * b32_size(kind);
    const int64_t q = (rows + EK_TILE_ROWS - 1) / EK_TILE_ROWS;
    for (int t = 0; t < nx; ++t)
        for (int64_t i = 0; i < pairs; ++i) {
            const uint8_t *y0 = x + (size_t)t * x_stride + (size_t)(2 * i) * xs;
            const b32_tok tk = b32_prepare_folded(kind, y0, y0 + xs);
            b32_ttok *p = prep + t * pairs + i;
            p->y[0] = _mm256_shuffle_epi32(tk.a, 0x00); p->y[1] = _mm256_shuffle_epi32(tk.a, 0x55);
            p->y[2] = _mm256_shuffle_epi32(tk.a, 0xaa); p->y[3] = _mm256_shuffle_epi32(tk.a, 0xff);
            p->y[4] = _mm256_shuffle_epi32(tk.b, 0x00); p->y[5] = _mm256_shuffle_epi32(tk.b, 0x55);
            p->y[6] = _mm256_shuffle_epi32(tk.b, 0xaa); p->y[7] = _mm256_shuffle_epi32(tk.b, 0xff);
            p->dx = tk.dx;
            p->sx = tk.sx;
        }
    float out[EK_TILE_TOKENS][EK_TILE_ROWS];
    for (int64_t k = 0; k < q; k++) {
        const int nw = span_tile_rows(k, q, rows);
        const uint8_t *rw[EK_TILE_ROWS];
        tile_rows(w + (size_t)k * row_bytes, (size_t)q * row_bytes, nw, rw);
        dot_b32_span(kind, nb, rw, nw, prep, x, x_stride, nx, out);
        span_store(k, q, nw, nx, out, y, y_stride, bias);
    }
}

// ---- decode spans of Q8_0 ----------------------------------------------------------------------
//
// Q8_0 codes are signed, so each product needs the sign trick (|w| times y with w's sign), and a
// product pair fills a 16-bit word: its folds are twice the nibble types'. Here a row tile holds a
// block of its four rows as four vectors, vector k with elements 8k..8k+7 of rows [0, 1 | 2, 3],
// against the token's elements 8k..8k+7 in every quadword; two tokens' sums then fold into one
// vector [t0 r0, t0 r1, t1 r0, t1 r1 | rows 2, 3 alike] in three instructions, so one multiply and
// one add per block serve eight (row, token) sums in the twin's block order.

typedef struct { __m256i y[4]; } q8_itok;   // a token's block: elements 8k..8k+7 in every quadword of y[k]

enum { Q8_SPAN_MAX_BLOCKS = 128 };   // rows of up to 4096 elements take this path
_Static_assert(EK_TILE_TOKENS == 4, "tokens go in two pairs");
_Static_assert(EK_TILE_TOKENS * Q8_SPAN_MAX_BLOCKS * sizeof(q8_itok) + 2 * Q8_SPAN_MAX_BLOCKS * sizeof(__m256) <= B32_PREP_BYTES,
               "a span's tokens fit the scratch");

// Rows rw[0..3] times the prepared tokens ty[t * nb + b] (t < nx) with their pairs' scales
// dx[p * nb + b] = [t0 t0 t1 t1 | t0 t0 t1 t1] (an odd last token paired with itself).
EK_AVX2_INLINE void dot_q8_0_ispan(int64_t nb, const uint8_t *const rw[EK_TILE_ROWS], const q8_itok *restrict ty,
                                   const __m256 *restrict dx, const int nx, float out[EK_TILE_TOKENS][EK_TILE_ROWS]) {
    const size_t ws = sizeof(ek_block_q8_0);
    const int np = (nx + 1) / 2;
    __m256 sum[EK_TILE_TOKENS / 2];
    EK_UNROLL for (int p = 0; p < EK_TILE_TOKENS / 2; ++p) sum[p] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
        const size_t pos = (size_t)b * ws;
        EK_UNROLL for (int r = 0; r < EK_TILE_ROWS; ++r) _mm_prefetch((const char *)rw[r] + pos + EK_ROW_PREFETCH, _MM_HINT_T0);
        const __m256i a02 = load2x128(rw[0] + pos + 2, rw[2] + pos + 2), a13 = load2x128(rw[1] + pos + 2, rw[3] + pos + 2);
        const __m256i b02 = load2x128(rw[0] + pos + 18, rw[2] + pos + 18), b13 = load2x128(rw[1] + pos + 18, rw[3] + pos + 18);
        const __m256i w[4] = { _mm256_unpacklo_epi64(a02, a13), _mm256_unpackhi_epi64(a02, a13),
                               _mm256_unpacklo_epi64(b02, b13), _mm256_unpackhi_epi64(b02, b13) };
        __m256i u[4];
        EK_UNROLL for (int k = 0; k < 4; ++k) u[k] = _mm256_sign_epi8(w[k], w[k]);
        const int d0 = load_u16(rw[0] + pos), d1 = load_u16(rw[1] + pos), d2 = load_u16(rw[2] + pos), d3 = load_u16(rw[3] + pos);
        const __m256 dw = _mm256_cvtph_ps(_mm_setr_epi16((short)d0, (short)d1, (short)d0, (short)d1, (short)d2, (short)d3, (short)d2, (short)d3));
        EK_UNROLL for (int p = 0; p < np; ++p) {
            const q8_itok *restrict y0 = ty + (size_t)(2 * p) * (size_t)nb + b;
            const q8_itok *restrict y1 = ty + (size_t)(2 * p + 1 < nx ? 2 * p + 1 : 2 * p) * (size_t)nb + b;
            __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
            EK_UNROLL for (int k = 0; k < 4; ++k) {
#if EK_B32_VNNI
                s0 = _mm256_dpbusd_epi32(s0, u[k], _mm256_sign_epi8(y0->y[k], w[k]));
                s1 = _mm256_dpbusd_epi32(s1, u[k], _mm256_sign_epi8(y1->y[k], w[k]));
#else
                s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_maddubs_epi16(u[k], _mm256_sign_epi8(y0->y[k], w[k])), _mm256_set1_epi16(1)));
                s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(_mm256_maddubs_epi16(u[k], _mm256_sign_epi8(y1->y[k], w[k])), _mm256_set1_epi16(1)));
#endif
            }
            // per half: [t0 row a: two sums, row b: two] and t1's, to [t0 a, t0 b, t1 a, t1 b]
            __m256 ev = _mm256_shuffle_ps(_mm256_castsi256_ps(s0), _mm256_castsi256_ps(s1), 0x88);
            __m256 od = _mm256_shuffle_ps(_mm256_castsi256_ps(s0), _mm256_castsi256_ps(s1), 0xdd);
            __asm__("" : "+x"(ev), "+x"(od));   // kept as shuffles: compilers fuse them into vphaddd, slower on some cores
            const __m256i isum = _mm256_add_epi32(_mm256_castps_si256(ev), _mm256_castps_si256(od));
            sum[p] = _mm256_add_ps(sum[p], _mm256_mul_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dw, dx[(size_t)p * (size_t)nb + b])));
        }
    }
    EK_UNROLL for (int p = 0; p < np; ++p) {
        const __m128 lo = _mm256_castps256_ps128(sum[p]), hi = _mm256_extractf128_ps(sum[p], 1);
        _mm_storeu_ps(out[2 * p], _mm_shuffle_ps(lo, hi, 0x44));
        if (2 * p + 1 < nx) _mm_storeu_ps(out[2 * p + 1], _mm_shuffle_ps(lo, hi, 0xee));
    }
}

EK_AVX2_INLINE void span_q8_0(int64_t n, const uint8_t *restrict w, int64_t rows, const uint8_t *restrict x, size_t x_stride,
                              const int nx, float *restrict y, int64_t y_stride, const float *restrict bias) {
    const int64_t nb = n / 32;
    const size_t ws = sizeof(ek_block_q8_0), row_bytes = (size_t)nb * ws;
    void *scratch = nb > 0 && nb <= Q8_SPAN_MAX_BLOCKS ? b32_scratch() : NULL;
    if (!scratch) {
        span_blocks(K_Q8_0, n, w, rows, x, x_stride, nx, y, y_stride, bias);
        return;
    }
    q8_itok *ty = scratch;
    __m256 *dx = (__m256 *)(ty + (size_t)EK_TILE_TOKENS * (size_t)nb);
    for (int t = 0; t < nx; ++t)
        for (int64_t b = 0; b < nb; ++b) {
            const uint8_t *yb = x + (size_t)t * x_stride + (size_t)b * ws + 2;
            EK_UNROLL for (int k = 0; k < 4; ++k) {
                uint64_t v;
                memcpy(&v, yb + 8 * k, 8);
                ty[(size_t)t * (size_t)nb + b].y[k] = _mm256_set1_epi64x((long long)v);
            }
        }
    for (int p = 0; 2 * p < nx; ++p)
        for (int64_t b = 0; b < nb; ++b) {
            const int t1 = 2 * p + 1 < nx ? 2 * p + 1 : 2 * p;
            const float d0 = h2f((ek_fp16)load_u16(x + (size_t)(2 * p) * x_stride + (size_t)b * ws));
            const float d1 = h2f((ek_fp16)load_u16(x + (size_t)t1 * x_stride + (size_t)b * ws));
            dx[(size_t)p * (size_t)nb + b] = _mm256_setr_ps(d0, d0, d1, d1, d0, d0, d1, d1);
        }
    const int64_t q = (rows + EK_TILE_ROWS - 1) / EK_TILE_ROWS;
    float out[EK_TILE_TOKENS][EK_TILE_ROWS];
    for (int64_t k = 0; k < q; k++) {
        const int nw = span_tile_rows(k, q, rows);
        const uint8_t *rw[EK_TILE_ROWS];
        tile_rows(w + (size_t)k * row_bytes, (size_t)q * row_bytes, nw, rw);
        dot_q8_0_ispan(nb, rw, ty, dx, nx, out);
        span_store(k, q, nw, nx, out, y, y_stride, bias);
    }
}

EK_AVX2 static void matmul_span_q8_0(int64_t n, const void *restrict w, int64_t rows, const void *restrict x, size_t x_stride,
                                     int nx, float *restrict y, int64_t y_stride, const float *restrict bias) {
    if (nx == EK_TILE_TOKENS) span_q8_0(n, w, rows, x, x_stride, EK_TILE_TOKENS, y, y_stride, bias);
    else span_q8_0(n, w, rows, x, x_stride, nx, y, y_stride, bias);
}

// Full tiles (all but a matrix's or token tile's edge) get their own copy, whose token loop unrolls.
#define EK_B32_BLOCK(name, kind)                                                                            \
    EK_AVX2 static void vec_dot_block_##name(int64_t n, const void *restrict w, size_t w_stride, int nw,     \
                                             const void *restrict x, size_t x_stride, int nx, float *restrict s) { \
        if (nx == EK_TILE_TOKENS) dot_b32_block(kind, n, w, w_stride, nw, x, x_stride, EK_TILE_TOKENS, s); \
        else dot_b32_block(kind, n, w, w_stride, nw, x, x_stride, nx, s);                             \
    }
#define EK_B32_SPAN(name, kind)                                                                             \
    EK_AVX2 static void matmul_span_##name(int64_t n, const void *restrict w, int64_t rows, const void *restrict x, \
                                           size_t x_stride, int nx, float *restrict y, int64_t y_stride,    \
                                           const float *restrict bias) {                                    \
        if (nx == EK_TILE_TOKENS) span_b32(kind, n, w, rows, x, x_stride, EK_TILE_TOKENS, y, y_stride, bias); \
        else span_b32(kind, n, w, rows, x, x_stride, nx, y, y_stride, bias);                          \
    }
// Q8_0 keeps the block kernels for prompts: its codes need no decoding.
#define EK_B32_PROMPT(name, kind)                                                                           \
    EK_AVX2 static void matmul_prompt_##name(int64_t n, const void *restrict w, int64_t rows, const void *restrict x, \
                                             size_t x_stride, int nx, float *restrict y, int64_t y_stride,  \
                                             const float *restrict bias) {                                  \
        prompt_b32(kind, n, w, rows, x, x_stride, nx, y, y_stride, bias);                                   \
    }

EK_B32_BLOCK(q4_0_q8_0, K_Q4_0)
EK_B32_BLOCK(q4_1_q8_1, K_Q4_1)
EK_B32_BLOCK(q5_0_q8_0, K_Q5_0)
EK_B32_BLOCK(q5_1_q8_1, K_Q5_1)
EK_B32_BLOCK(q8_0_q8_0, K_Q8_0)
EK_B32_SPAN(q4_0_q8_0, K_Q4_0)
EK_B32_SPAN(q4_1_q8_1, K_Q4_1)
EK_B32_SPAN(q5_0_q8_0, K_Q5_0)
EK_B32_SPAN(q5_1_q8_1, K_Q5_1)
EK_B32_PROMPT(q4_0_q8_0, K_Q4_0)
EK_B32_PROMPT(q4_1_q8_1, K_Q4_1)
EK_B32_PROMPT(q5_0_q8_0, K_Q5_0)
EK_B32_PROMPT(q5_1_q8_1, K_Q5_1)

void EK_B32_BLOCK_PATCH(ek_type_traits *types) {
#define EK_SET(type, name) types[type].vec_dot_block = vec_dot_block_##name, types[type].matmul_span = matmul_span_##name
    EK_SET(EK_Q4_0, q4_0_q8_0);
    EK_SET(EK_Q4_1, q4_1_q8_1);
    EK_SET(EK_Q5_0, q5_0_q8_0);
    EK_SET(EK_Q5_1, q5_1_q8_1);
#undef EK_SET
    types[EK_Q8_0].vec_dot_block = vec_dot_block_q8_0_q8_0;
    types[EK_Q8_0].matmul_span = matmul_span_q8_0;
    types[EK_Q4_0].matmul_prompt = matmul_prompt_q4_0_q8_0;
    types[EK_Q4_1].matmul_prompt = matmul_prompt_q4_1_q8_1;
    types[EK_Q5_0].matmul_prompt = matmul_prompt_q5_0_q8_0;
    types[EK_Q5_1].matmul_prompt = matmul_prompt_q5_1_q8_1;
}
#endif
