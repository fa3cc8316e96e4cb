// Checks every SIMD kernel variant this CPU supports against the scalar twins. Variants must be
// bit-identical to them: the activation quantizers byte for byte, every quantized type's dot
// product, tile kernel and batched matmul, and every op kernel. Only dot products of float weight
// rows (F32/F16/BF16, which the quantized models do not multiply with) may sum in another order,
// within a named tolerance. Built from the CKernels sources alone so that it also runs
// cross-compiled under an emulator (see the Makefile's `kernels-arm` target).
//
//   harness [--expect VARIANT_LABEL]   exit status 0 when every check passes
//   harness --bench [TYPE...]           weight bytes/s of each variant's vec_dot over a 64 MiB matrix
#include "../../Sources/CKernels/dispatch.h"
#include <math.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The one tolerance: float weight rows summed in another order, relative to sum |w_i * x_i|.
#define TOL_FLOAT_DOT 2e-6

static int failures, checks;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("FAIL ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    if (++failures > 50) { puts("too many failures"); exit(1); }
}

// ---- deterministic random data -------------------------------------------------------------

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return rng_state;
}
static float rnd_unit(void) { return (float)(rnd() >> 40) / (float)(1u << 24); }   // [0, 1)
static float rnd_sym(void) { return 2.0f * rnd_unit() - 1.0f; }                    // [-1, 1)
// Activation-like values: mostly small, with a few large outliers per row.
static float rnd_activation(void) { return (rnd() % 97 == 0 ? 8.0f : 1.0f) * rnd_sym(); }

// Byte offsets of the f16 scale fields in each block, so random blocks carry sane scales.
typedef struct { int type; int offsets[2]; int count; } scale_fields;
static const scale_fields fields[] = {
    { EK_Q4_0, { 0 }, 1 }, { EK_Q4_1, { 0, 2 }, 2 }, { EK_Q5_0, { 0 }, 1 }, { EK_Q5_1, { 0, 2 }, 2 },
    { EK_Q8_0, { 0 }, 1 }, { EK_Q2_K, { 80, 82 }, 2 }, { EK_Q3_K, { 108 }, 1 }, { EK_Q4_K, { 0, 2 }, 2 },
    { EK_Q5_K, { 0, 2 }, 2 }, { EK_Q6_K, { 208 }, 1 },
};

static void random_weights(int type, uint8_t *dst, int64_t n) {
    const ek_type_traits *t = ek_traits_generic(type);
    const size_t bytes = ek_row_size(type, n);
    if (type == EK_F32) { for (int64_t i = 0; i < n; i++) ((float *)dst)[i] = rnd_sym(); return; }
    if (type == EK_F16) { for (int64_t i = 0; i < n; i++) ((ek_fp16 *)dst)[i] = ek_fp32_to_fp16(rnd_sym()); return; }
    if (type == EK_BF16) { for (int64_t i = 0; i < n; i++) ((ek_bf16 *)dst)[i] = ek_fp32_to_bf16(rnd_sym()); return; }
    for (size_t i = 0; i < bytes; i++) dst[i] = (uint8_t)rnd();
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        if (fields[f].type != type) continue;
        for (int64_t b = 0; b < n / t->block_size; b++) {
            for (int k = 0; k < fields[f].count; k++) {
                const ek_fp16 h = ek_fp32_to_fp16((0.001f + 0.05f * rnd_unit()) * (k == 1 && (rnd() & 1) ? -1.0f : 1.0f));
                memcpy(dst + (size_t)b * (size_t)t->type_size + (size_t)fields[f].offsets[k], &h, 2);
            }
        }
    }
}

// Dequantized activations, to bound the dot product's rounding by sum |w_i * x_i|.
static void activation_values(int type, const uint8_t *q, int64_t n, float *out) {
    const ek_type_traits *t = ek_traits_generic(type);
    if (t->to_float) { t->to_float(q, out, n); return; }
    if (type == EK_Q8_1) {
        const ek_block_q8_1 *b = (const ek_block_q8_1 *)q;
        for (int64_t i = 0; i < n; i++) out[i] = ek_fp16_to_fp32(b[i / 32].d) * (float)b[i / 32].qs[i % 32];
    } else if (type == EK_Q8_K) {
        const ek_block_q8_K *b = (const ek_block_q8_K *)q;
        for (int64_t i = 0; i < n; i++) out[i] = b[i / 256].d * (float)b[i / 256].qs[i % 256];
    }
}

static double magnitude(int wtype, const uint8_t *w, int xtype, const uint8_t *x, int64_t n, float *wf, float *xf) {
    ek_traits_generic(wtype)->to_float(w, wf, n);
    activation_values(xtype, x, n, xf);
    double m = 0;
    for (int64_t i = 0; i < n; i++) m += fabs((double)wf[i] * (double)xf[i]);
    return m > 1e-30 ? m : 1e-30;
}

