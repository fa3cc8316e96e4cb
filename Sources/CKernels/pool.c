// Persistent worker pool. The caller takes part in every job and workers claim tasks from a
// shared counter, so a job finishes as soon as its tasks are done, even if a worker was
// descheduled and never woke for it (the machine may be shared). Between jobs a worker spins
// briefly, since decode issues hundreds of small jobs per token and a futex wake-up per job would
// cost more than the work, then sleeps on a condition variable so an idle daemon uses no CPU.
#define _GNU_SOURCE
#include "ckernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ek_cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define ek_cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define ek_cpu_relax() ((void)0)
#endif

enum { EK_SPIN_BEFORE_YIELD = 256, EK_YIELDS_BEFORE_SLEEP = 2000 };

struct ek_pool {
    int n_threads;                      // including the caller
    pthread_t *threads;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    // (job generation << 32) | next unclaimed task: a worker claims a task only if the job it
    // saw is still the current one, so a late worker can never run a task of another job.
    _Atomic uint64_t claim;
    _Atomic int done;                   // tasks finished in the current job
    _Atomic int sleepers;
    _Atomic bool stop;
    ek_task_fn fn;
    void *ctx;
    int n_tasks;
};

static void run_tasks(ek_pool *p, uint32_t gen) {
    for (;;) {
        uint64_t v = atomic_load_explicit(&p->claim, memory_order_acquire);
        if ((uint32_t)(v >> 32) != gen) return;
        const int n_tasks = p->n_tasks;
        const ek_task_fn fn = p->fn;
        void *const ctx = p->ctx;
        const int t = (int)(uint32_t)v;
        if (t >= n_tasks) return;
        if (!atomic_compare_exchange_weak_explicit(&p->claim, &v, v + 1, memory_order_acq_rel, memory_order_relaxed)) continue;
        fn(ctx, t, n_tasks);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
    }
}

static void *worker_main(void *arg) {
    ek_pool *p = arg;
    uint32_t seen = 0;
    for (;;) {
        uint32_t gen;
        int spins = 0;
        while ((gen = (uint32_t)(atomic_load_explicit(&p->claim, memory_order_acquire) >> 32)) == seen) {
            if (atomic_load_explicit(&p->stop, memory_order_relaxed)) return NULL;
            if (++spins < EK_SPIN_BEFORE_YIELD) { ek_cpu_relax(); continue; }
            if (spins < EK_SPIN_BEFORE_YIELD + EK_YIELDS_BEFORE_SLEEP) { sched_yield(); continue; }
            pthread_mutex_lock(&p->lock);
            atomic_fetch_add(&p->sleepers, 1);
            while ((uint32_t)(atomic_load(&p->claim) >> 32) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->wake, &p->lock);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->lock);
            spins = 0;
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = gen;
        run_tasks(p, gen);
    }
}

ek_pool *ek_pool_create(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    ek_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n_threads = n_threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->threads = calloc((size_t)n_threads, sizeof(pthread_t));
    if (!p->threads) { free(p); return NULL; }
    for (int i = 1; i < n_threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0) { p->n_threads = i; break; }
    }
    return p;
}

void ek_pool_destroy(ek_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p);
}

int ek_pool_threads(const ek_pool *p) { return p ? p->n_threads : 1; }

void ek_pool_run(ek_pool *p, ek_task_fn fn, void *ctx, int n_tasks) {
    if (n_tasks <= 0) return;
    if (!p || p->n_threads == 1 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t, n_tasks);
        return;
    }
    // Only the caller starts jobs, and only after the previous one finished, so no task of the
    // previous job can still read these fields.
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    const uint32_t gen = (uint32_t)(atomic_load_explicit(&p->claim, memory_order_relaxed) >> 32) + 1;
    atomic_store(&p->claim, (uint64_t)gen << 32);  // seq_cst: pairs with the sleepers check below
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
    run_tasks(p, gen);
    for (int spins = 0; atomic_load_explicit(&p->done, memory_order_acquire) < n_tasks; spins++) {
        if (spins < EK_SPIN_BEFORE_YIELD) ek_cpu_relax(); else sched_yield();
    }
}

int ek_affinity_cpus(void) {
#ifdef __linux__
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
    return 0;
}
