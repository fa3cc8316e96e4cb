// CPU feature detection for picking a kernel variant: cpuid + xgetbv on x86-64 (a feature is only
// usable if the OS saves its register state), getauxval(AT_HWCAP) on aarch64.
#include "dispatch.h"

#if defined(__x86_64__)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

typedef struct { uint32_t ecx1, ebx7, ecx7; bool ymm, zmm; } x86_features;

static x86_features x86_detect(void) {
    x86_features f = {0};
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    f.ecx1 = c;
    if (c & bit_OSXSAVE) {
        const uint64_t xcr0 = xgetbv0();
        f.ymm = (xcr0 & 0x6) == 0x6;        // SSE + AVX state
        f.zmm = (xcr0 & 0xe6) == 0xe6;      // + opmask, ZMM_Hi256, Hi16_ZMM
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) { f.ebx7 = b; f.ecx7 = c; }
    return f;
}

bool ek_cpu_has_avx2(void) {
    const x86_features f = x86_detect();
    return f.ymm && (f.ebx7 & bit_AVX2) && (f.ecx1 & bit_FMA) && (f.ecx1 & bit_F16C);
}

bool ek_cpu_has_avx512(void) {
    const x86_features f = x86_detect();
    const uint32_t need7 = bit_AVX512F | bit_AVX512BW | bit_AVX512VL;
    return ek_cpu_has_avx2() && f.zmm && (f.ebx7 & need7) == need7 && (f.ecx7 & bit_AVX512VNNI);
}
#endif

#if defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1UL << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1UL << 13)
#endif

bool ek_cpu_has_neon(void) { return (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0; }
bool ek_cpu_has_dotprod(void) { return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0; }
bool ek_cpu_has_i8mm(void) { return (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0; }
#endif