// ---- checks --------------------------------------------------------------------------------

static const int weight_types[] = { EK_F32, EK_F16, EK_BF16, EK_Q4_0, EK_Q4_1, EK_Q5_0, EK_Q5_1, EK_Q8_0,
                                    EK_Q2_K, EK_Q3_K, EK_Q4_K, EK_Q5_K, EK_Q6_K };
static const int activation_types[] = { EK_F32, EK_F16, EK_BF16, EK_Q8_0, EK_Q8_1, EK_Q8_K };

// Row lengths in blocks: odd counts, around the SIMD widths, and a long row.
static const int64_t block_counts[] = { 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 128 };
// Element counts for float types and ops, which have no blocks.
static const int64_t lengths[] = { 1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 257, 896, 4096 };

#define MAX_N (128 * 256)

static void check_quantizers(ek_variant v) {
    static float x[MAX_N];
    static uint8_t a[MAX_N * 4 + 4096], b[MAX_N * 4 + 4096];
    for (size_t i = 0; i < sizeof activation_types / sizeof activation_types[0]; i++) {
        const int type = activation_types[i];
        const ek_type_traits *g = ek_traits_generic(type), *t = ek_traits_variant(v, type);
        for (size_t c = 0; c < sizeof block_counts / sizeof block_counts[0]; c++) {
            const int64_t n = block_counts[c] * g->block_size;
            if (n > MAX_N) continue;
            for (int64_t k = 0; k < n; k++) x[k] = rnd_activation();
            if (c == 0) for (int64_t k = 0; k < n && k < 32; k++) x[k] = 0.0f;   // an all-zero block
            const size_t bytes = ek_row_size(type, n);
            memset(a, 0xa5, bytes); memset(b, 0x5a, bytes);
            g->from_float(x, a, n);
            t->from_float(x, b, n);
            checks++;
            if (memcmp(a, b, bytes) != 0) {
                size_t k = 0;
                while (a[k] == b[k]) k++;
                fail("%s quantize %s n=%lld: byte %zu differs (scalar %02x, %s %02x)", ek_variant_name(v), g->name,
                     (long long)n, k, a[k], ek_variant_name(v), b[k]);
            }
        }
    }
}

// A tile kernel must give each token exactly what vec_dot gives it, whatever the tile's size.
static void check_tile(ek_variant v, int type) {
    static uint8_t w[MAX_N * 4], xq[EK_TILE_TOKENS][MAX_N * 4 + 4096];
    static float x[MAX_N];
    const ek_type_traits *g = ek_traits_generic(type), *t = ek_traits_variant(v, type);
    const size_t stride = sizeof xq[0];
    for (size_t c = 0; c < sizeof block_counts / sizeof block_counts[0]; c++) {
        const int64_t n = block_counts[c] * g->block_size;
        if (n > MAX_N) continue;
        random_weights(type, w, n);
        for (int k = 0; k < EK_TILE_TOKENS; k++) {
            for (int64_t i = 0; i < n; i++) x[i] = rnd_activation();
            ek_traits_generic(g->vec_dot_type)->from_float(x, xq[k], n);
        }
        for (int nx = 1; nx <= EK_TILE_TOKENS; nx++) {
            float s[EK_TILE_TOKENS];
            t->vec_dot_tile(n, w, xq[0], stride, nx, s);
            for (int k = 0; k < nx; k++) {
                const float one = t->vec_dot(n, w, xq[k]);
                checks++;
                if (memcmp(&one, &s[k], sizeof one) != 0) {
                    fail("%s vec_dot_tile %s n=%lld nx=%d: token %d gives %.9g, vec_dot %.9g", ek_variant_name(v), g->name,
                         (long long)n, nx, k, s[k], one);
                }
            }
        }
    }
}

// A multi-row kernel must give each row exactly what vec_dot gives it, whatever the group's size.
static void check_rows(ek_variant v, int type) {
    static uint8_t w[EK_TILE_ROWS][MAX_N * 4], xq[MAX_N * 4 + 4096];
    static float x[MAX_N];
    const ek_type_traits *g = ek_traits_generic(type), *t = ek_traits_variant(v, type);
    for (size_t c = 0; c < sizeof block_counts / sizeof block_counts[0]; c++) {
        const int64_t n = block_counts[c] * g->block_size;
        if (n > MAX_N) continue;
        for (int k = 0; k < EK_TILE_ROWS; k++) random_weights(type, w[k], n);
        for (int64_t i = 0; i < n; i++) x[i] = rnd_activation();
        ek_traits_generic(g->vec_dot_type)->from_float(x, xq, n);
        for (int nw = 1; nw <= EK_TILE_ROWS; nw++) {
            float s[EK_TILE_ROWS];
            t->vec_dot_rows(n, w[0], sizeof w[0], nw, xq, s);
            for (int k = 0; k < nw; k++) {
                const float one = t->vec_dot(n, w[k], xq);
                checks++;
                if (memcmp(&one, &s[k], sizeof one) != 0) {
                    fail("%s vec_dot_rows %s n=%lld nw=%d: row %d gives %.9g, vec_dot %.9g", ek_variant_name(v), g->name,
                         (long long)n, nw, k, s[k], one);
                }
            }
        }
    }
}

