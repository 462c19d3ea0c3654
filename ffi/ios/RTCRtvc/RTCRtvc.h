/* RTCRtvc: rtvc's codecs for the WebRTC iOS SDK, over the C ABI (rtvc.h).
 *
 *   RTCRtvcVideoEncoderFactory *enc = [[RTCRtvcVideoEncoderFactory alloc] init];
 *   RTCRtvcVideoDecoderFactory *dec = [[RTCRtvcVideoDecoderFactory alloc] init];
 *   RTCPeerConnectionFactory *f =
 *       [[RTCPeerConnectionFactory alloc] initWithEncoderFactory:enc decoderFactory:dec];
 *
 * A hardware encoder (VideoToolbox H.264) is registered through rtvc's vtable with
 * -registerHardwareEncoder:forCodec:; when it fails (kVTInvalidSessionErr after backgrounding),
 * rtvc switches to its software encoder with a keyframe and calls onFallback — the SDK has no
 * such fallback of its own. The SDK's Objective-C bridge carries codec-specific info for H.264
 * only: AV1 *encoding* through it is experimental until verified on a device (AV1 decoding needs
 * no codec info). */
#import <Foundation/Foundation.h>
#import <WebRTC/WebRTC.h>

#include "rtvc.h"

NS_ASSUME_NONNULL_BEGIN

/* The VideoToolbox H.264 encoder as an rtvc hardware vtable (RTCRtvcVideoToolbox.m). */
const rtvc_hw_encoder_vtable *RTCRtvcVideoToolboxH264(void);

/* Called when an encoder gives up its hardware: from, to, the reason in words. */
typedef void (^RTCRtvcFallbackBlock)(NSString *from, NSString *to, NSString *reason);

/* -init registers VideoToolbox H.264 (42e01f, packetization mode 1) at the preferred tier;
 * -initSoftwareOnly does not. */
@interface RTCRtvcVideoEncoderFactory : NSObject <RTCVideoEncoderFactory, RTCVideoEncoderSelector>
- (instancetype)initSoftwareOnly;
/* Registers the host's hardware encoder (the table is copied; its functions must outlive the
 * encoders). Returns NO for a format rtvc cannot parse or a table without create/encode/destroy. */
- (BOOL)registerHardwareEncoder:(const rtvc_hw_encoder_vtable *)vtable
                       forCodec:(RTCVideoCodecInfo *)info;
@property(nonatomic, copy, nullable) RTCRtvcFallbackBlock onFallback;
@end

@interface RTCRtvcVideoDecoderFactory : NSObject <RTCVideoDecoderFactory>
@end

NS_ASSUME_NONNULL_END
