// Kernel variant selection. Each variant starts from the scalar tables and overrides entries with
// its patch function; the first variant the CPU supports, in order of preference, is selected once.
#include "dispatch.h"
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define EK_VARIANT_COUNT 4

typedef struct {
    const char *name;
    bool (*cpu_has)(void);   // NULL: not built for this architecture
    ek_patch_fn patch;       // NULL: no overrides
} ek_variant_desc;

static bool always(void) { return true; }

static const ek_variant_desc variants[EK_VARIANT_COUNT] = {
    [EK_VARIANT_SCALAR] = { "scalar", always, NULL },
#if defined(__x86_64__)
    [EK_VARIANT_AVX2] = { "avx2", ek_cpu_has_avx2, ek_patch_avx2 },
    [EK_VARIANT_AVX512] = { "avx512", ek_cpu_has_avx512, ek_patch_avx512 },
#else
    [EK_VARIANT_AVX2] = { "avx2", NULL, NULL },
    [EK_VARIANT_AVX512] = { "avx512", NULL, NULL },
#endif
#if defined(__aarch64__)
    [EK_VARIANT_NEON] = { "neon", ek_cpu_has_neon, ek_patch_neon },
#else
    [EK_VARIANT_NEON] = { "neon", NULL, NULL },
#endif
};

// Preference order when picking automatically: the first supported wins.
static const ek_variant preference[EK_VARIANT_COUNT] = {
    EK_VARIANT_AVX512, EK_VARIANT_AVX2, EK_VARIANT_NEON, EK_VARIANT_SCALAR,
};

static ek_type_traits tables[EK_VARIANT_COUNT][EK_TYPE_LIMIT];
static ek_op_kernels op_tables[EK_VARIANT_COUNT];
static bool supported[EK_VARIANT_COUNT];
static const char *labels[EK_VARIANT_COUNT];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static _Atomic int selected = -1;

static bool valid(ek_variant v) { return (unsigned)v < EK_VARIANT_COUNT; }

static void build_tables(void) {
    for (int v = 0; v < EK_VARIANT_COUNT; ++v) {
        supported[v] = variants[v].cpu_has != NULL && variants[v].cpu_has();
        memcpy(tables[v], ek_generic_table, sizeof tables[v]);
        op_tables[v] = ek_generic_ops;
        labels[v] = variants[v].name;
        if (supported[v] && variants[v].patch) labels[v] = variants[v].patch(tables[v], &op_tables[v]);
    }
    for (int i = 0; i < EK_VARIANT_COUNT; ++i) {
        if (supported[preference[i]]) {
            atomic_store(&selected, (int)preference[i]);
            break;
        }
    }
}

bool ek_variant_supported(ek_variant v) {
    if (!valid(v)) return false;
    pthread_once(&tables_once, build_tables);
    return supported[v];
}

ek_variant ek_selected_variant(void) {
    pthread_once(&tables_once, build_tables);
    return (ek_variant)atomic_load_explicit(&selected, memory_order_relaxed);
}

const ek_type_traits *ek_dispatch_table(void) { return tables[ek_selected_variant()]; }
const ek_op_kernels *ek_ops(void) { return &op_tables[ek_selected_variant()]; }

const ek_type_traits *ek_traits_variant(ek_variant v, int type) {
    if (!ek_variant_supported(v) || type < 0 || type >= EK_TYPE_LIMIT || tables[v][type].name == NULL) return NULL;
    return &tables[v][type];
}

const ek_op_kernels *ek_ops_variant(ek_variant v) {
    return ek_variant_supported(v) ? &op_tables[v] : &op_tables[EK_VARIANT_SCALAR];
}

const char *ek_variant_name(ek_variant v) { return valid(v) ? variants[v].name : "unknown"; }

const char *ek_variant_label(ek_variant v) { return ek_variant_supported(v) ? labels[v] : ek_variant_name(v); }

bool ek_select_variant(ek_variant v) {
    if (!ek_variant_supported(v)) return false;
    atomic_store(&selected, (int)v);
    return true;
}
