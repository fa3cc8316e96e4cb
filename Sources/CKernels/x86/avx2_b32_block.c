// AVX2 prompt kernels of the nibble 32-element types, and the block entries of all five.
// avx512_b32_block.c compiles this unit again with EK_B32_VNNI, whose integer sums take VPDPBUSD.
#if defined(__x86_64__)
#include "avx2_b32_block.h"
#ifndef EK_B32_VNNI
#define EK_B32_VNNI 0
#endif
#ifndef EK_B32_BLOCK_PATCH
#define EK_B32_BLOCK_PATCH ek_patch_avx2_b32_block
#endif

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

// ---- prompts ---------------------------------------------------------------------------------
//
// A prompt's product over a task's rows and all its tokens in one call. Per tile of tokens, each
// token's activations are prepared once (as decode spans do); per tile of rows, the codes and
// scales of each pair of blocks are decoded once into an L1 buffer for the whole token tile. The
// inner loop then only multiplies, folds and scales: block kernels decoded the weights for every
// four tokens and prepared the activations for every four rows. Order and terms are exactly vec_dot's.

typedef struct { __m256i lo[EK_TILE_ROWS], hi[EK_TILE_ROWS]; __m256 dw, mw; } b32_wpair;

enum { B32_MAX_PAIRS = 64 };   // rows of up to 4096 elements take this path
_Static_assert(B32_MAX_PAIRS * sizeof(b32_wpair) <= B32_SCRATCH_BYTES - B32_PREP_BYTES, "a row tile's pairs fit the scratch");

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

EK_AVX2_INLINE void prompt_b32(const int kind, int64_t n, const uint8_t *restrict w, int64_t rows, const uint8_t *restrict x,
                               size_t x_stride, int64_t ntok, float *restrict y, int64_t y_stride, const float *restrict bias) {
    const int64_t nb = n / 32, pairs = nb / 2;
    const size_t ws = b32_size(kind), row_bytes = (size_t)nb * ws;
    const bool offset = b32_offset(kind);
    const size_t xs = offset ? sizeof(ek_block_q8_1) : sizeof(ek_block_q8_0);
    void *scratch = pairs > 0 && pairs <= B32_MAX_PAIRS ? ek_b32_scratch() : NULL;
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

// Full tiles (all but a matrix's or token tile's edge) get their own copy, whose token loop unrolls.
#define EK_B32_BLOCK(name, kind)                                                                            \
    EK_AVX2 static void vec_dot_block_##name(int64_t n, const void *restrict w, size_t w_stride, int nw,     \
                                             const void *restrict x, size_t x_stride, int nx, float *restrict s) { \
        if (nx == EK_TILE_TOKENS) dot_b32_block(kind, n, w, w_stride, nw, x, x_stride, EK_TILE_TOKENS, s); \
        else dot_b32_block(kind, n, w, w_stride, nw, x, x_stride, nx, s);                             \
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
EK_B32_PROMPT(q4_0_q8_0, K_Q4_0)
EK_B32_PROMPT(q4_1_q8_1, K_Q4_1)
EK_B32_PROMPT(q5_0_q8_0, K_Q5_0)
EK_B32_PROMPT(q5_1_q8_1, K_Q5_1)

void EK_B32_BLOCK_PATCH(ek_type_traits *types) {
    types[EK_Q4_0].vec_dot_block = vec_dot_block_q4_0_q8_0;
    types[EK_Q4_1].vec_dot_block = vec_dot_block_q4_1_q8_1;
    types[EK_Q5_0].vec_dot_block = vec_dot_block_q5_0_q8_0;
    types[EK_Q5_1].vec_dot_block = vec_dot_block_q5_1_q8_1;
    types[EK_Q8_0].vec_dot_block = vec_dot_block_q8_0_q8_0;
    types[EK_Q4_0].matmul_prompt = matmul_prompt_q4_0_q8_0;
    types[EK_Q4_1].matmul_prompt = matmul_prompt_q4_1_q8_1;
    types[EK_Q5_0].matmul_prompt = matmul_prompt_q5_0_q8_0;
    types[EK_Q5_1].matmul_prompt = matmul_prompt_q5_1_q8_1;
}
#endif
