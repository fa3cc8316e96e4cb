// Element-wise ops of the transformer, scalar. Accumulations that decide numerics (the RMS of a
// row, the softmax denominator) are taken in double, as the reference engine does.
#include "ckernels.h"
#include <math.h>

void ek_rms_norm(const float *x, const float *w, float *y, int64_t n, float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    const float scale = 1.0f / sqrtf((float)(sum / (double)n) + eps);
    if (w) for (int64_t i = 0; i < n; i++) y[i] = x[i] * scale * w[i];
    else for (int64_t i = 0; i < n; i++) y[i] = x[i] * scale;
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
    for (int64_t h = 0; h < n_heads; h++) {
        float *v = x + h * head_dim;
        for (int64_t i = 0; i < pairs; i++) {
            const int64_t a = neox ? i : 2 * i;
            const int64_t b = neox ? i + rot_dim / 2 : 2 * i + 1;
            const float x0 = v[a], x1 = v[b];
            v[a] = x0 * cs[i] - x1 * sn[i];
            v[b] = x0 * sn[i] + x1 * cs[i];
        }
    }
}

void ek_softmax(float *x, int64_t n) {
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) if (x[i] > max) max = x[i];
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) { x[i] = expf(x[i] - max); sum += (double)x[i]; }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

void ek_silu_mul(const float *gate, const float *up, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void ek_add(const float *a, const float *b, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

int64_t ek_argmax(const float *x, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++) if (x[i] > x[best]) best = i;
    return best;
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
