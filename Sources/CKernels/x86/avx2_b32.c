// AVX2 kernels for the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0): vec_dot, token
// tiles and row tiles.
#if defined(__x86_64__)
#include "avx2_b32_block.h"
#include <pthread.h>
#include <stdlib.h>


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

// The block kernel (avx2_b32_block.h) with one token: two blocks per step, every vector holding
// [block i | block i + 1] with the four rows in each half.
_Static_assert(EK_TILE_ROWS == 4, "row tiles hold four rows: one per 32-bit lane of a 128-bit half");
EK_AVX2_INLINE void dot_b32_rows(const int kind, int64_t n, const void *restrict w, size_t w_stride, int nw,
                                 const void *restrict x, float *restrict s) {
    float sb[EK_TILE_ROWS * EK_TILE_TOKENS];
    dot_b32_block(kind, n, w, w_stride, nw, x, 0, 1, sb);
    for (int r = 0; r < nw; ++r) s[r] = sb[r * EK_TILE_TOKENS];
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

static pthread_key_t b32_scratch_key;
static pthread_once_t b32_scratch_once = PTHREAD_ONCE_INIT;
static void b32_scratch_init(void) { pthread_key_create(&b32_scratch_key, free); }

void *ek_b32_scratch(void) {
    pthread_once(&b32_scratch_once, b32_scratch_init);
    void *p = pthread_getspecific(b32_scratch_key);
    if (!p && (p = aligned_alloc(64, B32_SCRATCH_BYTES))) pthread_setspecific(b32_scratch_key, p);
    return p;
}

void ek_patch_avx2_b32(ek_type_traits *types) {
#define EK_SET(type, name)                                                                          \
    types[type].vec_dot = vec_dot_##name, types[type].vec_dot_tile = vec_dot_tile_##name,           \
    types[type].vec_dot_rows = vec_dot_rows_##name
    EK_SET(EK_Q4_0, q4_0_q8_0);
    EK_SET(EK_Q4_1, q4_1_q8_1);
    EK_SET(EK_Q5_0, q5_0_q8_0);
    EK_SET(EK_Q5_1, q5_1_q8_1);
    EK_SET(EK_Q8_0, q8_0_q8_0);
#undef EK_SET
    ek_patch_avx2_b32_block(types);
    ek_patch_avx2_b32_span(types);
}
#endif
