/* VideoToolbox H.264 behind rtvc's hardware vtable: a real-time, constrained-baseline
 * VTCompressionSession without frame reordering. Each encode converts the I420 frame to an NV12
 * pixel buffer, encodes it, waits for the output (VTCompressionSessionCompleteFrames: rtvc's
 * vtable is synchronous) and hands rtvc Annex B (SPS and PPS in front of keyframes). Any error
 * status — kVTInvalidSessionErr (-12903) after the app was backgrounded, among others — goes
 * back to rtvc, which switches to its software encoder with a keyframe. */
#import "RTCRtvc.h"

#import <VideoToolbox/VideoToolbox.h>

#if __STDC_HOSTED__ /* freestanding: the syntax check on Linux, no SDK headers */
#include <stdlib.h>
#else
void *calloc(size_t count, size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);
#endif

typedef struct {
    VTCompressionSessionRef session;
    int32_t width, height;
    rtvc_hw_sink *sink; /* set while an encode is in progress */
    OSStatus status;    /* of the last output callback */
    uint8_t *out;
    size_t out_len, out_cap;
} RtvcVT;

static BOOL Put(RtvcVT *vt, const uint8_t *data, size_t len) {
    if (vt->out_len + len > vt->out_cap) {
        size_t cap = (vt->out_len + len) * 2;
        uint8_t *p = realloc(vt->out, cap);
        if (!p) return NO;
        vt->out = p;
        vt->out_cap = cap;
    }
    for (size_t i = 0; i < len; i++) vt->out[vt->out_len + i] = data[i];
    vt->out_len += len;
    return YES;
}

static const uint8_t kStartCode[4] = {0, 0, 0, 1};

static BOOL IsKeyframe(CMSampleBufferRef sample) {
    CFArrayRef attachments = CMSampleBufferGetSampleAttachmentsArray(sample, 0);
    if (!attachments || CFArrayGetCount(attachments) == 0) return YES;
    CFDictionaryRef first = (CFDictionaryRef)CFArrayGetValueAtIndex(attachments, 0);
    return CFDictionaryGetValue(first, kCMSampleAttachmentKey_NotSync) == NULL;
}

static void OnCompressed(void *refcon, void *frameRefcon, OSStatus status,
                         VTEncodeInfoFlags flags, CMSampleBufferRef sample) {
    (void)frameRefcon;
    (void)flags;
    RtvcVT *vt = refcon;
    vt->status = status;
    if (status != 0 || !sample || !vt->sink) return; /* an error, or a dropped frame */
    vt->out_len = 0;
    BOOL key = IsKeyframe(sample);
    int nal_length_size = 4;
    if (key) {
        CMFormatDescriptionRef desc = CMSampleBufferGetFormatDescription(sample);
        size_t count = 0;
        if (CMVideoFormatDescriptionGetH264ParameterSetAtIndex(desc, 0, NULL, NULL, &count,
                                                               &nal_length_size) != 0) {
            vt->status = -1;
            return;
        }
        for (size_t i = 0; i < count; i++) {
            const uint8_t *ps = NULL;
            size_t size = 0;
            if (CMVideoFormatDescriptionGetH264ParameterSetAtIndex(desc, i, &ps, &size, NULL,
                                                                   NULL) != 0 ||
                !Put(vt, kStartCode, 4) || !Put(vt, ps, size)) {
                vt->status = -1;
                return;
            }
        }
    }
    CMBlockBufferRef block = CMSampleBufferGetDataBuffer(sample);
    size_t total = 0;
    char *data = NULL;
    if (!block || CMBlockBufferGetDataPointer(block, 0, NULL, &total, &data) != 0) {
        vt->status = -1;
        return;
    }
    /* AVCC (length-prefixed NAL units) → Annex B (start codes). */
    size_t at = 0, n = (size_t)nal_length_size;
    while (at + n <= total) {
        size_t len = 0;
        for (size_t i = 0; i < n; i++) len = (len << 8) | (uint8_t)data[at + i];
        at += n;
        if (len > total - at || !Put(vt, kStartCode, 4) ||
            !Put(vt, (const uint8_t *)data + at, len)) {
            vt->status = -1;
            return;
        }
        at += len;
    }
    if (rtvc_hw_sink_deliver(vt->sink, vt->out, vt->out_len, key, -1) != RTVC_OK)
        vt->status = -1;
}

static void SetInt(VTCompressionSessionRef s, CFStringRef key, int32_t v) {
    CFNumberRef n = CFNumberCreate(NULL, kCFNumberSInt32Type, &v);
    if (!n) return;
    (void)VTSessionSetProperty(s, key, n);
    CFRelease(n);
}

