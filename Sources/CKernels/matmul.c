// Matrix multiplication over quantized weights, split across the pool by blocks of output rows.
// Within a task the weight rows of the block stay in L1 while every token's activations pass over
// them, so prompt processing reads each weight once per pass rather than once per token.
#include "ckernels.h"
#include <stdlib.h>

enum { EK_ROWS_PER_TASK_MIN = 16, EK_TASKS_PER_THREAD = 8 };

typedef struct {
    ek_vec_dot_fn dot;
    const uint8_t *w;
    size_t w_row_bytes;
    int64_t rows, cols;
    const uint8_t *xq;
    size_t xq_stride;
    int64_t ntok;
    float *y;
    int64_t y_stride;
    const float *bias;
    int64_t rows_per_task;
} matmul_job;

static void matmul_task(void *ctx, int task, int n_tasks) {
    const matmul_job *j = ctx;
    int64_t r0 = (int64_t)task * j->rows_per_task;
    int64_t r1 = r0 + j->rows_per_task < j->rows ? r0 + j->rows_per_task : j->rows;
    for (int64_t t = 0; t < j->ntok; t++) {
        const void *x = j->xq + (size_t)t * j->xq_stride;
        float *y = j->y + t * j->y_stride;
        for (int64_t r = r0; r < r1; r++) {
            float v = j->dot(j->cols, j->w + (size_t)r * j->w_row_bytes, x);
            y[r] = j->bias ? v + j->bias[r] : v;
        }
    }
}

void ek_matmul(ek_pool *pool, int wtype, const void *w, int64_t rows, int64_t cols,
               const void *xq, size_t xq_stride, int64_t ntok,
               float *y, int64_t y_stride, const float *bias) {
    const ek_type_traits *tr = ek_traits(wtype);
    if (!tr || !tr->vec_dot || rows <= 0 || ntok <= 0) return;
    int threads = ek_pool_threads(pool);
    int64_t per = rows / ((int64_t)threads * EK_TASKS_PER_THREAD);
    if (per < EK_ROWS_PER_TASK_MIN) per = EK_ROWS_PER_TASK_MIN;
    matmul_job job = {
        .dot = tr->vec_dot, .w = w, .w_row_bytes = ek_row_size(wtype, cols), .rows = rows, .cols = cols,
        .xq = xq, .xq_stride = xq_stride, .ntok = ntok, .y = y, .y_stride = y_stride, .bias = bias,
        .rows_per_task = per,
    };
    ek_pool_run(pool, matmul_task, &job, (int)((rows + per - 1) / per));
}

void ek_quantize_rows(int type, const float *x, int64_t x_stride, int64_t ntok, int64_t cols,
                      void *dst, size_t dst_stride) {
    const ek_type_traits *tr = ek_traits(type);
    if (!tr || !tr->from_float) return;
    for (int64_t t = 0; t < ntok; t++) tr->from_float(x + t * x_stride, (uint8_t *)dst + (size_t)t * dst_stride, cols);
}
