// A read-only memory stream over the worker pool: what a decode step does to the weights, without
// the arithmetic, so its rate is the bandwidth ceiling the decode speed is compared with.
#include "ckernels.h"
#include <stdatomic.h>

typedef struct {
    const uint64_t *p;
    size_t words;
    _Atomic uint64_t sum;
} stream_job;

static void stream_task(void *ctx, int task, int n_tasks) {
    stream_job *j = ctx;
    const size_t per = (j->words / (size_t)n_tasks) & ~(size_t)7;
    const size_t w0 = per * (size_t)task, w1 = task == n_tasks - 1 ? j->words : w0 + per;
    // Eight independent accumulators keep enough loads in flight; xor so nothing saturates.
    uint64_t a[8] = {0};
    for (size_t i = w0; i < w1; i += 8) {
        for (int k = 0; k < 8; k++) a[k] ^= j->p[i + (size_t)k];
    }
    atomic_fetch_xor(&j->sum, a[0] ^ a[1] ^ a[2] ^ a[3] ^ a[4] ^ a[5] ^ a[6] ^ a[7]);
}

uint64_t ek_read_stream(ek_pool *pool, const void *p, size_t bytes) {
    stream_job job = { .p = p, .words = bytes / 8 };
    atomic_init(&job.sum, 0);
    ek_pool_run(pool, stream_task, &job, ek_pool_threads(pool));
    return atomic_load(&job.sum);
}
