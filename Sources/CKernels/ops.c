// Element-wise ops of the transformer. The public functions call the selected variant's inner
// loops; the scalar twins below are the reference. Accumulations that decide numerics (the RMS
// of a row, the softmax denominator) are taken in double, as the reference engine does.
#include "dispatch.h"
#include "exp.h"
#include "half.h"
#include <math.h>

// ---- scalar twins -------------------------------------------------------------------------

static double sum_squares_generic(const float *x, int64_t n) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    return sum;
}

static void scale_mul_generic(const float *x, float scale, const float *w, float *y, int64_t n) {
    if (w) for (int64_t i = 0; i < n; i++) y[i] = x[i] * scale * w[i];
    else for (int64_t i = 0; i < n; i++) y[i] = x[i] * scale;
}

static double exp_shift_sum_generic(float *x, int64_t n, float max) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) { x[i] = ek_expf(x[i] - max); sum += (double)x[i]; }
    return sum;
}

static float max_generic(const float *x, int64_t n) {
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) if (x[i] > max) max = x[i];
    return max;
}

static void scale_generic(float *x, float s, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] *= s;
}

static void silu_mul_generic(const float *gate, const float *up, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        out[i] = g / (1.0f + ek_expf(-g)) * up[i];
    }
}

static void add_generic(const float *a, const float *b, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

static void rope_generic(float *x, int64_t n_heads, int64_t head_dim, int64_t pairs, const float *cs, const float *sn, bool neox) {
    for (int64_t h = 0; h < n_heads; h++) {
        float *v = x + h * head_dim;
        for (int64_t i = 0; i < pairs; i++) {
            const int64_t a = neox ? i : 2 * i;
            const int64_t b = neox ? i + pairs : 2 * i + 1;
            const float x0 = v[a], x1 = v[b];
            v[a] = x0 * cs[i] - x1 * sn[i];
            v[b] = x0 * sn[i] + x1 * cs[i];
        }
    }
}

// Short batches: the query rounded to f16; each score the products (rounded to f32) summed in
// element order; an online softmax whose value accumulator is rounded to f16 after every step:
// acc = f16(acc * ms) on a new maximum, acc = f16(acc + v * w) (unfused) for every position; the
// exponentials are the engine's ek_expf (glibc's algorithm), so no variant depends on the libm.
// (The reference engine's AVX-512 build folds 64 fused lanes instead; emulating that alone, with
// our matmul order unchanged, moved one SmolLM2 token past a near-tie, so the element order stays
// until the matmuls follow the reference's order too.)
float ek_attention_dot_f16(int64_t n, const ek_fp16 *a, const ek_fp16 *b) {
    float s = 0.0f;
    for (int64_t c = 0; c < n; c++) s += ek_half_to_float(a[c]) * ek_half_to_float(b[c]);
    return s;
}

static void attend_f16_generic(int64_t d, const float *q, const ek_fp16 *k, const ek_fp16 *v, int64_t n_kv,
                               int64_t kv_stride, float scale, float *out) {
    ek_fp16 q16[EK_ATTENTION_MAX_HEAD_DIM], acc[EK_ATTENTION_MAX_HEAD_DIM];
    for (int64_t c = 0; c < d; c++) { q16[c] = ek_float_to_half(q[c]); acc[c] = 0; }
    float m = -INFINITY, sum = 0.0f;
    for (int64_t t = 0; t < n_kv; t++) {
        const float s = ek_attention_dot_f16(d, q16, k + t * kv_stride) * scale;
        float ms = 1.0f, vs = 1.0f;
        if (s > m) {
            ms = ek_expf(m - s);  // 0 on the first step
            m = s;
            for (int64_t c = 0; c < d; c++) acc[c] = ek_float_to_half(ek_half_to_float(acc[c]) * ms);
        } else {
            vs = ek_expf(s - m);
        }
        const ek_fp16 *vr = v + t * kv_stride;
        for (int64_t c = 0; c < d; c++) acc[c] = ek_float_to_half(ek_half_to_float(acc[c]) + ek_half_to_float(vr[c]) * vs);
        sum = sum * ms + vs;
    }
    const float inv = sum == 0.0f ? 0.0f : 1.0f / sum;
    for (int64_t c = 0; c < d; c++) out[c] = ek_half_to_float(acc[c]) * inv;
}

static void attend_f16_group_generic(int64_t d, int g, const float *q, const ek_fp16 *k, const ek_fp16 *v, int64_t n_kv,
                                     int64_t kv_stride, float scale, float *out) {
    for (int h = 0; h < g; h++) attend_f16_generic(d, q + h * d, k, v, n_kv, kv_stride, scale, out + h * d);
}

// The f32 attention path (long prompts) is the engine's own numerics, laid out for SIMD: 16 fused
// multiply-add lanes (element i goes to lane i % 16), folded pairwise (lane j += lane j + w for
// w = 8, 4, 2, 1), then the last n % 16 elements fused in one by one. Every variant computes
// exactly this, so results do not depend on the CPU.
static float dot_f32_f16_generic(int64_t n, const float *a, const ek_fp16 *b) {
    float lane[EK_CANONICAL_LANES] = {0};
    const int64_t body = n - n % EK_CANONICAL_LANES;
    for (int64_t i = 0; i < body; i += EK_CANONICAL_LANES) {
        for (int l = 0; l < EK_CANONICAL_LANES; l++) lane[l] = fmaf(a[i + l], ek_half_to_float(b[i + l]), lane[l]);
    }
    for (int w = EK_CANONICAL_LANES / 2; w > 0; w /= 2) {
        for (int l = 0; l < w; l++) lane[l] = lane[l] + lane[l + w];
    }
    float s = lane[0];
    for (int64_t i = body; i < n; i++) s = fmaf(a[i], ek_half_to_float(b[i]), s);
    return s;
}

static void mad_f32_f16_generic(int64_t n, float *acc, const ek_fp16 *v, float s) {
    for (int64_t c = 0; c < n; c++) acc[c] = fmaf(ek_half_to_float(v[c]), s, acc[c]);
}

static void f32_to_f16_generic(const float *x, ek_fp16 *y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = ek_float_to_half(x[i]);
}

static void f16_to_f32_generic(const ek_fp16 *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = ek_half_to_float(x[i]);
}

const ek_op_kernels ek_generic_ops = {
    .sum_squares = sum_squares_generic,
    .scale_mul = scale_mul_generic,
    .exp_shift_sum = exp_shift_sum_generic,
    .max = max_generic,
    .scale = scale_generic,
    .silu_mul = silu_mul_generic,
    .add = add_generic,
    .rope = rope_generic,
    .attend_f16 = attend_f16_generic,
    .attend_f16_group = attend_f16_group_generic,
    .dot_f32_f16 = dot_f32_f16_generic,
    .mad_f32_f16 = mad_f32_f16_generic,
    .f32_to_f16 = f32_to_f16_generic,
    .f16_to_f32 = f16_to_f32_generic,
};

// ---- public ops ---------------------------------------------------------------------------

void ek_rms_norm(const float *x, const float *w, float *y, int64_t n, float eps) {
    const ek_op_kernels *k = ek_ops();
    const double sum = k->sum_squares(x, n);
    const float scale = 1.0f / sqrtf((float)(sum / (double)n) + eps);
    k->scale_mul(x, scale, w, y, n);
}

void ek_rope(float *x, int64_t n_heads, int64_t head_dim, int64_t rot_dim, int64_t pos, float freq_base, bool neox) {
    enum { MAX_PAIRS = 512 };
    float cs[MAX_PAIRS], sn[MAX_PAIRS];
    const int64_t pairs = rot_dim / 2 < MAX_PAIRS ? rot_dim / 2 : MAX_PAIRS;
    // theta_i = pos * base^(-2i/d), built by repeated multiplication like the reference so the
    // rounding of each angle matches it.
    const float theta_scale = powf(freq_base, -2.0f / (float)rot_dim);
    float theta = (float)pos;
    for (int64_t i = 0; i < pairs; i++) {
        cs[i] = cosf(theta);
        sn[i] = sinf(theta);
        theta *= theta_scale;
    }
    ek_ops()->rope(x, n_heads, head_dim, pairs, cs, sn, neox);
}

void ek_softmax(float *x, int64_t n) {
    const ek_op_kernels *k = ek_ops();
    const double sum = k->exp_shift_sum(x, n, k->max(x, n));
    k->scale(x, (float)(1.0 / sum), n);
}

void ek_silu_mul(const float *gate, const float *up, float *out, int64_t n) { ek_ops()->silu_mul(gate, up, out, n); }

void ek_add(const float *a, const float *b, float *out, int64_t n) { ek_ops()->add(a, b, out, n); }

void ek_fp32_to_fp16_row(const float *x, ek_fp16 *y, int64_t n) { ek_ops()->f32_to_f16(x, y, n); }

void ek_fp16_to_fp32_row(const ek_fp16 *x, float *y, int64_t n) { ek_ops()->f16_to_f32(x, y, n); }

// The first index of the largest value, NaN never larger (a NaN first element: nothing is larger, 0):
// the op kernels' max (SIMD where there is one), then the first element equal to it.
int64_t ek_argmax(const float *x, int64_t n) {
    if (n <= 1 || x[0] != x[0]) return 0;
    const float max = ek_ops()->max(x, n);
    for (int64_t i = 0; i < n; i++) if (x[i] == max) return i;
    return 0;
}

double ek_logsumexp(const float *x, int64_t n) {
    const float max = x[ek_argmax(x, n)];
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)expf(x[i] - max);
    return (double)max + log(sum);
}

int64_t ek_top_k(const float *x, int64_t n, int64_t k, int32_t *ids) {
    if (k > n) k = n;
    int64_t have = 0;
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        if (have == k && v <= x[ids[k - 1]]) continue;
        int64_t j = have < k ? have++ : k - 1;
        while (j > 0 && x[ids[j - 1]] < v) { ids[j] = ids[j - 1]; j--; }
        ids[j] = (int32_t)i;
    }
    return have;
}
