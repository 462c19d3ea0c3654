/* Encode → decode from C for both codecs, from I420 and from NV12, pictures out as I420 and
 * NV12: every frame comes back, at a PSNR floor, with its RTP timestamp unchanged. */
#include "common.h"

typedef struct {
    rtvc_decoder *dec;
    const picture *src;
    int decoded;
    int keyframes;
    double min_psnr;
    uint32_t last_rtp;
    int nv12_out;
} ctx;

static void on_picture(void *userdata, const rtvc_picture *p) {
    ctx *c = userdata;
    CHECK(p->width == c->src->width && p->height == c->src->height);
    CHECK(p->format == (c->nv12_out ? RTVC_PIXEL_NV12 : RTVC_PIXEL_I420));
    CHECK(c->nv12_out ? p->v == NULL : p->v != NULL);
    CHECK(p->rtp_timestamp == c->last_rtp);
    double q = psnr_y(c->src, p->y, p->y_stride);
    if (q < c->min_psnr) c->min_psnr = q;
    c->decoded++;
}

static void on_encoded(void *userdata, const rtvc_encoded_image *img) {
    ctx *c = userdata;
    CHECK(img->len > 0 && img->data != NULL);
    if (img->keyframe) c->keyframes++;
    c->last_rtp = img->rtp_timestamp;
    rtvc_result r = rtvc_decoder_decode(c->dec, img->data, img->len, img->rtp_timestamp,
                                        img->capture_time_us, false);
    CHECK(r == RTVC_OK);
}

static void run(const char *name, const char *fmtp, int nv12_in, int nv12_out) {
    const uint32_t w = 320, h = 240;
    picture src = picture_new(w, h);
    rtvc_encoder *enc = NULL;
    CHECK_OK(rtvc_encoder_new(name, fmtp, &enc));
    CHECK(enc != NULL);
    rtvc_encoder_settings s = settings(w, h, 600);
    CHECK_OK(rtvc_encoder_init(enc, &s));
    ctx c = {0};
    c.src = &src;
    c.min_psnr = 100;
    c.nv12_out = nv12_out;
    CHECK_OK(rtvc_decoder_new(name, fmtp, &c.dec));
    CHECK_OK(rtvc_decoder_set_callback(c.dec, nv12_out ? RTVC_PIXEL_NV12 : RTVC_PIXEL_I420,
                                       on_picture, &c));
    CHECK_OK(rtvc_encoder_set_callbacks(enc, on_encoded, NULL, &c));
    for (int n = 0; n < 30; n++) {
        picture_draw(&src, n);
        rtvc_frame f = picture_frame(&src, nv12_in, n);
        CHECK_OK(rtvc_encoder_encode(enc, &f, n == 15));
    }
    printf("%s %s in=%s out=%s: decoded %d, keyframes %d, min PSNR-Y %.2f dB\n", name, fmtp,
           nv12_in ? "NV12" : "I420", nv12_out ? "NV12" : "I420", c.decoded, c.keyframes,
           c.min_psnr);
    CHECK(c.decoded == 30);
    CHECK(c.keyframes == 2); /* the first frame, and the one asked for */
    CHECK(c.min_psnr > 30.0);
    CHECK_OK(rtvc_encoder_free(enc));
    CHECK_OK(rtvc_decoder_free(c.dec));
    picture_free(&src);
}

int main(void) {
    printf("rtvc %s\n", rtvc_version());
    run("AV1", "", 0, 0);
    run("AV1", "", 1, 1);
    run("H264", "profile-level-id=42e01f;packetization-mode=1", 0, 1);
    run("H264", "profile-level-id=42e01f;packetization-mode=1", 1, 0);
    return 0;
}
