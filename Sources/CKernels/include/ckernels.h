// edgelm C kernels: per-type traits, quantized dot products, element-wise ops and a worker pool.
// Every kernel has a scalar twin in generic/; SIMD variants live beside it and are chosen once
// at start-up into the dispatch table.
#ifndef EDGELM_CKERNELS_H
#define EDGELM_CKERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

// Tensor element types, numbered as in the GGUF format (ggml_type).
typedef enum {
    EK_F32 = 0,
    EK_F16 = 1,
    EK_Q4_0 = 2,
    EK_Q4_1 = 3,
    EK_Q5_0 = 6,
    EK_Q5_1 = 7,
    EK_Q8_0 = 8,
    EK_Q8_1 = 9,
    EK_Q2_K = 10,
    EK_Q3_K = 11,
    EK_Q4_K = 12,
    EK_Q5_K = 13,
    EK_Q6_K = 14,
    EK_Q8_K = 15,
    EK_BF16 = 30,
    EK_TYPE_LIMIT = 64,
} ek_type;

// Block layouts (byte-exact with GGUF). QK = elements per block.
#define EK_QK4_0 32
#define EK_QK4_1 32
#define EK_QK5_0 32
#define EK_QK5_1 32
#define EK_QK8_0 32
#define EK_QK8_1 32
#define EK_QK_K 256
#define EK_K_SCALE_SIZE 12

typedef uint16_t ek_fp16;
typedef uint16_t ek_bf16;

typedef struct { ek_fp16 d; uint8_t qs[EK_QK4_0 / 2]; } ek_block_q4_0;
typedef struct { ek_fp16 d; ek_fp16 m; uint8_t qs[EK_QK4_1 / 2]; } ek_block_q4_1;
typedef struct { ek_fp16 d; uint8_t qh[4]; uint8_t qs[EK_QK5_0 / 2]; } ek_block_q5_0;
typedef struct { ek_fp16 d; ek_fp16 m; uint8_t qh[4]; uint8_t qs[EK_QK5_1 / 2]; } ek_block_q5_1;
typedef struct { ek_fp16 d; int8_t qs[EK_QK8_0]; } ek_block_q8_0;
typedef struct { ek_fp16 d; ek_fp16 s; int8_t qs[EK_QK8_1]; } ek_block_q8_1;   // s = d * sum(qs)
typedef struct { uint8_t scales[EK_QK_K / 16]; uint8_t qs[EK_QK_K / 4]; ek_fp16 d; ek_fp16 dmin; } ek_block_q2_K;
typedef struct { uint8_t hmask[EK_QK_K / 8]; uint8_t qs[EK_QK_K / 4]; uint8_t scales[12]; ek_fp16 d; } ek_block_q3_K;
typedef struct { ek_fp16 d; ek_fp16 dmin; uint8_t scales[EK_K_SCALE_SIZE]; uint8_t qs[EK_QK_K / 2]; } ek_block_q4_K;
typedef struct { ek_fp16 d; ek_fp16 dmin; uint8_t scales[EK_K_SCALE_SIZE]; uint8_t qh[EK_QK_K / 8]; uint8_t qs[EK_QK_K / 2]; } ek_block_q5_K;
typedef struct { uint8_t ql[EK_QK_K / 2]; uint8_t qh[EK_QK_K / 4]; int8_t scales[EK_QK_K / 16]; ek_fp16 d; } ek_block_q6_K;
typedef struct { float d; int8_t qs[EK_QK_K]; int16_t bsums[EK_QK_K / 16]; } ek_block_q8_K;

// Converts a row of `n` elements (n a multiple of the block size) to f32.
typedef void (*ek_to_float_fn)(const void *restrict src, float *restrict dst, int64_t n);
// Quantizes a row of activations into the type's block format.
typedef void (*ek_from_float_fn)(const float *restrict src, void *restrict dst, int64_t n);
// Dot product of one weight row `w` (the type) with one activation row `x` (its vec_dot_type).
typedef float (*ek_vec_dot_fn)(int64_t n, const void *restrict w, const void *restrict x);
// Dot products of one weight row with `nx` (1...EK_TILE_TOKENS) activation rows `x_stride` bytes
// apart, into s[0..<nx]: the weights are decoded once for several tokens. Each s[i] must equal
// vec_dot(n, w, x + i * x_stride) bit for bit, so a token's result never depends on its batch.
#define EK_TILE_TOKENS 4
typedef void (*ek_vec_dot_tile_fn)(int64_t n, const void *restrict w, const void *restrict x, size_t x_stride,
                                   int nx, float *restrict s);
// Dot products of `nw` (1...EK_TILE_ROWS) weight rows `w_stride` bytes apart with one activation
// row, into s[0..<nw]: a decode step's independent row sums interleave and the activations' scales
// are read once. Each s[i] must equal vec_dot(n, w + i * w_stride, x) bit for bit.
#define EK_TILE_ROWS 4
typedef void (*ek_vec_dot_rows_fn)(int64_t n, const void *restrict w, size_t w_stride, int nw,
                                   const void *restrict x, float *restrict s);
