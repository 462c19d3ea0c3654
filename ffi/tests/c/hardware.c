/* A C "hardware" encoder registered through the vtable: one that fails at init and one that
 * fails mid-stream (as VideoToolbox does after backgrounding). rtvc falls back to software, the
 * first frame after the switch is a keyframe, the fallback callback hears why, no frame is
 * lost, nothing crashes. The fake hardware "encodes" by asking a real software encoder. */
#include "common.h"

typedef struct {
    int fail_at_init;
    int fail_from_frame; /* 0: never */
    int sessions, destroyed;
} hw;

typedef struct {
    hw *h;
    int frames;
    rtvc_encoder *inner; /* the real encoding, underneath */
    rtvc_hw_sink *sink;
} session;

static void inner_out(void *userdata, const rtvc_encoded_image *img) {
    session *s = userdata;
    rtvc_result r = rtvc_hw_sink_deliver(s->sink, img->data, img->len, img->keyframe, img->qp);
    CHECK(r == RTVC_OK);
}

static int32_t hw_create(void *userdata, const rtvc_encoder_settings *settings, void **out) {
    hw *h = userdata;
    if (h->fail_at_init) return -12903; /* kVTInvalidSessionErr */
    session *s = calloc(1, sizeof *s);
    CHECK(s);
    s->h = h;
    CHECK_OK(rtvc_encoder_new("H264", "profile-level-id=42e01f;packetization-mode=1", &s->inner));
    CHECK_OK(rtvc_encoder_init(s->inner, settings));
    CHECK_OK(rtvc_encoder_set_callbacks(s->inner, inner_out, NULL, s));
    h->sessions++;
    *out = s;
    return 0;
}

static int32_t hw_encode(void *sess, const rtvc_frame *frame, bool keyframe, rtvc_hw_sink *sink) {
    session *s = sess;
    s->frames++;
    if (s->h->fail_from_frame && s->frames >= s->h->fail_from_frame) return -12903;
    s->sink = sink;
    rtvc_result r = rtvc_encoder_encode(s->inner, frame, keyframe);
    s->sink = NULL;
    return r == RTVC_OK ? 0 : -1;
}

static int32_t hw_set_rates(void *sess, uint32_t kbps, uint32_t fps) {
    session *s = sess;
    return rtvc_encoder_set_rates(s->inner, kbps, fps) == RTVC_OK ? 0 : -1;
}

static void hw_destroy(void *sess) {
    session *s = sess;
    s->h->destroyed++;
    CHECK_OK(rtvc_encoder_free(s->inner));
    free(s);
}

typedef struct {
    int switches;
    unsigned reason;
    char from[64], to[64];
} events;

static void on_fallback(void *userdata, const rtvc_fallback_event *e) {
    events *ev = userdata;
    ev->switches++;
    ev->reason = e->reason;
    snprintf(ev->from, sizeof ev->from, "%s", e->from);
    snprintf(ev->to, sizeof ev->to, "%s", e->to);
    printf("fallback: %s -> %s (%u: %s)\n", e->from, e->to, e->reason, e->message);
}

typedef struct {
    int n;
    int key[64];
} out;

static void on_encoded(void *userdata, const rtvc_encoded_image *img) {
    out *o = userdata;
    if (o->n < 64) o->key[o->n++] = img->keyframe;
}

static void run(int fail_at_init, int fail_from_frame) {
    const char *fmtp = "profile-level-id=42e01f;packetization-mode=1";
    hw h = {fail_at_init, fail_from_frame, 0, 0};
    rtvc_hw_encoder_vtable vt;
    memset(&vt, 0, sizeof vt);
    vt.userdata = &h;
    vt.implementation_name = "FakeVideoToolbox";
    vt.create = hw_create;
    vt.encode = hw_encode;
    vt.set_rates = hw_set_rates;
    vt.request_keyframe = NULL;
    vt.destroy = hw_destroy;
    rtvc_encoder_factory *f = NULL;
    CHECK_OK(rtvc_encoder_factory_new(&f));
    CHECK_OK(rtvc_encoder_factory_register_hardware(f, "H264", fmtp, &vt));
    events ev = {0};
    CHECK_OK(rtvc_encoder_factory_set_fallback_callback(f, on_fallback, &ev));
    bool supported = false, efficient = false;
    CHECK_OK(rtvc_encoder_factory_query(f, "H264", fmtp, NULL, &supported, &efficient));
    CHECK(supported && efficient);
    rtvc_encoder *enc = NULL;
    CHECK_OK(rtvc_encoder_factory_create(f, "H264", fmtp, &enc));
    rtvc_encoder_info info;
    CHECK_OK(rtvc_encoder_get_info(enc, &info));
    CHECK(info.is_hardware_accelerated);
    rtvc_encoder_settings s = settings(320, 240, 500);
    CHECK_OK(rtvc_encoder_init(enc, &s));
    out o = {0};
    CHECK_OK(rtvc_encoder_set_callbacks(enc, on_encoded, NULL, &o));
    picture src = picture_new(320, 240);
    for (int n = 0; n < 20; n++) {
        picture_draw(&src, n);
        rtvc_frame fr = picture_frame(&src, 0, n);
        CHECK_OK(rtvc_encoder_encode(enc, &fr, false));
    }
    CHECK_OK(rtvc_encoder_get_info(enc, &info));
    printf("after 20 frames: %s (hardware %d), %d frames out\n", info.implementation_name,
           info.is_hardware_accelerated, o.n);
    CHECK(o.n == 20);            /* no frame lost to the switch */
    CHECK(ev.switches == 1);
    CHECK(strcmp(ev.from, "FakeVideoToolbox") == 0 && strcmp(ev.to, "openh264") == 0);
    CHECK(!info.is_hardware_accelerated);
    if (fail_at_init) {
        CHECK(ev.reason == 1);
        CHECK(o.key[0]);
    } else {
        CHECK(ev.reason == 2);
        CHECK(o.key[fail_from_frame - 1]); /* the first frame after the switch is a keyframe */
        for (int i = 1; i < fail_from_frame - 1; i++) CHECK(!o.key[i]);
    }
    CHECK_OK(rtvc_encoder_free(enc));
    CHECK(h.sessions == h.destroyed); /* every hardware session was ended */
    CHECK_OK(rtvc_encoder_factory_free(f));
    picture_free(&src);
}

int main(void) {
    run(1, 0);
    run(0, 8);
    printf("hardware ok\n");
    return 0;
}