// A block kernel must give each (row, token) exactly what vec_dot gives it, for every shape.
static void check_block(ek_variant v, int type) {
    static uint8_t w[EK_TILE_ROWS][MAX_N * 4], xq[EK_TILE_TOKENS][MAX_N * 4 + 4096];
    static float x[MAX_N];
    const ek_type_traits *g = ek_traits_generic(type), *t = ek_traits_variant(v, type);
    for (size_t c = 0; c < sizeof block_counts / sizeof block_counts[0]; c++) {
        const int64_t n = block_counts[c] * g->block_size;
        if (n > MAX_N) continue;
        for (int k = 0; k < EK_TILE_ROWS; k++) random_weights(type, w[k], n);
        for (int k = 0; k < EK_TILE_TOKENS; k++) {
            for (int64_t i = 0; i < n; i++) x[i] = rnd_activation();
            ek_traits_generic(g->vec_dot_type)->from_float(x, xq[k], n);
        }
        for (int nw = 1; nw <= EK_TILE_ROWS; nw++) {
            for (int nx = 1; nx <= EK_TILE_TOKENS; nx++) {
                float s[EK_TILE_ROWS * EK_TILE_TOKENS];
                t->vec_dot_block(n, w[0], sizeof w[0], nw, xq[0], sizeof xq[0], nx, s);
                for (int a = 0; a < nw; a++) {
                    for (int k = 0; k < nx; k++) {
                        const float one = t->vec_dot(n, w[a], xq[k]);
                        checks++;
                        if (memcmp(&one, &s[a * EK_TILE_TOKENS + k], sizeof one) != 0) {
                            fail("%s vec_dot_block %s n=%lld %dx%d: row %d token %d gives %.9g, vec_dot %.9g", ek_variant_name(v),
                                 g->name, (long long)n, nw, nx, a, k, s[a * EK_TILE_TOKENS + k], one);
                        }
                    }
                }
            }
        }
    }
}

static void check_dots(ek_variant v) {
    static uint8_t w[MAX_N * 4], xq[MAX_N * 4 + 4096];
    static float x[MAX_N], wf[MAX_N], xf[MAX_N];
    for (size_t i = 0; i < sizeof weight_types / sizeof weight_types[0]; i++) {
        const int type = weight_types[i];
        const ek_type_traits *g = ek_traits_generic(type), *t = ek_traits_variant(v, type);
        const int xtype = g->vec_dot_type;
        const bool flt = type == EK_F32 || type == EK_F16 || type == EK_BF16;
        double worst = 0;
        const size_t counts = flt ? sizeof lengths / sizeof lengths[0] : sizeof block_counts / sizeof block_counts[0];
        for (size_t c = 0; c < counts; c++) {
            const int64_t n = flt ? lengths[c] : block_counts[c] * g->block_size;
            if (n > MAX_N) continue;
            for (int rep = 0; rep < 4; rep++) {
                random_weights(type, w, n);
                for (int64_t k = 0; k < n; k++) x[k] = rnd_activation();
                ek_traits_generic(xtype)->from_float(x, xq, n);
                const float ref = g->vec_dot(n, w, xq), got = t->vec_dot(n, w, xq);
                const double m = magnitude(type, w, xtype, xq, n, wf, xf);
                const double err = fabs((double)ref - (double)got) / m;
                const double tol = flt ? TOL_FLOAT_DOT : 0.0;
                checks++;
                if (err > worst) worst = err;
                if (!(err <= tol) || (!flt && memcmp(&ref, &got, sizeof ref) != 0)) {
                    fail("%s vec_dot %s n=%lld: scalar %.9g, %s %.9g (error %.3g of sum|w*x| %.4g, tolerance %.1g)",
                         ek_variant_name(v), g->name, (long long)n, ref, ek_variant_name(v), got, err, m, tol);
                }
            }
        }
        printf("  %-7s vec_dot %-5s worst relative error %.2e%s%s%s\n", ek_variant_name(v), g->name, worst,
               t->vec_dot_tile ? ", token tile" : "", t->vec_dot_rows ? ", row tile" : "", t->vec_dot_block ? ", block" : "");
        if (t->vec_dot_tile) check_tile(v, type);
        if (t->vec_dot_rows) check_rows(v, type);
        if (t->vec_dot_block) check_block(v, type);
    }
}