static int32_t VTCreate(void *userdata, const rtvc_encoder_settings *settings, void **out) {
    (void)userdata;
    RtvcVT *vt = calloc(1, sizeof *vt);
    if (!vt) return -1;
    vt->width = (int32_t)settings->width;
    vt->height = (int32_t)settings->height;
    OSStatus s = VTCompressionSessionCreate(NULL, vt->width, vt->height, kCMVideoCodecType_H264,
                                            NULL, NULL, NULL, OnCompressed, vt, &vt->session);
    if (s != 0) {
        free(vt);
        return s;
    }
    (void)VTSessionSetProperty(vt->session, kVTCompressionPropertyKey_RealTime, kCFBooleanTrue);
    (void)VTSessionSetProperty(vt->session, kVTCompressionPropertyKey_ProfileLevel,
                               kVTProfileLevel_H264_ConstrainedBaseline_AutoLevel);
    (void)VTSessionSetProperty(vt->session, kVTCompressionPropertyKey_AllowFrameReordering,
                               kCFBooleanFalse);
    SetInt(vt->session, kVTCompressionPropertyKey_AverageBitRate,
           (int32_t)(settings->start_kbps * 1000));
    SetInt(vt->session, kVTCompressionPropertyKey_ExpectedFrameRate, (int32_t)settings->max_fps);
    SetInt(vt->session, kVTCompressionPropertyKey_MaxKeyFrameInterval, 7200);
    s = VTCompressionSessionPrepareToEncodeFrames(vt->session);
    if (s != 0) {
        VTCompressionSessionInvalidate(vt->session);
        CFRelease(vt->session);
        free(vt);
        return s;
    }
    *out = vt;
    return 0;
}

static int32_t VTEncode(void *session, const rtvc_frame *f, bool keyframe, rtvc_hw_sink *sink) {
    RtvcVT *vt = session;
    CVPixelBufferRef pb = NULL;
    if (CVPixelBufferCreate(NULL, f->width, f->height,
                            kCVPixelFormatType_420YpCbCr8BiPlanarVideoRange, NULL,
                            &pb) != kCVReturnSuccess)
        return -1;
    if (CVPixelBufferLockBaseAddress(pb, 0) != kCVReturnSuccess) {
        CVPixelBufferRelease(pb);
        return -1;
    }
    uint8_t *y = CVPixelBufferGetBaseAddressOfPlane(pb, 0);
    uint8_t *uv = CVPixelBufferGetBaseAddressOfPlane(pb, 1);
    size_t ys = CVPixelBufferGetBytesPerRowOfPlane(pb, 0);
    size_t uvs = CVPixelBufferGetBytesPerRowOfPlane(pb, 1);
    size_t w = f->width, h = f->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
    for (size_t r = 0; r < h; r++)
        for (size_t c = 0; c < w; c++) y[r * ys + c] = f->y[r * f->y_stride + c];
    for (size_t r = 0; r < ch; r++)
        for (size_t c = 0; c < cw; c++) {
            uv[r * uvs + 2 * c] = f->u[r * f->u_stride + c];
            uv[r * uvs + 2 * c + 1] = f->v[r * f->v_stride + c];
        }
    (void)CVPixelBufferUnlockBaseAddress(pb, 0);
    CFDictionaryRef props = NULL;
    if (keyframe) {
        const void *keys[1] = {kVTEncodeFrameOptionKey_ForceKeyFrame};
        const void *values[1] = {kCFBooleanTrue};
        props = CFDictionaryCreate(NULL, keys, values, 1, &kCFTypeDictionaryKeyCallBacks,
                                   &kCFTypeDictionaryValueCallBacks);
    }
    vt->sink = sink;
    vt->status = 0;
    OSStatus s = VTCompressionSessionEncodeFrame(vt->session, pb,
                                                 CMTimeMake(f->capture_time_us, 1000000),
                                                 kCMTimeInvalid, props, NULL, NULL);
    if (s == 0) s = VTCompressionSessionCompleteFrames(vt->session, kCMTimeInvalid);
    vt->sink = NULL;
    if (props) CFRelease(props);
    CVPixelBufferRelease(pb);
    return s != 0 ? s : vt->status;
}

static int32_t VTSetRates(void *session, uint32_t kbps, uint32_t fps) {
    RtvcVT *vt = session;
    SetInt(vt->session, kVTCompressionPropertyKey_AverageBitRate, (int32_t)(kbps * 1000));
    SetInt(vt->session, kVTCompressionPropertyKey_ExpectedFrameRate, (int32_t)fps);
    return 0;
}

static void VTDestroy(void *session) {
    RtvcVT *vt = session;
    VTCompressionSessionInvalidate(vt->session);
    CFRelease(vt->session);
    free(vt->out);
    free(vt);
}

const rtvc_hw_encoder_vtable *RTCRtvcVideoToolboxH264(void) {
    static const rtvc_hw_encoder_vtable table = {
        .userdata = NULL,
        .implementation_name = "VideoToolbox",
        .create = VTCreate,
        .encode = VTEncode,
        .set_rates = VTSetRates,
        .request_keyframe = NULL,
        .destroy = VTDestroy,
    };
    return &table;
}
