// AVX2 decode spans of the 32-element types: a pass over a matrix's rows for the tokens of up to
// four sequences. avx512_b32_block.c compiles this unit again with EK_B32_VNNI.
#if defined(__x86_64__)
#include "avx2_b32_block.h"
#include <string.h>
#ifndef EK_B32_VNNI
#define EK_B32_VNNI 0
#endif
#ifndef EK_B32_SPAN_PATCH
#define EK_B32_SPAN_PATCH ek_patch_avx2_b32_span
#endif

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
    void *scratch = pairs <= B32_SPAN_MAX_PAIRS ? ek_b32_scratch() : NULL;
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
    void *scratch = nb > 0 && nb <= Q8_SPAN_MAX_BLOCKS ? ek_b32_scratch() : NULL;
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

#define EK_B32_SPAN(name, kind)                                                                             \
    EK_AVX2 static void matmul_span_##name(int64_t n, const void *restrict w, int64_t rows, const void *restrict x, \
                                           size_t x_stride, int nx, float *restrict y, int64_t y_stride,    \
                                           const float *restrict bias) {                                    \
        if (nx == EK_TILE_TOKENS) span_b32(kind, n, w, rows, x, x_stride, EK_TILE_TOKENS, y, y_stride, bias); \
        else span_b32(kind, n, w, rows, x, x_stride, nx, y, y_stride, bias);                          \
    }

EK_B32_SPAN(q4_0_q8_0, K_Q4_0)
EK_B32_SPAN(q4_1_q8_1, K_Q4_1)
EK_B32_SPAN(q5_0_q8_0, K_Q5_0)
EK_B32_SPAN(q5_1_q8_1, K_Q5_1)

void EK_B32_SPAN_PATCH(ek_type_traits *types) {
    types[EK_Q4_0].matmul_span = matmul_span_q4_0_q8_0;
    types[EK_Q4_1].matmul_span = matmul_span_q4_1_q8_1;
    types[EK_Q5_0].matmul_span = matmul_span_q5_0_q8_0;
    types[EK_Q5_1].matmul_span = matmul_span_q5_1_q8_1;
    types[EK_Q8_0].matmul_span = matmul_span_q8_0;
}
#endif