// Buffers of a matmul comparison, large enough for every shape a check uses.
typedef struct { uint8_t *w, *xq; float *x, *bias, *ya, *yb; } matmul_bufs;

// Random weights, activations and bias of the shape; ya = the scalar matmul, yb = variant v's.
// Extreme inputs: every code at its largest magnitude (Q8_0: -128) and every activation at +-127,
// the sign flipping by block: the integer sums' worst case for overflow and saturation.
static bool extreme_inputs;

static void matmul_both(ek_variant v, ek_pool *pool, int type, int64_t rows, int64_t cols, int64_t ntok, bool with_bias,
                        const matmul_bufs *b) {
    const int xtype = ek_traits_generic(type)->vec_dot_type;
    const size_t wrow = ek_row_size(type, cols), xrow = ek_row_size(xtype, cols);
    for (int64_t k = 0; k < rows; k++) random_weights(type, b->w + (size_t)k * wrow, cols);
    for (int64_t k = 0; k < cols * ntok; k++) b->x[k] = rnd_activation();
    if (extreme_inputs) {
        const ek_type_traits *t = ek_traits_generic(type);
        uint8_t block[64];
        for (int64_t k = 0; k < rows * (cols / t->block_size); k++) {
            uint8_t *blk = b->w + (size_t)k * t->type_size;
            memcpy(block, blk, 4);   // the scale fields (the first four bytes of every 32-element type)
            memset(blk, type == EK_Q8_0 ? 0x80 : 0xff, t->type_size);
            memcpy(blk, block, type == EK_Q4_1 || type == EK_Q5_1 ? 4 : 2);
        }
        for (int64_t k = 0; k < cols * ntok; k++) b->x[k] = (k / 32) % 2 ? 1.0f : -1.0f;
    }
    for (int64_t k = 0; k < rows; k++) b->bias[k] = rnd_sym();
    ek_quantize_rows(xtype, b->x, cols, ntok, cols, b->xq, xrow);
    ek_select_variant(EK_VARIANT_SCALAR);
    ek_matmul(pool, type, b->w, rows, cols, b->xq, xrow, ntok, b->ya, rows, with_bias ? b->bias : NULL);
    ek_select_variant(v);
    ek_matmul(pool, type, b->w, rows, cols, b->xq, xrow, ntok, b->yb, rows, with_bias ? b->bias : NULL);
}

static void check_matmul(ek_variant v) {
    static const int64_t row_counts[] = { 1, 31, 32, 33, 255 };
    static const int64_t token_counts[] = { 1, 2, 3, 4, 5, 8, 13 };
    const int64_t cols = 512;
    ek_pool *pool = ek_pool_create(2);
    uint8_t *w = malloc(ek_row_size(EK_F32, cols) * 255);
    uint8_t *xq = malloc(ek_row_size(EK_F32, cols) * 13);
    float *x = malloc(sizeof(float) * (size_t)cols * 13);
    float *ya = malloc(sizeof(float) * 255 * 13), *yb = malloc(sizeof(float) * 255 * 13), *bias = malloc(sizeof(float) * 255);
    float *wf = malloc(sizeof(float) * (size_t)cols), *xf = malloc(sizeof(float) * (size_t)cols);
    const matmul_bufs bufs = { w, xq, x, bias, ya, yb };
    for (size_t i = 0; i < sizeof weight_types / sizeof weight_types[0]; i++) {
        const int type = weight_types[i];
        const int xtype = ek_traits_generic(type)->vec_dot_type;
        const size_t wrow = ek_row_size(type, cols), xrow = ek_row_size(xtype, cols);
        for (size_t r = 0; r < sizeof row_counts / sizeof row_counts[0]; r++) {
            for (size_t tk = 0; tk < sizeof token_counts / sizeof token_counts[0]; tk++) {
                const int64_t rows = row_counts[r], ntok = token_counts[tk];
                matmul_both(v, pool, type, rows, cols, ntok, (r + tk) % 2 == 0, &bufs);
                for (int64_t t = 0; t < ntok; t++) {
                    for (int64_t k = 0; k < rows; k++) {
                        const double m = magnitude(type, w + (size_t)k * wrow, xtype, xq + (size_t)t * xrow, cols, wf, xf);
                        const double err = fabs((double)ya[t * rows + k] - (double)yb[t * rows + k]) / m;
                        const bool flt = type == EK_F32 || type == EK_F16 || type == EK_BF16;
                        checks++;
                        if (flt ? !(err <= 2 * TOL_FLOAT_DOT) : memcmp(&ya[t * rows + k], &yb[t * rows + k], sizeof(float)) != 0) {
                            fail("%s matmul %s rows=%lld tokens=%lld: y[%lld][%lld] scalar %.9g, %s %.9g",
                                 ek_variant_name(v), ek_traits_generic(type)->name, (long long)rows, (long long)ntok,
                                 (long long)t, (long long)k, ya[t * rows + k], ek_variant_name(v), yb[t * rows + k]);
                            t = ntok; break;
                        }
                    }
                }
            }
        }
    }
    ek_pool_destroy(pool);
    free(w); free(xq); free(x); free(ya); free(yb); free(bias); free(wf); free(xf);
}