// Both at once for prompts: `nw` (1...EK_TILE_ROWS) weight rows times `nx` (1...EK_TILE_TOKENS)
// activation rows into s[r * EK_TILE_TOKENS + t], each equal to vec_dot bit for bit; the weights are
// decoded once for the tokens and the activations loaded once for the rows.
typedef void (*ek_vec_dot_block_fn)(int64_t n, const void *restrict w, size_t w_stride, int nw,
                                    const void *restrict x, size_t x_stride, int nx, float *restrict s);
// A decode step of `nx` (1...EK_TILE_TOKENS) sequences over `rows` consecutive weight rows:
// y[t * y_stride + r] = row r · token t (+ bias[r]), each equal to vec_dot bit for bit.
typedef void (*ek_matmul_span_fn)(int64_t n, const void *restrict w, int64_t rows, const void *restrict x,
                                  size_t x_stride, int nx, float *restrict y, int64_t y_stride, const float *restrict bias);

typedef struct {
    const char *name;       // "q4_K"
    int32_t block_size;     // elements per block
    int32_t type_size;      // bytes per block
    ek_type vec_dot_type;   // what activations are quantized to before vec_dot
    ek_to_float_fn to_float;       // NULL for activation-only types (Q8_1, Q8_K)
    ek_from_float_fn from_float;   // set for types used as vec_dot_type (F32, F16, BF16, Q8_0, Q8_1, Q8_K)
    ek_vec_dot_fn vec_dot;         // NULL for activation-only types
    ek_vec_dot_tile_fn vec_dot_tile;  // NULL: vec_dot once per token
    ek_vec_dot_rows_fn vec_dot_rows;  // NULL: vec_dot once per row
    ek_vec_dot_block_fn vec_dot_block;  // NULL: token tiles row by row
    ek_matmul_span_fn matmul_span;      // NULL: decode steps through vec_dot_block or vec_dot_rows
    ek_matmul_span_fn matmul_prompt;    // a span of rows times more than EK_TILE_TOKENS tokens; NULL: block kernels
} ek_type_traits;

// Traits of `type` in the selected kernel variant, or NULL if the type is unknown to the engine.
const ek_type_traits *ek_traits(int type);
// Traits of the scalar twins, whatever variant is selected (the reference for tests).
const ek_type_traits *ek_traits_generic(int type);

// Bytes of a row of `n` elements of `type` (n must be a multiple of the block size).
size_t ek_row_size(int type, int64_t n);

// Scalar half/bfloat conversion (round to nearest even).
float ek_fp16_to_fp32(ek_fp16 h);
ek_fp16 ek_fp32_to_fp16(float f);
float ek_bf16_to_fp32(ek_bf16 h);
ek_bf16 ek_fp32_to_bf16(float f);

// ---------------------------------------------------------------------------------------------
// Kernel variants and dispatch.

typedef enum { EK_VARIANT_SCALAR = 0, EK_VARIANT_AVX2 = 1, EK_VARIANT_AVX512 = 2, EK_VARIANT_NEON = 3 } ek_variant;

// The variant in use (picked once from the CPU's features, or forced by ek_select_variant).
ek_variant ek_selected_variant(void);
const char *ek_variant_name(ek_variant v);
// The variant's name with the optional extensions its kernels use here, e.g. "neon+dotprod".
const char *ek_variant_label(ek_variant v);
// True if this CPU can run `v`.
bool ek_variant_supported(ek_variant v);
// Forces a variant; returns false (and changes nothing) if the CPU lacks it.
bool ek_select_variant(ek_variant v);
// Traits of `type` in variant `v` whatever variant is selected; NULL if the CPU lacks `v` or the
// type is unknown (for comparing variants with each other).
const ek_type_traits *ek_traits_variant(ek_variant v, int type);

// ---------------------------------------------------------------------------------------------
// Worker pool: persistent threads; a job is split into `n_tasks` calls of fn(ctx, task, n_tasks).

typedef struct ek_pool ek_pool;
typedef void (*ek_task_fn)(void *ctx, int task, int n_tasks);
ek_pool *ek_pool_create(int n_threads);
void ek_pool_destroy(ek_pool *pool);
int ek_pool_threads(const ek_pool *pool);
// Runs fn for tasks 0..<n_tasks on the pool's threads (the caller takes part) and waits.
void ek_pool_run(ek_pool *pool, ek_task_fn fn, void *ctx, int n_tasks);
// CPUs in this process's affinity mask, or 0 if unknown.
int ek_affinity_cpus(void);
// Reads `bytes` (a multiple of 64) of `p` split over the pool's threads and returns a checksum:
// a pure read stream, for measuring memory bandwidth as the decode roofline uses it.
uint64_t ek_read_stream(ek_pool *pool, const void *p, size_t bytes);

