// Kernel variant selection. Each variant is the generic table with some entries overridden by a
// patch function; a SIMD variant is added by giving it a cpu check and a patch in `variants`
// (e.g. ek_patch_avx2 from x86/), nothing else changes.
#include "dispatch.h"
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define EK_VARIANT_COUNT 4

typedef struct {
    const char *name;
    bool built;                          // kernels compiled into this binary
    bool (*cpu_has)(void);               // NULL: every CPU that runs the binary
    void (*patch)(ek_type_traits *t);    // overrides generic entries; NULL: none
} ek_variant_desc;

static const ek_variant_desc variants[EK_VARIANT_COUNT] = {
    [EK_VARIANT_SCALAR] = { "scalar", true, NULL, NULL },
    [EK_VARIANT_AVX2] = { "avx2", false, NULL, NULL },
    [EK_VARIANT_AVX512] = { "avx512", false, NULL, NULL },
    [EK_VARIANT_NEON] = { "neon", false, NULL, NULL },
};

// Preference order when picking automatically: the first supported wins.
static const ek_variant preference[EK_VARIANT_COUNT] = {
    EK_VARIANT_AVX512, EK_VARIANT_AVX2, EK_VARIANT_NEON, EK_VARIANT_SCALAR,
};

static ek_type_traits tables[EK_VARIANT_COUNT][EK_TYPE_LIMIT];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static _Atomic int selected = -1;

static bool valid(ek_variant v) { return (unsigned)v < EK_VARIANT_COUNT; }

bool ek_variant_supported(ek_variant v) {
    if (!valid(v) || !variants[v].built) return false;
    return variants[v].cpu_has == NULL || variants[v].cpu_has();
}

static void build_tables(void) {
    for (int v = 0; v < EK_VARIANT_COUNT; ++v) {
        memcpy(tables[v], ek_generic_table, sizeof tables[v]);
        if (ek_variant_supported((ek_variant)v) && variants[v].patch) variants[v].patch(tables[v]);
    }
    for (int i = 0; i < EK_VARIANT_COUNT; ++i) {
        if (ek_variant_supported(preference[i])) {
            atomic_store(&selected, (int)preference[i]);
            break;
        }
    }
}

ek_variant ek_selected_variant(void) {
    pthread_once(&tables_once, build_tables);
    return (ek_variant)atomic_load(&selected);
}

const ek_type_traits *ek_dispatch_table(void) { return tables[ek_selected_variant()]; }

const char *ek_variant_name(ek_variant v) { return valid(v) ? variants[v].name : "unknown"; }

bool ek_select_variant(ek_variant v) {
    if (!ek_variant_supported(v)) return false;
    pthread_once(&tables_once, build_tables);
    atomic_store(&selected, (int)v);
    return true;
}
