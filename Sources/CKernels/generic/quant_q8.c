// 8-bit types: Q8_0 (weights and activations), Q8_1 and Q8_K (activations only).
// The quantizers reproduce what the reference engine computes on x86: Q8_0/Q8_1 store d = amax/127,
// multiply by 127/amax and round half to even (its AVX kernels; the model's logits are sensitive to
// every rounding, so the engines must agree bit for bit here); Q8_K scales by -127/max (max = the
// signed value of largest magnitude) and rounds half to even via nearest_int.
#include "generic.h"
#include <math.h>

void ek_dequantize_row_q8_0_generic(const void *restrict src, float *restrict dst, int64_t n) {
    const ek_block_q8_0 *restrict x = src;
    for (int64_t b = 0; b < n / EK_QK8_0; ++b, dst += EK_QK8_0) {
        const float d = ek_h2f(x[b].d);
        for (int j = 0; j < EK_QK8_0; ++j) dst[j] = (float)x[b].qs[j] * d;
    }
}

float ek_vec_dot_q8_0_q8_0_generic(int64_t n, const void *restrict w, const void *restrict x) {
    const ek_block_q8_0 *restrict a = w;
    const ek_block_q8_0 *restrict b = x;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / EK_QK8_0; ++i) {
        int32_t isum = 0;
        for (int j = 0; j < EK_QK8_0; ++j) isum += a[i].qs[j] * b[i].qs[j];
        sum += (float)isum * (ek_h2f(a[i].d) * ek_h2f(b[i].d));
    }
    return sum;
}

static inline float ek_block_amax(const float *restrict x, int n) {
    float amax = 0.0f;
    for (int j = 0; j < n; ++j) {
        const float v = fabsf(x[j]);
        amax = amax > v ? amax : v;
    }
    return amax;
}

// One 32-element block: d = amax/127, values times 127/amax rounded half to even. Returns the
// sum of the quantized values (Q8_1 stores it scaled).
static inline int32_t ek_quantize_block_q8(const float *restrict src, int8_t *restrict qs, float *restrict d) {
    const float amax = ek_block_amax(src, 32);
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    int32_t sum = 0;
    for (int j = 0; j < 32; ++j) {
        qs[j] = (int8_t)ek_nearest_int(src[j] * id);
        sum += qs[j];
    }
    *d = amax / 127.0f;
    return sum;
}

void ek_quantize_row_q8_0_generic(const float *restrict src, void *restrict dst, int64_t n) {
    ek_block_q8_0 *restrict y = dst;
    for (int64_t b = 0; b < n / EK_QK8_0; ++b, src += EK_QK8_0) {
        float d;
        ek_quantize_block_q8(src, y[b].qs, &d);
        y[b].d = ek_f2h(d);
    }
}

void ek_quantize_row_q8_1_generic(const float *restrict src, void *restrict dst, int64_t n) {
    ek_block_q8_1 *restrict y = dst;
    for (int64_t b = 0; b < n / EK_QK8_1; ++b, src += EK_QK8_1) {
        float d;
        const int32_t sum = ek_quantize_block_q8(src, y[b].qs, &d);
        y[b].d = ek_f2h(d);
        y[b].s = ek_f2h((float)sum * d);
    }
}

void ek_quantize_row_q8_K_generic(const float *restrict src, void *restrict dst, int64_t n) {
    ek_block_q8_K *restrict y = dst;
    for (int64_t b = 0; b < n / EK_QK_K; ++b, src += EK_QK_K) {
        // The first element of largest magnitude fixes the sign of d (so it maps to -127).
        float max = 0.0f, amax = 0.0f;
        for (int j = 0; j < EK_QK_K; ++j) {
            const float ax = fabsf(src[j]);
            if (ax > amax) { amax = ax; max = src[j]; }
        }
        if (amax == 0.0f) {
            // ggml leaves bsums untouched here; zero them so the block is fully defined.
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < EK_QK_K; ++j) {
            const int v = ek_nearest_int(iscale * src[j]);
            y[b].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < EK_QK_K / 16; ++g) {
            int32_t s = 0;
            for (int k = 0; k < 16; ++k) s += y[b].qs[g * 16 + k];
            y[b].bsums[g] = (int16_t)s;
        }
        y[b].d = 1.0f / iscale;
    }
}
