/* RTCRtvc: see RTCRtvc.h. Every rtvc call's result is checked; nothing here throws. */
#import "RTCRtvc.h"

static const NSInteger kOk = 0;     /* WEBRTC_VIDEO_CODEC_OK */
static const NSInteger kError = -1; /* WEBRTC_VIDEO_CODEC_ERROR: the SDK asks for a keyframe */

/* Appends `src` to `buf` (of `len` bytes, holding `*used`); NO when it does not fit. (No libc:
 * the shim builds freestanding.) */
static BOOL Append(char *buf, size_t len, size_t *used, const char *src) {
    for (const char *p = src; *p; p++) {
        if (*used + 1 >= len) return NO;
        buf[(*used)++] = *p;
    }
    buf[*used] = 0;
    return YES;
}

/* "a=b;c=d" → @{a: b, c: d} */
static NSDictionary<NSString *, NSString *> *ParseFmtp(const char *fmtp) {
    NSMutableDictionary<NSString *, NSString *> *out = [NSMutableDictionary dictionary];
    char key[128], value[128];
    const char *p = fmtp;
    while (*p) {
        size_t k = 0, v = 0;
        while (*p && *p != '=' && *p != ';' && k + 1 < sizeof key) key[k++] = *p++;
        key[k] = 0;
        if (*p == '=') {
            p++;
            while (*p && *p != ';' && v + 1 < sizeof value) value[v++] = *p++;
        }
        value[v] = 0;
        while (*p && *p != ';') p++;
        if (*p == ';') p++;
        if (k > 0) out[[NSString stringWithUTF8String:key]] = [NSString stringWithUTF8String:value];
    }
    return out;
}

/* @{a: b} → "a=b;..." into buf (keys in the SDK's order; rtvc's parser does not care). */
static void FormatFmtp(NSDictionary<NSString *, NSString *> *params, const char *keys[],
                       size_t nkeys, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < nkeys; i++) {
        NSString *v = params[[NSString stringWithUTF8String:keys[i]]];
        if (!v) continue;
        const char *vs = [v UTF8String];
        if (!vs) continue;
        size_t before = used;
        if (!((used == 0 || Append(buf, len, &used, ";")) && Append(buf, len, &used, keys[i]) &&
              Append(buf, len, &used, "=") && Append(buf, len, &used, vs))) {
            buf[before] = 0; /* too long: leave the parameter out */
            return;
        }
    }
}

static const char *kFmtpKeys[] = {"profile-level-id", "packetization-mode",
                                  "level-asymmetry-allowed", "profile", "level-idx", "tier"};

static void InfoToC(RTCVideoCodecInfo *info, char *name, size_t name_len, char *fmtp,
                    size_t fmtp_len) {
    const char *n = [info.name UTF8String];
    size_t used = 0;
    name[0] = 0;
    (void)Append(name, name_len, &used, n ? n : "");
    FormatFmtp(info.parameters, kFmtpKeys, sizeof kFmtpKeys / sizeof kFmtpKeys[0], fmtp,
               fmtp_len);
}

static NSArray<RTCVideoCodecInfo *> *Formats(size_t (*count)(void),
                                             rtvc_result (*at)(size_t, char *, size_t, char *,
                                                               size_t)) {
    NSMutableArray<RTCVideoCodecInfo *> *out = [NSMutableArray array];
    size_t n = count();
    for (size_t i = 0; i < n; i++) {
        char name[64], fmtp[256];
        if (at(i, name, sizeof name, fmtp, sizeof fmtp) != RTVC_OK) continue;
        [out addObject:[[RTCVideoCodecInfo alloc]
                           initWithName:[NSString stringWithUTF8String:name]
                             parameters:ParseFmtp(fmtp)]];
    }
    return out;
}

#pragma mark - Encoder

@interface RTCRtvcVideoEncoder : NSObject <RTCVideoEncoder>
- (instancetype)initWithEncoder:(nullable rtvc_encoder *)encoder isH264:(BOOL)isH264;
@end

@implementation RTCRtvcVideoEncoder {
    rtvc_encoder *_encoder; /* NULL when creation failed: every call then reports an error */
    RTCVideoEncoderCallback _callback;
    BOOL _isH264;
    uint32_t _framerate;
}

- (instancetype)initWithEncoder:(nullable rtvc_encoder *)encoder isH264:(BOOL)isH264 {
    self = [super init];
    if (self) {
        _encoder = encoder;
        _isH264 = isH264;
        _framerate = 30;
    }
    return self;
}

- (void)dealloc {
    if (_encoder) (void)rtvc_encoder_free(_encoder);
}

