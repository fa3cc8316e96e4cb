// Half and bfloat16 conversion, scalar and per row. Integer bit manipulation only (no F16C/NEON
// intrinsics), round to nearest even, with inf/nan/subnormals handled.
#include "generic/generic.h"

float ek_fp16_to_fp32(ek_fp16 h) { return ek_h2f(h); }
ek_fp16 ek_fp32_to_fp16(float f) { return ek_f2h(f); }
float ek_bf16_to_fp32(ek_bf16 h) { return ek_b2f(h); }
ek_bf16 ek_fp32_to_bf16(float f) { return ek_f2b(f); }

void ek_fp32_to_fp16_row(const float *x, ek_fp16 *y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = ek_f2h(x[i]);
}

void ek_fp16_to_fp32_row(const ek_fp16 *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = ek_h2f(x[i]);
}