// Prompts (more tokens than a tile) and decode spans (a few sequences' tokens) against the scalar
// matmul, bit for bit: prompts across token tiles; both with an odd last block and past the widths
// their prepared paths take.
static void check_batched(ek_variant v, bool prompts) {
    static const int64_t col_counts[] = { 512, 800, 4160 };
    static const int64_t row_counts[] = { 1, 33, 255 };
    static const int64_t prompt_tokens[] = { 5, 64, 67, 130 }, span_tokens[] = { 2, 3, 4 };
    const int64_t *token_counts = prompts ? prompt_tokens : span_tokens;
    const size_t n_counts = prompts ? sizeof prompt_tokens / sizeof prompt_tokens[0] : sizeof span_tokens / sizeof span_tokens[0];
    const int64_t max_cols = 4160, max_rows = 255, max_tok = 130;
    ek_pool *pool = ek_pool_create(2);
    uint8_t *w = malloc(ek_row_size(EK_F32, max_cols) * max_rows);
    uint8_t *xq = malloc(ek_row_size(EK_F32, max_cols) * max_tok);
    float *x = malloc(sizeof(float) * (size_t)(max_cols * max_tok));
    float *ya = malloc(sizeof(float) * (size_t)(max_rows * max_tok)), *yb = malloc(sizeof(float) * (size_t)(max_rows * max_tok));
    float *bias = malloc(sizeof(float) * max_rows);
    const matmul_bufs bufs = { w, xq, x, bias, ya, yb };
    for (size_t i = 0; i < sizeof weight_types / sizeof weight_types[0]; i++) {
        const int type = weight_types[i];
        const ek_type_traits *tr = ek_traits_variant(v, type);
        if (!(prompts ? tr->matmul_prompt : tr->matmul_span)) continue;
        int64_t tested = 0;
        for (size_t c = 0; c < sizeof col_counts / sizeof col_counts[0]; c++) {
            const int64_t cols = col_counts[c];
            if (cols % ek_traits_generic(type)->block_size) continue;
            for (size_t r = 0; r < sizeof row_counts / sizeof row_counts[0]; r++) {
                for (size_t tk = 0; tk < n_counts; tk++) {
                    const int64_t rows = row_counts[r], ntok = token_counts[tk];
                    matmul_both(v, pool, type, rows, cols, ntok, (r + tk) % 2 == 1, &bufs);
                    checks++;
                    tested += rows * ntok;
                    for (int64_t k = 0; k < rows * ntok; k++) {
                        if (memcmp(&ya[k], &yb[k], sizeof(float)) != 0) {
                            fail("%s %s %s cols=%lld rows=%lld tokens=%lld: y[%lld][%lld] scalar %.9g, %s %.9g",
                                 ek_variant_name(v), prompts ? "prompt" : "span", ek_traits_generic(type)->name, (long long)cols, (long long)rows,
                                 (long long)ntok, (long long)(k / rows), (long long)(k % rows), ya[k], ek_variant_name(v), yb[k]);
                            break;
                        }
                    }
                }
            }
        }
        // the same at extreme inputs
        extreme_inputs = true;
        for (size_t tk = 0; tk < n_counts; tk++) {
            const int64_t rows = 33, ntok = token_counts[tk];
            matmul_both(v, pool, type, rows, 512, ntok, false, &bufs);
            checks++;
            tested += rows * ntok;
            if (memcmp(ya, yb, sizeof(float) * (size_t)(rows * ntok)) != 0)
                fail("%s %s %s at extreme inputs, tokens=%lld: outputs differ from the scalar ones", ek_variant_name(v),
                     prompts ? "prompt" : "span", ek_traits_generic(type)->name, (long long)ntok);
        }
        extreme_inputs = false;
        printf("  %-7s %-7s %-5s %lld outputs bit-identical\n", ek_variant_name(v), prompts ? "prompt" : "span",
               ek_traits_generic(type)->name, (long long)tested);
    }
    ek_pool_destroy(pool);
    free(w); free(xq); free(x); free(ya); free(yb); free(bias);
}

static void compare_rows(const char *what, ek_variant v, int64_t n, const float *ref, const float *got) {
    checks++;
    for (int64_t i = 0; i < n; i++) {
        if (memcmp(&ref[i], &got[i], sizeof(float)) != 0) {
            fail("%s %s n=%lld: [%lld] scalar %.9g, %s %.9g", ek_variant_name(v), what, (long long)n, (long long)i,
                 ref[i], ek_variant_name(v), got[i]);
            return;
        }
    }
}