// ---------------------------------------------------------------------------------------------
// Matrix multiplication over quantized weights.
//
// w: `rows` rows of `cols` elements of `wtype`, row-major, contiguous.
// xq: `ntok` activation rows already quantized to ek_traits(wtype)->vec_dot_type, `xq_stride` bytes apart.
// y[t * y_stride + r] = dot(w[r], xq[t])   (+ bias[r] if bias != NULL)
void ek_matmul(ek_pool *pool, int wtype, const void *w, int64_t rows, int64_t cols,
               const void *xq, size_t xq_stride, int64_t ntok,
               float *y, int64_t y_stride, const float *bias);

// Several matrices reading the same activations (Q, K and V; gate and up) in one pass of the pool,
// so the threads synchronise once. Every target's vec_dot_type must be the type of `xq`.
#define EK_MATMUL_MAX_TARGETS 4
typedef struct {
    int wtype;
    const void *w;
    int64_t rows;
    float *y;
    int64_t y_stride;
    const float *bias;
} ek_matmul_target;
void ek_matmul_many(ek_pool *pool, const ek_matmul_target *targets, int n_targets, int64_t cols,
                    const void *xq, size_t xq_stride, int64_t ntok);

// Quantizes `ntok` rows of `cols` floats (x_stride floats apart) to `type`, rows `dst_stride` bytes apart.
void ek_quantize_rows(int type, const float *x, int64_t x_stride, int64_t ntok, int64_t cols,
                      void *dst, size_t dst_stride);

// ---------------------------------------------------------------------------------------------
// Element-wise and attention ops (f32 unless stated).

// y = x / sqrt(mean(x^2) + eps) * w  (w may be NULL)
void ek_rms_norm(const float *x, const float *w, float *y, int64_t n, float eps);
// Rotary embedding in place over `n_heads` heads of `head_dim` at position `pos`.
// neox: rotate pairs (i, i + rot_dim/2); otherwise adjacent pairs (2i, 2i+1).
void ek_rope(float *x, int64_t n_heads, int64_t head_dim, int64_t rot_dim, int64_t pos,
             float freq_base, bool neox);
// In-place softmax over n values; returns nothing.
void ek_softmax(float *x, int64_t n);
// out = silu(gate) * up
void ek_silu_mul(const float *gate, const float *up, float *out, int64_t n);
void ek_add(const float *a, const float *b, float *out, int64_t n);
// Index of the largest value (the first one on ties).
int64_t ek_argmax(const float *x, int64_t n);
// log(sum(exp(x))), computed stably in double.
double ek_logsumexp(const float *x, int64_t n);
// Indices of the k largest values, largest first (earlier index first on ties); returns min(k, n).
int64_t ek_top_k(const float *x, int64_t n, int64_t k, int32_t *ids);
void ek_fp32_to_fp16_row(const float *x, ek_fp16 *y, int64_t n);
void ek_fp16_to_fp32_row(const ek_fp16 *x, float *y, int64_t n);

// Causal attention of `n_q` query tokens at positions pos0..pos0+n_q-1 against an f16 KV cache
// holding positions 0..pos0+n_q-1 for one layer.
// q:   [n_q][n_head][head_dim]          (f32, already rotated)
// k,v: [n_ctx_cached][n_head_kv][head_dim] (f16)
// out: [n_q][n_head][head_dim]
// scratch: n_head * (pos0 + n_q) floats.
// wide: the batch belongs to a prompt of at least EK_ATTENTION_WIDE_BATCH tokens, evaluated
// entirely in f32; otherwise the query and the running sum of values are kept in f16, as the
// reference engine does for decode steps and short prompts.
#define EK_ATTENTION_WIDE_BATCH 64
void ek_attention(ek_pool *pool, const float *q, const ek_fp16 *k, const ek_fp16 *v, float *out,
                  int64_t n_q, int64_t pos0, int64_t n_head, int64_t n_head_kv, int64_t head_dim,
                  float scale, float *scratch, bool wide);

// One decode step of `n_seq` independent sequences, each with its own KV cache: sequence i's query
// q[i] (laid out as ek_attention's with n_q = 1) attends to positions 0...seqs[i].pos of its cache,
// with the short-batch numerics, exactly as ek_attention(n_q = 1, pos0 = seqs[i].pos) would. All
// sequences' heads share one pass of the pool. head_dim <= 1024.
typedef struct {
    const ek_fp16 *k, *v;   // the sequence's cache for this layer
    int64_t pos;            // the query's position; the cache holds 0...pos
} ek_attention_seq;
void ek_attention_decode(ek_pool *pool, const float *q, const ek_attention_seq *seqs, int64_t n_seq, float *out,
                         int64_t n_head, int64_t n_head_kv, int64_t head_dim, float scale);

#ifdef __cplusplus
}
#endif
#endif