static void OnEncoded(void *userdata, const rtvc_encoded_image *img) {
    RTCRtvcVideoEncoder *self = (__bridge RTCRtvcVideoEncoder *)userdata;
    RTCVideoEncoderCallback callback = self->_callback;
    if (!callback) return;
    RTCEncodedImage *out = [[RTCEncodedImage alloc] init];
    out.buffer = [NSData dataWithBytes:img->data length:img->len];
    out.encodedWidth = (int32_t)img->width;
    out.encodedHeight = (int32_t)img->height;
    out.timeStamp = img->rtp_timestamp;
    out.captureTimeMs = img->capture_time_us / 1000;
    out.frameType = img->keyframe ? RTCFrameTypeVideoFrameKey : RTCFrameTypeVideoFrameDelta;
    out.rotation = (RTCVideoRotation)img->rotation;
    out.qp = img->qp >= 0 ? [NSNumber numberWithInt:img->qp] : nil;
    id<RTCCodecSpecificInfo> info = nil;
    if (self->_isH264) {
        RTCCodecSpecificInfoH264 *h264 = [[RTCCodecSpecificInfoH264 alloc] init];
        h264.packetizationMode = RTCH264PacketizationModeNonInterleaved;
        info = h264;
    }
    (void)callback(out, info);
}

- (void)setCallback:(nullable RTCVideoEncoderCallback)callback {
    _callback = callback;
    if (_encoder)
        (void)rtvc_encoder_set_callbacks(_encoder, OnEncoded, NULL, (__bridge void *)self);
}

- (NSInteger)startEncodeWithSettings:(RTCVideoEncoderSettings *)settings
                       numberOfCores:(int)numberOfCores {
    if (!_encoder) return kError;
    rtvc_encoder_settings s;
    s.width = settings.width;
    s.height = settings.height;
    s.max_fps = settings.maxFramerate ? settings.maxFramerate : 30;
    s.start_kbps = settings.startBitrate ? settings.startBitrate : 300;
    s.min_kbps = settings.minBitrate;
    s.max_kbps = settings.maxBitrate > s.start_kbps ? settings.maxBitrate : s.start_kbps;
    s.cores = numberOfCores > 0 ? (uint32_t)numberOfCores : 1;
    s.scalability_mode = RTVC_L1T1;
    s.frame_dropping = true;
    s.screen_content = false;
    _framerate = s.max_fps;
    return rtvc_encoder_init(_encoder, &s) == RTVC_OK ? kOk : kError;
}

- (NSInteger)releaseEncoder {
    return kOk;
}

- (NSInteger)encode:(RTCVideoFrame *)frame
    codecSpecificInfo:(nullable id<RTCCodecSpecificInfo>)info
           frameTypes:(NSArray<NSNumber *> *)frameTypes {
    (void)info;
    if (!_encoder) return kError;
    BOOL keyframe = NO;
    for (NSUInteger i = 0; i < frameTypes.count; i++)
        if (frameTypes[i].intValue == RTCFrameTypeVideoFrameKey) keyframe = YES;
    id<RTCI420Buffer> i420 = (id<RTCI420Buffer>)[frame.buffer toI420];
    rtvc_frame f;
    f.width = (uint32_t)i420.width;
    f.height = (uint32_t)i420.height;
    f.y = i420.dataY;
    f.y_stride = (size_t)i420.strideY;
    f.u = i420.dataU;
    f.u_stride = (size_t)i420.strideU;
    f.v = i420.dataV;
    f.v_stride = (size_t)i420.strideV;
    f.capture_time_us = frame.timeStampNs / 1000;
    f.rtp_timestamp = (uint32_t)frame.timeStamp;
    f.rotation = (uint32_t)frame.rotation;
    rtvc_result r = rtvc_encoder_encode(_encoder, &f, keyframe);
    /* A frame the rate controller drops is not an error (the SDK would switch encoders). */
    return r == RTVC_OK ? kOk : kError;
}

- (int)setBitrate:(uint32_t)bitrateKbit framerate:(uint32_t)framerate {
    if (!_encoder) return (int)kError;
    if (framerate > 0) _framerate = framerate;
    return rtvc_encoder_set_rates(_encoder, bitrateKbit, _framerate) == RTVC_OK ? (int)kOk
                                                                              : (int)kError;
}

- (NSString *)implementationName {
    rtvc_encoder_info info;
    if (_encoder && rtvc_encoder_get_info(_encoder, &info) == RTVC_OK)
        return [NSString stringWithUTF8String:info.implementation_name];
    return [NSString stringWithUTF8String:"rtvc (unavailable)"];
}

- (nullable RTCVideoEncoderQpThresholds *)scalingSettings {
    rtvc_encoder_info info;
    if (!_encoder || rtvc_encoder_get_info(_encoder, &info) != RTVC_OK) return nil;
    return [[RTCVideoEncoderQpThresholds alloc] initWithThresholdsLow:info.qp_low
                                                                 high:info.qp_high];
}

