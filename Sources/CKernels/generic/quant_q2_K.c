// Q2_K: super-block of 256 = 16 sub-blocks of 16. Each sub-block has a 4-bit scale (low nibble) and
// a 4-bit min (high nibble); value = d * scale * q - dmin * min, q in 0..3. Each 32-byte run of qs
// holds four 32-element slices at bit shifts 0, 2, 4, 6.
#include "generic.h"

static inline void ek_q2_K_codes(const ek_block_q2_K *restrict x, int8_t a[EK_QK_K]) {
    for (int half = 0; half < 2; ++half) {
        const uint8_t *restrict q = x->qs + 32 * half;
        for (int s = 0; s < 4; ++s) {
            for (int l = 0; l < 32; ++l) a[128 * half + 32 * s + l] = (int8_t)((q[l] >> (2 * s)) & 3);
        }
    }
}

void ek_dequantize_row_q2_K_generic(const void *restrict src, float *restrict dst, int64_t n) {
    const ek_block_q2_K *restrict x = src;
    int8_t a[EK_QK_K];
    for (int64_t b = 0; b < n / EK_QK_K; ++b, dst += EK_QK_K) {
        const float d = ek_h2f(x[b].d);
        const float dmin = ek_h2f(x[b].dmin);
        ek_q2_K_codes(&x[b], a);
        for (int g = 0; g < 16; ++g) {
            const float dl = d * (float)(x[b].scales[g] & 0x0f);
            const float ml = dmin * (float)(x[b].scales[g] >> 4);
            for (int l = 0; l < 16; ++l) dst[16 * g + l] = dl * (float)a[16 * g + l] - ml;
        }
    }
}

float ek_vec_dot_q2_K_q8_K_generic(int64_t n, const void *restrict w, const void *restrict x) {
    const ek_block_q2_K *restrict a = w;
    const ek_block_q8_K *restrict b = x;
    int8_t q[EK_QK_K];
    float sum = 0.0f;
    for (int64_t i = 0; i < n / EK_QK_K; ++i) {
        ek_q2_K_codes(&a[i], q);
        // The min term only needs the activations' per-16 sums, which Q8_K carries.
        int32_t summs = 0;
        for (int g = 0; g < 16; ++g) summs += b[i].bsums[g] * (a[i].scales[g] >> 4);
        int32_t isum = 0;
        for (int g = 0; g < 16; ++g) {
            int32_t s = 0;
            for (int l = 0; l < 16; ++l) s += b[i].qs[16 * g + l] * q[16 * g + l];
            isum += (a[i].scales[g] & 0x0f) * s;
        }
        const float dall = b[i].d * ek_h2f(a[i].d);
        const float dmin = b[i].d * ek_h2f(a[i].dmin);
        sum += dall * (float)isum - dmin * (float)summs;
    }
    return sum;
}
