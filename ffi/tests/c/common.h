/* Shared helpers of the C tests: a moving test picture, PSNR, checks that say where they failed. */
#ifndef RTVC_TEST_COMMON_H
#define RTVC_TEST_COMMON_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtvc.h"

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

#define CHECK_RESULT(call, expected)                                                      \
    do {                                                                                  \
        rtvc_result r_ = (call);                                                          \
        if (r_ != (expected)) {                                                           \
            fprintf(stderr, "%s:%d: %s returned %u (%s), expected %u\n", __FILE__,        \
                    __LINE__, #call, (unsigned)r_, rtvc_result_message(r_),               \
                    (unsigned)(expected));                                                \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

#define CHECK_OK(call) CHECK_RESULT(call, RTVC_OK)

/* An I420 picture with a moving gradient and a square: planes with padded strides. */
typedef struct {
    uint32_t width, height;
    size_t y_stride, c_stride;
    uint8_t *y, *u, *v, *uv; /* uv: the same chroma interleaved (NV12) */
} picture;

static inline picture picture_new(uint32_t w, uint32_t h) {
    picture p;
    p.width = w;
    p.height = h;
    p.y_stride = w + 32;
    p.c_stride = (w + 1) / 2 + 16;
    p.y = calloc(p.y_stride * h, 1);
    p.u = calloc(p.c_stride * ((h + 1) / 2), 1);
    p.v = calloc(p.c_stride * ((h + 1) / 2), 1);
    p.uv = calloc(2 * p.c_stride * ((h + 1) / 2), 1);
    CHECK(p.y && p.u && p.v && p.uv);
    return p;
}

static inline void picture_draw(picture *p, int n) {
    uint32_t cw = (p->width + 1) / 2, ch = (p->height + 1) / 2;
    for (uint32_t r = 0; r < p->height; r++)
        for (uint32_t c = 0; c < p->width; c++) {
            int v = (int)((c * 3 + r * 2 + (uint32_t)n * 4) % 200) + 20;
            int in_sq = c >= (uint32_t)(n * 3) % p->width && c < (uint32_t)(n * 3) % p->width + 40 &&
                        r >= 30 && r < 70;
            p->y[r * p->y_stride + c] = (uint8_t)(in_sq ? 235 : v);
        }
    for (uint32_t r = 0; r < ch; r++)
        for (uint32_t c = 0; c < cw; c++) {
            uint8_t u = (uint8_t)(128 + ((c + (uint32_t)n) % 40) - 20);
            uint8_t v = (uint8_t)(128 + ((r + (uint32_t)n) % 30) - 15);
            p->u[r * p->c_stride + c] = u;
            p->v[r * p->c_stride + c] = v;
            p->uv[r * 2 * p->c_stride + 2 * c] = u;
            p->uv[r * 2 * p->c_stride + 2 * c + 1] = v;
        }
}

static inline rtvc_frame picture_frame(const picture *p, int nv12, int n) {
    rtvc_frame f;
    memset(&f, 0, sizeof f);
    f.width = p->width;
    f.height = p->height;
    f.y = p->y;
    f.y_stride = p->y_stride;
    if (nv12) {
        f.u = p->uv;
        f.u_stride = 2 * p->c_stride;
        f.v = NULL;
    } else {
        f.u = p->u;
        f.u_stride = p->c_stride;
        f.v = p->v;
        f.v_stride = p->c_stride;
    }
    f.capture_time_us = (int64_t)n * 33333;
    f.rtp_timestamp = 1000u + (uint32_t)n * 3000u;
    f.rotation = 0;
    return f;
}

static inline void picture_free(picture *p) {
    free(p->y);
    free(p->u);
    free(p->v);
    free(p->uv);
}

/* Luma PSNR between a decoded plane and the source. */
static inline double psnr_y(const picture *src, const uint8_t *y, size_t stride) {
    double sse = 0;
    for (uint32_t r = 0; r < src->height; r++)
        for (uint32_t c = 0; c < src->width; c++) {
            double d = (double)src->y[r * src->y_stride + c] - (double)y[r * stride + c];
            sse += d * d;
        }
    double mse = sse / ((double)src->width * src->height);
    return mse <= 0 ? 100.0 : 10.0 * log10(255.0 * 255.0 / mse);
}

static inline rtvc_encoder_settings settings(uint32_t w, uint32_t h, uint32_t kbps) {
    rtvc_encoder_settings s;
    memset(&s, 0, sizeof s);
    s.width = w;
    s.height = h;
    s.max_fps = 30;
    s.start_kbps = kbps;
    s.min_kbps = 30;
    s.max_kbps = kbps * 2;
    s.cores = 2;
    s.scalability_mode = RTVC_L1T1;
    s.frame_dropping = false;
    s.screen_content = false;
    return s;
}

#endif