// ek_argmax under variant v against the scalar definition (the first index of the largest value,
// NaN never larger): random rows, ties, signed zeros, infinities and NaNs (first or elsewhere).
static void check_argmax(ek_variant v) {
    enum { N = 49157 };
    float *x = malloc(sizeof(float) * N);
    ek_select_variant(v);
    for (int round = 0; round < 40; round++) {
        const int64_t n = round < 8 ? round + 1 : round % 2 ? N : 1000 + round;
        for (int64_t i = 0; i < n; i++) x[i] = 8.0f * rnd_sym();
        const int64_t a = (int64_t)(rnd() % (uint64_t)n), b = (int64_t)(rnd() % (uint64_t)n);
        switch (round % 8) {
        case 1: x[a] = x[b] = 100.0f; break;                          // a tie
        case 2: for (int64_t i = 0; i < n; i++) x[i] = i % 3 ? -0.0f : 0.0f; break;
        case 3: x[a] = NAN; x[b] = 50.0f; break;
        case 4: x[0] = NAN; break;
        case 5: for (int64_t i = 0; i < n; i++) x[i] = -INFINITY; break;
        case 6: x[a] = INFINITY; break;
        case 7: for (int64_t i = 0; i < n; i++) x[i] = i == a ? 1.0f : NAN; break;
        default: break;
        }
        int64_t best = 0;
        for (int64_t i = 1; i < n; i++) if (x[i] > x[best]) best = i;
        const int64_t got = ek_argmax(x, n);
        checks++;
        if (got != best) fail("%s argmax n=%lld round %d: %lld, expected %lld", ek_variant_name(v), (long long)n, round, (long long)got, (long long)best);
    }
    free(x);
}

static void check_ops(ek_variant v) {
    enum { N = 4096 + 64 };
    static float a[N], b[N], c[N], ra[N], rb[N], ga[N], gb[N], cs[N], sn[N];
    static ek_fp16 ha[N], hb[N], hr[N], hg[N];
    const ek_op_kernels *g = &ek_generic_ops, *t = ek_ops_variant(v);
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        const int64_t n = lengths[li];
        for (int64_t i = 0; i < n; i++) { a[i] = 4.0f * rnd_activation(); b[i] = rnd_sym(); c[i] = rnd_sym(); }
        for (int64_t i = 0; i < n; i++) { ha[i] = ek_fp32_to_fp16(a[i]); hb[i] = ek_fp32_to_fp16(b[i]); }

        {   // sums taken in double: relative to the value itself
            const double r = g->sum_squares(a, n), s = t->sum_squares(a, n);
            checks++;
            if (memcmp(&r, &s, sizeof r) != 0) fail("%s sum_squares n=%lld: %.17g vs %.17g", ek_variant_name(v), (long long)n, r, s);
        }
        g->scale_mul(a, 0.37f, b, ra, n); t->scale_mul(a, 0.37f, b, ga, n); compare_rows("scale_mul", v, n, ra, ga);
        g->scale_mul(a, 0.37f, NULL, ra, n); t->scale_mul(a, 0.37f, NULL, ga, n); compare_rows("scale_mul(no w)", v, n, ra, ga);
        {
            const float mr = g->max(a, n), mg = t->max(a, n);
            checks++;
            if (mr != mg) fail("%s max n=%lld: %g vs %g", ek_variant_name(v), (long long)n, mr, mg);
            memcpy(ra, a, sizeof(float) * (size_t)n); memcpy(ga, a, sizeof(float) * (size_t)n);
            const double sr = g->exp_shift_sum(ra, n, mr), sg = t->exp_shift_sum(ga, n, mr);
            compare_rows("exp_shift_sum values", v, n, ra, ga);
            checks++;
            if (memcmp(&sr, &sg, sizeof sr) != 0) fail("%s exp_shift_sum n=%lld: %.9g vs %.9g", ek_variant_name(v), (long long)n, sr, sg);
        }
        memcpy(ra, a, sizeof(float) * (size_t)n); memcpy(ga, a, sizeof(float) * (size_t)n);
        g->scale(ra, 0.1f, n); t->scale(ga, 0.1f, n); compare_rows("scale", v, n, ra, ga);
        g->silu_mul(a, b, ra, n); t->silu_mul(a, b, ga, n); compare_rows("silu_mul", v, n, ra, ga);
        {   // exp's whole range: -inf, underflow to 0 and to the least subnormal, overflow, inf, NaN
            static float w[N];
            for (int64_t i = 0; i < n; i++)
                w[i] = i % 37 == 5 ? -INFINITY : i % 41 == 7 ? NAN : i % 43 == 9 ? -103.5f : i % 47 == 3 ? INFINITY
                     : -120.0f + 215.0f * rnd_unit();
            memcpy(ra, w, sizeof(float) * (size_t)n); memcpy(ga, w, sizeof(float) * (size_t)n);
            const double sr = g->exp_shift_sum(ra, n, 0.0f), sg = t->exp_shift_sum(ga, n, 0.0f);
            compare_rows("exp_shift_sum(wide) values", v, n, ra, ga);
            checks++;
            if (memcmp(&sr, &sg, sizeof sr) != 0) fail("%s exp_shift_sum(wide) n=%lld: %.9g vs %.9g", ek_variant_name(v), (long long)n, sr, sg);
            g->silu_mul(w, b, ra, n); t->silu_mul(w, b, ga, n); compare_rows("silu_mul(wide)", v, n, ra, ga);
        }
        g->add(a, b, ra, n); t->add(a, b, ga, n); compare_rows("add", v, n, ra, ga);

        if (n % 2 == 0) {   // rope over heads of n elements, both pair layouts
            for (int64_t i = 0; i < n / 2; i++) { cs[i] = cosf((float)i * 0.37f); sn[i] = sinf((float)i * 0.37f); }
            for (int neox = 0; neox < 2; neox++) {
                memcpy(ra, a, sizeof(float) * (size_t)n); memcpy(ga, a, sizeof(float) * (size_t)n);
                g->rope(ra, 1, n, n / 2, cs, sn, neox); t->rope(ga, 1, n, n / 2, cs, sn, neox);
                compare_rows(neox ? "rope(neox)" : "rope", v, n, ra, ga);
            }
        }
        {
            const float r2 = g->dot_f32_f16(n, a, hb), s2 = t->dot_f32_f16(n, a, hb);
            checks++;
            if (memcmp(&r2, &s2, sizeof r2) != 0) fail("%s dot_f32_f16 n=%lld: %.9g vs %.9g", ek_variant_name(v), (long long)n, r2, s2);
        }
        memcpy(rb, c, sizeof(float) * (size_t)n); memcpy(gb, c, sizeof(float) * (size_t)n);
        g->mad_f32_f16(n, rb, hb, 0.3f); t->mad_f32_f16(n, gb, hb, 0.3f); compare_rows("mad_f32_f16", v, n, rb, gb);
        g->f32_to_f16(a, hr, n); t->f32_to_f16(a, hg, n);
        checks++;
        if (memcmp(hr, hg, 2 * (size_t)n) != 0) fail("%s f32_to_f16 n=%lld differs", ek_variant_name(v), (long long)n);
        g->f16_to_f32(ha, ra, n); t->f16_to_f32(ha, ga, n);
        checks++;
        if (memcmp(ra, ga, sizeof(float) * (size_t)n) != 0) fail("%s f16_to_f32 n=%lld differs", ek_variant_name(v), (long long)n);
    }
}

