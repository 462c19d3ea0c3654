/* Formats, support queries, encoder info, and temporal layers from C: L1T3 gives the layer
 * pattern 0 2 1 2, per-layer rates are accepted, the policy answers with a reason. */
#include "common.h"

typedef struct {
    int n;
    uint8_t tids[64];
} ctx;

static void on_encoded(void *userdata, const rtvc_encoded_image *img) {
    ctx *c = userdata;
    if (c->n < 64) c->tids[c->n++] = img->temporal_id;
}

int main(void) {
    char name[64], fmtp[256];
    size_t n = rtvc_encoder_format_count();
    CHECK(n >= 3);
    CHECK_OK(rtvc_encoder_format(0, name, sizeof name, fmtp, sizeof fmtp));
    CHECK(strcmp(name, "AV1") == 0);
    for (size_t i = 0; i < n; i++) {
        CHECK_OK(rtvc_encoder_format(i, name, sizeof name, fmtp, sizeof fmtp));
        printf("encoder format %zu: %s %s\n", i, name, fmtp);
    }
    CHECK_RESULT(rtvc_encoder_format(n, name, sizeof name, fmtp, sizeof fmtp),
                 RTVC_INVALID_ARGUMENT);
    CHECK_RESULT(rtvc_encoder_format(0, name, 2, fmtp, sizeof fmtp), RTVC_BUFFER_TOO_SMALL);
    CHECK(rtvc_decoder_format_count() > n);

    bool supported = false, efficient = true;
    CHECK_OK(rtvc_query_codec_support("AV1", "", "L1T3", &supported, &efficient));
    CHECK(supported && !efficient);
    CHECK_OK(rtvc_query_codec_support("VP8", "", NULL, &supported, &efficient));
    CHECK(!supported);

    rtvc_encoder *enc = NULL;
    CHECK_OK(rtvc_encoder_new("AV1", "", &enc));
    rtvc_encoder_info info;
    CHECK_OK(rtvc_encoder_get_info(enc, &info)); /* valid before init */
    CHECK(strcmp(info.implementation_name, "libaom") == 0);
    CHECK(!info.is_hardware_accelerated);
    CHECK(info.qp_high > info.qp_low);
    rtvc_encoder_settings s = settings(320, 240, 500);
    s.scalability_mode = RTVC_L1T3;
    CHECK_OK(rtvc_encoder_init(enc, &s));
    uint32_t layers[3] = {250000, 125000, 125000};
    CHECK_OK(rtvc_encoder_set_layer_rates(enc, layers, 3, 30.0));
    ctx c = {0};
    CHECK_OK(rtvc_encoder_set_callbacks(enc, on_encoded, NULL, &c));
    picture src = picture_new(320, 240);
    for (int i = 0; i < 12; i++) {
        picture_draw(&src, i);
        rtvc_frame f = picture_frame(&src, 0, i);
        CHECK_OK(rtvc_encoder_encode(enc, &f, false));
    }
    const uint8_t pattern[4] = {0, 2, 1, 2};
    CHECK(c.n == 12);
    for (int i = 0; i < c.n; i++) CHECK(c.tids[i] == pattern[i % 4]);
    /* 0 kbps pauses: the next frame produces nothing; then a keyframe on resume. */
    CHECK_OK(rtvc_encoder_set_rates(enc, 0, 30));
    picture_draw(&src, 12);
    rtvc_frame f = picture_frame(&src, 0, 12);
    CHECK_OK(rtvc_encoder_encode(enc, &f, false));
    CHECK(c.n == 12);
    CHECK_OK(rtvc_encoder_free(enc));
    picture_free(&src);

    rtvc_device dev = {2, 1.0, true, true, false, 0, 0};
    rtvc_network net = {1500, 60, 0.01};
    rtvc_call call = {1, 720, 30, true};
    rtvc_decision d;
    CHECK_OK(rtvc_policy_decide(&dev, &net, &call, &d));
    printf("policy: codec %u hardware %d %up%.0f: %s\n", d.codec, d.hardware, d.height, d.fps,
           d.reason);
    CHECK(strlen(d.reason) > 10);
    dev.thermal = 9;
    CHECK_RESULT(rtvc_policy_decide(&dev, &net, &call, &d), RTVC_INVALID_ARGUMENT);
    printf("layers ok\n");
    return 0;
}