- (NSInteger)resolutionAlignment {
    rtvc_encoder_info info;
    if (!_encoder || rtvc_encoder_get_info(_encoder, &info) != RTVC_OK) return 1;
    return (NSInteger)info.resolution_alignment;
}

@end

@implementation RTCRtvcVideoEncoderFactory {
    rtvc_encoder_factory *_factory;
}

static void OnFallback(void *userdata, const rtvc_fallback_event *e) {
    RTCRtvcVideoEncoderFactory *self = (__bridge RTCRtvcVideoEncoderFactory *)userdata;
    RTCRtvcFallbackBlock block = self.onFallback;
    if (block)
        block([NSString stringWithUTF8String:e->from], [NSString stringWithUTF8String:e->to],
              [NSString stringWithUTF8String:e->message]);
}

- (instancetype)initSoftwareOnly {
    self = [super init];
    if (self) {
        if (rtvc_encoder_factory_new(&_factory) == RTVC_OK)
            (void)rtvc_encoder_factory_set_fallback_callback(_factory, OnFallback,
                                                             (__bridge void *)self);
        else
            _factory = NULL;
    }
    return self;
}

- (instancetype)init {
    self = [self initSoftwareOnly];
    if (self && _factory)
        (void)rtvc_encoder_factory_register_hardware(
            _factory, "H264", "profile-level-id=42e01f;packetization-mode=1",
            RTCRtvcVideoToolboxH264());
    return self;
}

- (void)dealloc {
    if (_factory) (void)rtvc_encoder_factory_free(_factory);
}

- (BOOL)registerHardwareEncoder:(const rtvc_hw_encoder_vtable *)vtable
                       forCodec:(RTCVideoCodecInfo *)info {
    char name[64], fmtp[256];
    InfoToC(info, name, sizeof name, fmtp, sizeof fmtp);
    return _factory &&
           rtvc_encoder_factory_register_hardware(_factory, name, fmtp, vtable) == RTVC_OK;
}

- (NSArray<RTCVideoCodecInfo *> *)supportedCodecs {
    return Formats(rtvc_encoder_format_count, rtvc_encoder_format);
}

- (NSArray<RTCVideoCodecInfo *> *)implementations {
    return [self supportedCodecs];
}

/* Never nil (a nil encoder silently kills the track): when the asked format cannot be made,
 * an encoder that reports errors, so the SDK's selector can move on. */
- (nullable id<RTCVideoEncoder>)createEncoder:(RTCVideoCodecInfo *)info {
    char name[64], fmtp[256];
    InfoToC(info, name, sizeof name, fmtp, sizeof fmtp);
    rtvc_encoder *encoder = NULL;
    if (!_factory || rtvc_encoder_factory_create(_factory, name, fmtp, &encoder) != RTVC_OK)
        encoder = NULL;
    return [[RTCRtvcVideoEncoder alloc] initWithEncoder:encoder
                                                 isH264:[info.name isEqualToString:@"H264"]];
}

- (RTCVideoEncoderCodecSupport *)queryCodecSupport:(RTCVideoCodecInfo *)info
                                   scalabilityMode:(nullable NSString *)scalabilityMode {
    char name[64], fmtp[256];
    InfoToC(info, name, sizeof name, fmtp, sizeof fmtp);
    bool supported = false, efficient = false;
    if (_factory)
        (void)rtvc_encoder_factory_query(_factory, name, fmtp,
                                         scalabilityMode ? [scalabilityMode UTF8String] : NULL,
                                         &supported, &efficient);
    return [[RTCVideoEncoderCodecSupport alloc] initWithSupported:supported
                                                 isPowerEfficient:efficient];
}

- (nullable id<RTCVideoEncoderSelector>)encoderSelector {
    return self;
}

- (void)registerCurrentEncoderInfo:(RTCVideoCodecInfo *)info {
    (void)info;
}

- (nullable RTCVideoCodecInfo *)encoderForBitrate:(NSInteger)bitrate {
    (void)bitrate;
    return nil;
}

/* rtvc already fell back inside the encoder; if an encoder is broken anyway, H.264 software. */
- (nullable RTCVideoCodecInfo *)encoderForBrokenEncoder {
    NSMutableDictionary<NSString *, NSString *> *p = [NSMutableDictionary dictionary];
    p[@"profile-level-id"] = @"42e01f";
    p[@"packetization-mode"] = @"1";
    p[@"level-asymmetry-allowed"] = @"1";
    return [[RTCVideoCodecInfo alloc] initWithName:@"H264" parameters:p];
}

@end

#pragma mark - Decoder