// Single-thread throughput of each variant's vec_dot: rows of 1024 columns (a small model's width)
// streamed from a matrix far larger than the caches, as in a decode step.
static void bench(int argc, char **argv) {
    const int64_t cols = 1024;
    const size_t matrix_bytes = 64u << 20;
    uint8_t *w = malloc(matrix_bytes), *xq = malloc(8 * 1024);
    float *x = malloc(sizeof(float) * cols);
    for (int64_t k = 0; k < cols; k++) x[k] = rnd_activation();
    const ek_variant all[] = { EK_VARIANT_SCALAR, EK_VARIANT_AVX2, EK_VARIANT_AVX512, EK_VARIANT_NEON };
    printf("%-6s", "type");
    for (size_t vi = 0; vi < 4; vi++) if (ek_variant_supported(all[vi])) printf(" %14s", ek_variant_name(all[vi]));
    printf("   (GB/s of weights, 1 thread)\n");
    for (size_t i = 0; i < sizeof weight_types / sizeof weight_types[0]; i++) {
        const int type = weight_types[i];
        const ek_type_traits *g = ek_traits_generic(type);
        bool wanted = argc == 0;
        for (int a = 0; a < argc; a++) wanted |= strcmp(argv[a], g->name) == 0;
        if (!wanted) continue;
        const size_t row = ek_row_size(type, cols);
        const int64_t rows = (int64_t)(matrix_bytes / row);
        for (int64_t r = 0; r < rows; r++) random_weights(type, w + (size_t)r * row, cols);
        ek_traits_generic(g->vec_dot_type)->from_float(x, xq, cols);
        printf("%-6s", g->name);
        for (size_t vi = 0; vi < 4; vi++) {
            if (!ek_variant_supported(all[vi])) continue;
            const ek_vec_dot_fn dot = ek_traits_variant(all[vi], type)->vec_dot;
            double best = 0;
            volatile float sink = 0;
            for (int rep = 0; rep < 5; rep++) {
                struct timespec t0, t1;
                clock_gettime(CLOCK_MONOTONIC, &t0);
                float acc = 0;
                for (int64_t r = 0; r < rows; r++) acc += dot(cols, w + (size_t)r * row, xq);
                clock_gettime(CLOCK_MONOTONIC, &t1);
                sink += acc;
                const double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
                const double gbs = (double)rows * (double)row / s / 1e9;
                if (gbs > best) best = gbs;
            }
            (void)sink;
            printf(" %14.2f", best);
        }
        printf("\n");
    }
    free(w); free(xq); free(x);
}

