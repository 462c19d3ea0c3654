/* Misuse gets error codes, never a crash: NULL pointers, strides shorter than a row, odd sizes,
 * calls in the wrong order, handles of the wrong kind, double free, bad strings and values. */
#include "common.h"

static void on_encoded(void *userdata, const rtvc_encoded_image *img) {
    (void)userdata;
    (void)img;
}

static void on_picture(void *userdata, const rtvc_picture *p) {
    (void)userdata;
    (void)p;
}

int main(void) {
    rtvc_encoder *enc = NULL;
    rtvc_decoder *dec = NULL;
    CHECK_RESULT(rtvc_encoder_new(NULL, "", &enc), RTVC_NULL_PARAMETER);
    CHECK_RESULT(rtvc_encoder_new("AV1", "", NULL), RTVC_NULL_PARAMETER);
    CHECK_RESULT(rtvc_encoder_new("VP8", "", &enc), RTVC_UNSUPPORTED);
    CHECK_RESULT(rtvc_encoder_new("H264", "profile-level-id=zz", &enc), RTVC_UNSUPPORTED);
    CHECK_RESULT(rtvc_encoder_new("H\xff", "", &enc), RTVC_INVALID_ARGUMENT);
    CHECK(enc == NULL); /* outputs are written only on success */
    CHECK(strcmp(rtvc_result_message(12345), "unknown result code") == 0);

    CHECK_OK(rtvc_encoder_new("AV1", "", &enc));
    picture src = picture_new(64, 64);
    picture_draw(&src, 0);
    rtvc_frame f = picture_frame(&src, 0, 0);
    /* Encode before init, before callbacks. */
    CHECK_RESULT(rtvc_encoder_encode(enc, &f, false), RTVC_WRONG_STATE);
    CHECK_RESULT(rtvc_encoder_set_rates(enc, 300, 30), RTVC_WRONG_STATE);
    rtvc_encoder_settings s = settings(64, 64, 300);
    s.scalability_mode = 7;
    CHECK_RESULT(rtvc_encoder_init(enc, &s), RTVC_INVALID_ARGUMENT);
    s = settings(0, 64, 300);
    CHECK_RESULT(rtvc_encoder_init(enc, &s), RTVC_INVALID_ARGUMENT);
    s = settings(64, 64, 300);
    CHECK_RESULT(rtvc_encoder_init(enc, NULL), RTVC_NULL_PARAMETER);
    CHECK_OK(rtvc_encoder_init(enc, &s));
    CHECK_RESULT(rtvc_encoder_encode(enc, &f, false), RTVC_WRONG_STATE); /* no callback yet */
    CHECK_RESULT(rtvc_encoder_set_callbacks(enc, NULL, NULL, NULL), RTVC_NULL_PARAMETER);
    CHECK_OK(rtvc_encoder_set_callbacks(enc, on_encoded, NULL, NULL));
    CHECK_RESULT(rtvc_encoder_encode(enc, NULL, false), RTVC_NULL_PARAMETER);
    rtvc_frame bad = f;
    bad.y_stride = 10; /* shorter than a row */
    CHECK_RESULT(rtvc_encoder_encode(enc, &bad, false), RTVC_INVALID_ARGUMENT);
    bad = f;
    bad.y = NULL;
    CHECK_RESULT(rtvc_encoder_encode(enc, &bad, false), RTVC_NULL_PARAMETER);
    bad = f;
    bad.rotation = 45;
    CHECK_RESULT(rtvc_encoder_encode(enc, &bad, false), RTVC_INVALID_ARGUMENT);
    bad = f;
    bad.width = 0;
    CHECK_RESULT(rtvc_encoder_encode(enc, &bad, false), RTVC_INVALID_ARGUMENT);
    CHECK_OK(rtvc_encoder_encode(enc, &f, false));
    CHECK_RESULT(rtvc_encoder_encode(enc, &f, false), RTVC_TIMESTAMP_NOT_INCREASING);
    CHECK_RESULT(rtvc_encoder_set_rates(enc, 300, 0), RTVC_INVALID_ARGUMENT);
    CHECK_RESULT(rtvc_encoder_set_layer_rates(enc, NULL, 1, 30.0), RTVC_NULL_PARAMETER);
    uint32_t rates[4] = {1, 2, 3, 4};
    CHECK_RESULT(rtvc_encoder_set_layer_rates(enc, rates, 4, 30.0), RTVC_INVALID_ARGUMENT);

    /* A handle of the wrong kind, a foreign pointer, double free. */
    CHECK_RESULT(rtvc_decoder_decode((rtvc_decoder *)enc, src.y, 10, 0, 0, false),
                 RTVC_INVALID_HANDLE);
    int not_a_handle = 0;
    CHECK_RESULT(rtvc_encoder_set_rates((rtvc_encoder *)&not_a_handle, 300, 30),
                 RTVC_INVALID_HANDLE);
    CHECK_RESULT(rtvc_encoder_set_rates(NULL, 300, 30), RTVC_NULL_PARAMETER);
    CHECK_OK(rtvc_encoder_free(enc));
    CHECK_RESULT(rtvc_encoder_free(enc), RTVC_INVALID_HANDLE);
    CHECK_RESULT(rtvc_encoder_encode(enc, &f, false), RTVC_INVALID_HANDLE);
    CHECK_OK(rtvc_encoder_free(NULL));

    /* Decoder: garbage asks for a keyframe, never crashes; wrong order and sizes are refused. */
    CHECK_OK(rtvc_decoder_new("H264", "profile-level-id=42e01f;packetization-mode=1", &dec));
    uint8_t junk[200];
    for (int i = 0; i < 200; i++) junk[i] = (uint8_t)(i * 37 + 11);
    CHECK_RESULT(rtvc_decoder_decode(dec, junk, sizeof junk, 0, 0, false), RTVC_WRONG_STATE);
    CHECK_RESULT(rtvc_decoder_set_callback(dec, 9, on_picture, NULL), RTVC_INVALID_ARGUMENT);
    CHECK_OK(rtvc_decoder_set_callback(dec, RTVC_PIXEL_I420, on_picture, NULL));
    CHECK_RESULT(rtvc_decoder_decode(dec, NULL, 10, 0, 0, false), RTVC_NULL_PARAMETER);
    CHECK_RESULT(rtvc_decoder_decode(dec, junk, 0, 0, 0, false), RTVC_INVALID_ARGUMENT);
    rtvc_result r = rtvc_decoder_decode(dec, junk, sizeof junk, 0, 0, false);
    CHECK(r == RTVC_REQUEST_KEYFRAME || r == RTVC_OK);
    CHECK_RESULT(rtvc_decoder_configure(dec, 0, 0, 1), RTVC_INVALID_ARGUMENT);
    CHECK_OK(rtvc_decoder_free(dec));
    CHECK_RESULT(rtvc_decoder_free(dec), RTVC_INVALID_HANDLE);

    /* Factories. */
    rtvc_encoder_factory *fac = NULL;
    CHECK_OK(rtvc_encoder_factory_new(&fac));
    CHECK_RESULT(rtvc_encoder_factory_register_hardware(fac, "H264", "", NULL),
                 RTVC_NULL_PARAMETER);
    rtvc_hw_encoder_vtable empty;
    memset(&empty, 0, sizeof empty);
    CHECK_RESULT(rtvc_encoder_factory_register_hardware(fac, "H264", "", &empty),
                 RTVC_NULL_PARAMETER);
    CHECK_RESULT(rtvc_hw_sink_deliver(NULL, junk, 1, false, 0), RTVC_NULL_PARAMETER);
    CHECK_RESULT(rtvc_encoder_free((rtvc_encoder *)fac), RTVC_INVALID_HANDLE);
    CHECK_OK(rtvc_encoder_factory_free(fac));
    picture_free(&src);
    printf("misuse ok\n");
    return 0;
}