@interface RTCRtvcVideoDecoder : NSObject <RTCVideoDecoder>
- (instancetype)initWithDecoder:(nullable rtvc_decoder *)decoder;
@end

@implementation RTCRtvcVideoDecoder {
    rtvc_decoder *_decoder;
    RTCVideoDecoderCallback _callback;
}

- (instancetype)initWithDecoder:(nullable rtvc_decoder *)decoder {
    self = [super init];
    if (self) _decoder = decoder;
    return self;
}

- (void)dealloc {
    if (_decoder) (void)rtvc_decoder_free(_decoder);
}

static void OnPicture(void *userdata, const rtvc_picture *p) {
    RTCRtvcVideoDecoder *self = (__bridge RTCRtvcVideoDecoder *)userdata;
    RTCVideoDecoderCallback callback = self->_callback;
    if (!callback || p->format != RTVC_PIXEL_I420) return;
    /* The SDK's I420 initializer copies tight planes (stride = width); rtvc's planes may be
     * padded, so those are packed row by row first. */
    size_t w = p->width, h = p->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
    const uint8_t *y = p->y, *u = p->u, *v = p->v;
    NSMutableData *packed = nil;
    if (p->y_stride != w || p->u_stride != cw || p->v_stride != cw) {
        packed = [NSMutableData dataWithLength:w * h + 2 * cw * ch];
        if (!packed) return;
        uint8_t *dst = packed.mutableBytes;
        for (size_t r = 0; r < h; r++)
            for (size_t c = 0; c < w; c++) dst[r * w + c] = p->y[r * p->y_stride + c];
        uint8_t *du = dst + w * h, *dv = du + cw * ch;
        for (size_t r = 0; r < ch; r++)
            for (size_t c = 0; c < cw; c++) {
                du[r * cw + c] = p->u[r * p->u_stride + c];
                dv[r * cw + c] = p->v[r * p->v_stride + c];
            }
        y = dst;
        u = du;
        v = dv;
    }
    RTCI420Buffer *buffer = [[RTCI420Buffer alloc] initWithWidth:(int)w
                                                          height:(int)h
                                                           dataY:y
                                                           dataU:u
                                                           dataV:v];
    RTCVideoFrame *frame = [[RTCVideoFrame alloc] initWithBuffer:buffer
                                                        rotation:(RTCVideoRotation)p->rotation
                                                     timeStampNs:p->capture_time_us * 1000];
    frame.timeStamp = (int32_t)p->rtp_timestamp;
    callback(frame);
}

- (void)setCallback:(RTCVideoDecoderCallback)callback {
    _callback = callback;
    if (_decoder)
        (void)rtvc_decoder_set_callback(_decoder, RTVC_PIXEL_I420, OnPicture,
                                        (__bridge void *)self);
}

- (NSInteger)startDecodeWithNumberOfCores:(int)numberOfCores {
    if (!_decoder) return kError;
    return rtvc_decoder_configure(_decoder, 1920, 1080,
                                  numberOfCores > 0 ? (uint32_t)numberOfCores : 1) == RTVC_OK
               ? kOk
               : kError;
}

- (NSInteger)releaseDecoder {
    return kOk;
}

- (NSInteger)decode:(RTCEncodedImage *)encodedImage
        missingFrames:(BOOL)missingFrames
    codecSpecificInfo:(nullable id<RTCCodecSpecificInfo>)info
         renderTimeMs:(int64_t)renderTimeMs {
    (void)info;
    (void)renderTimeMs;
    if (!_decoder) return kError;
    NSData *data = encodedImage.buffer;
    rtvc_result r = rtvc_decoder_decode(_decoder, (const uint8_t *)data.bytes, data.length,
                                        encodedImage.timeStamp, encodedImage.captureTimeMs * 1000,
                                        missingFrames);
    /* RTVC_REQUEST_KEYFRAME → an error code: the SDK then asks the sender for a keyframe. */
    return r == RTVC_OK ? kOk : kError;
}

- (NSString *)implementationName {
    return [NSString stringWithUTF8String:"rtvc"];
}

@end

@implementation RTCRtvcVideoDecoderFactory

- (NSArray<RTCVideoCodecInfo *> *)supportedCodecs {
    return Formats(rtvc_decoder_format_count, rtvc_decoder_format);
}

- (nullable id<RTCVideoDecoder>)createDecoder:(RTCVideoCodecInfo *)info {
    char name[64], fmtp[256];
    InfoToC(info, name, sizeof name, fmtp, sizeof fmtp);
    rtvc_decoder *decoder = NULL;
    if (rtvc_decoder_new(name, fmtp, &decoder) != RTVC_OK) decoder = NULL;
    return [[RTCRtvcVideoDecoder alloc] initWithDecoder:decoder];
}

@end