// Short-batch attention: one query against a KV head, head sizes the variants vectorise (multiples
// of 32) and others they hand to the twin, over histories that do and do not raise the maximum.
static void check_attention(ek_variant v) {
    enum { MAX_D = 256, MAX_KV = 300, KV_HEADS = 2 };
    static const int64_t dims[] = { 32, 40, 64, 96, 128, 256 };
    static const int64_t histories[] = { 1, 2, 7, 64, 300 };
    static ek_fp16 k[MAX_KV * KV_HEADS * MAX_D], vv[MAX_KV * KV_HEADS * MAX_D];
    static float q[MAX_D], ref[MAX_D], got[MAX_D];
    const ek_op_kernels *g = &ek_generic_ops, *t = ek_ops_variant(v);
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
        const int64_t d = dims[di], stride = KV_HEADS * d;
        for (int64_t i = 0; i < MAX_KV * stride; i++) { k[i] = ek_fp32_to_fp16(3.0f * rnd_activation()); vv[i] = ek_fp32_to_fp16(rnd_sym()); }
        for (int64_t i = 0; i < d; i++) q[i] = rnd_activation();
        for (size_t hi = 0; hi < sizeof histories / sizeof histories[0]; hi++) {
            const int64_t n_kv = histories[hi];
            g->attend_f16(d, q, k + d, vv + d, n_kv, stride, 0.125f, ref);
            t->attend_f16(d, q, k + d, vv + d, n_kv, stride, 0.125f, got);
            char what[64];
            snprintf(what, sizeof what, "attend_f16(n_kv=%lld)", (long long)n_kv);
            compare_rows(what, v, d, ref, got);
            // Groups of query heads sharing the KV head: each row must be its single-head result.
            static const int groups[] = { 1, 3, 7, 9 };
            static float gq[9 * MAX_D], gref[9 * MAX_D], gout[9 * MAX_D];
            for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++) {
                const int n_group = groups[gi];
                for (int64_t i = 0; i < n_group * d; i++) gq[i] = rnd_activation();
                for (int h = 0; h < n_group; h++) g->attend_f16(d, gq + h * d, k + d, vv + d, n_kv, stride, 0.125f, gref + h * d);
                t->attend_f16_group(d, n_group, gq, k + d, vv + d, n_kv, stride, 0.125f, gout);
                snprintf(what, sizeof what, "attend_f16_group(g=%d, n_kv=%lld)", n_group, (long long)n_kv);
                compare_rows(what, v, n_group * d, gref, gout);
            }
        }
    }
}

int main(int argc, char **argv) {
    const char *expect = NULL;
    if (argc > 1 && strcmp(argv[1], "--bench") == 0) { bench(argc - 2, argv + 2); return 0; }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc) expect = argv[++i];
        else { fprintf(stderr, "usage: %s [--expect VARIANT_LABEL] | --bench [TYPE...]\n", argv[0]); return 2; }
    }
    const ek_variant picked = ek_selected_variant();
    printf("kernel variant picked: %s\n", ek_variant_label(picked));
    if (expect && strcmp(expect, ek_variant_label(picked)) != 0) fail("expected the dispatcher to pick %s", expect);

    const ek_variant all[] = { EK_VARIANT_AVX2, EK_VARIANT_AVX512, EK_VARIANT_NEON };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const ek_variant v = all[i];
        if (!ek_variant_supported(v)) {
            printf("skip %s: %s\n", ek_variant_name(v),
#if defined(__x86_64__)
                   v == EK_VARIANT_NEON ? "not an aarch64 build" : "this CPU lacks its instructions"
#elif defined(__aarch64__)
                   v == EK_VARIANT_NEON ? "this CPU lacks its instructions" : "not an x86-64 build"
#else
                   "not built for this architecture"
#endif
            );
            continue;
        }
        printf("checking %s against the scalar kernels\n", ek_variant_label(v));
        check_quantizers(v);
        check_dots(v);
        check_matmul(v);
        check_batched(v, true);
        check_batched(v, false);
        check_ops(v);
        check_argmax(v);
        check_attention(v);
    }
    ek_select_variant(picked);
    printf("%d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
