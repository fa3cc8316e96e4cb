// Half and bfloat16 conversion of single values (rows go through the ops table in ops.c).
// Integer bit manipulation only, round to nearest even, with inf/nan/subnormals handled.
#include "generic/generic.h"

float ek_fp16_to_fp32(ek_fp16 h) { return ek_h2f(h); }
ek_fp16 ek_fp32_to_fp16(float f) { return ek_f2h(f); }
float ek_bf16_to_fp32(ek_bf16 h) { return ek_b2f(h); }
ek_bf16 ek_fp32_to_bf16(float f) { return ek_f2b(f); }
