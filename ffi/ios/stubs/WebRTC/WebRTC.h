/* A minimal stand-in for the WebRTC iOS SDK's codec protocols (RTCVideoEncoderFactory,
 * RTCVideoEncoder, RTCVideoDecoderFactory, RTCVideoDecoder and the types they use), written from
 * the SDK's public headers only so that the RTCRtvc shim can be compiled with clang on Linux. */
#ifndef RTVC_STUB_WEBRTC_H
#define RTVC_STUB_WEBRTC_H

#import <Foundation/Foundation.h>

NS_ASSUME_NONNULL_BEGIN

typedef enum RTCFrameType : NSUInteger {
    RTCFrameTypeEmptyFrame = 0,
    RTCFrameTypeAudioFrameSpeech = 1,
    RTCFrameTypeAudioFrameCN = 2,
    RTCFrameTypeVideoFrameKey = 3,
    RTCFrameTypeVideoFrameDelta = 4,
} RTCFrameType;

typedef enum RTCVideoRotation : NSInteger {
    RTCVideoRotation_0 = 0,
    RTCVideoRotation_90 = 90,
    RTCVideoRotation_180 = 180,
    RTCVideoRotation_270 = 270,
} RTCVideoRotation;

typedef enum RTCH264PacketizationMode : NSUInteger {
    RTCH264PacketizationModeNonInterleaved = 0,
    RTCH264PacketizationModeSingleNalUnit = 1,
} RTCH264PacketizationMode;

@interface RTCVideoCodecInfo : NSObject
- (instancetype)initWithName:(NSString *)name;
- (instancetype)initWithName:(NSString *)name
                  parameters:(nullable NSDictionary<NSString *, NSString *> *)parameters;
@property(nonatomic, readonly) NSString *name;
@property(nonatomic, readonly) NSDictionary<NSString *, NSString *> *parameters;
@end

@interface RTCVideoEncoderCodecSupport : NSObject
- (instancetype)initWithSupported:(BOOL)isSupported isPowerEfficient:(BOOL)isPowerEfficient;
@end

@interface RTCVideoEncoderSettings : NSObject
@property(nonatomic, strong) NSString *name;
@property(nonatomic, assign) unsigned short width;
@property(nonatomic, assign) unsigned short height;
@property(nonatomic, assign) unsigned int startBitrate; /* kbps */
@property(nonatomic, assign) unsigned int maxBitrate;
@property(nonatomic, assign) unsigned int minBitrate;
@property(nonatomic, assign) uint32_t maxFramerate;
@property(nonatomic, assign) unsigned int qpMax;
@end

@interface RTCVideoEncoderQpThresholds : NSObject
- (instancetype)initWithThresholdsLow:(NSInteger)low high:(NSInteger)high;
@end

@protocol RTCVideoFrameBuffer <NSObject>
@property(nonatomic, readonly) int width;
@property(nonatomic, readonly) int height;
- (id<RTCVideoFrameBuffer>)toI420;
@end

@protocol RTCI420Buffer <RTCVideoFrameBuffer>
@property(nonatomic, readonly) const uint8_t *dataY;
@property(nonatomic, readonly) const uint8_t *dataU;
@property(nonatomic, readonly) const uint8_t *dataV;
@property(nonatomic, readonly) int strideY;
@property(nonatomic, readonly) int strideU;
@property(nonatomic, readonly) int strideV;
@end

@interface RTCI420Buffer : NSObject <RTCI420Buffer>
- (instancetype)initWithWidth:(int)width
                       height:(int)height
                        dataY:(const uint8_t *)dataY
                        dataU:(const uint8_t *)dataU
                        dataV:(const uint8_t *)dataV;
@end

@interface RTCVideoFrame : NSObject
@property(nonatomic, readonly) int width;
@property(nonatomic, readonly) int height;
@property(nonatomic, readonly) RTCVideoRotation rotation;
@property(nonatomic, assign) int32_t timeStamp;
@property(nonatomic, readonly) int64_t timeStampNs;
@property(nonatomic, readonly) id<RTCVideoFrameBuffer> buffer;
- (instancetype)initWithBuffer:(id<RTCVideoFrameBuffer>)frameBuffer
                      rotation:(RTCVideoRotation)rotation
                   timeStampNs:(int64_t)timeStampNs;
@end

@interface RTCEncodedImage : NSObject
@property(nonatomic, strong) NSData *buffer;
@property(nonatomic, assign) int32_t encodedWidth;
@property(nonatomic, assign) int32_t encodedHeight;
@property(nonatomic, assign) uint32_t timeStamp;
@property(nonatomic, assign) int64_t captureTimeMs;
@property(nonatomic, assign) RTCFrameType frameType;
@property(nonatomic, assign) RTCVideoRotation rotation;
@property(nonatomic, strong, nullable) NSNumber *qp;
@end

@protocol RTCCodecSpecificInfo <NSObject>
@end

@interface RTCCodecSpecificInfoH264 : NSObject <RTCCodecSpecificInfo>
@property(nonatomic, assign) RTCH264PacketizationMode packetizationMode;
@end

typedef BOOL (^RTCVideoEncoderCallback)(RTCEncodedImage *frame,
                                        id<RTCCodecSpecificInfo> _Nullable info);
typedef void (^RTCVideoDecoderCallback)(RTCVideoFrame *frame);

@protocol RTCVideoEncoder <NSObject>
- (void)setCallback:(nullable RTCVideoEncoderCallback)callback;
- (NSInteger)startEncodeWithSettings:(RTCVideoEncoderSettings *)settings
                       numberOfCores:(int)numberOfCores;
- (NSInteger)releaseEncoder;
- (NSInteger)encode:(RTCVideoFrame *)frame
    codecSpecificInfo:(nullable id<RTCCodecSpecificInfo>)info
           frameTypes:(NSArray<NSNumber *> *)frameTypes;
- (int)setBitrate:(uint32_t)bitrateKbit framerate:(uint32_t)framerate;
- (NSString *)implementationName;
- (nullable RTCVideoEncoderQpThresholds *)scalingSettings;
@optional
@property(nonatomic, readonly) NSInteger resolutionAlignment;
@end

@protocol RTCVideoEncoderSelector <NSObject>
- (void)registerCurrentEncoderInfo:(RTCVideoCodecInfo *)info;
- (nullable RTCVideoCodecInfo *)encoderForBitrate:(NSInteger)bitrate;
- (nullable RTCVideoCodecInfo *)encoderForBrokenEncoder;
@end

@protocol RTCVideoEncoderFactory <NSObject>
- (nullable id<RTCVideoEncoder>)createEncoder:(RTCVideoCodecInfo *)info;
- (NSArray<RTCVideoCodecInfo *> *)supportedCodecs;
@optional
- (NSArray<RTCVideoCodecInfo *> *)implementations;
- (nullable id<RTCVideoEncoderSelector>)encoderSelector;
- (RTCVideoEncoderCodecSupport *)queryCodecSupport:(RTCVideoCodecInfo *)info
                                   scalabilityMode:(nullable NSString *)scalabilityMode;
@end

@protocol RTCVideoDecoder <NSObject>
- (void)setCallback:(RTCVideoDecoderCallback)callback;
- (NSInteger)startDecodeWithNumberOfCores:(int)numberOfCores;
- (NSInteger)releaseDecoder;
- (NSInteger)decode:(RTCEncodedImage *)encodedImage
        missingFrames:(BOOL)missingFrames
    codecSpecificInfo:(nullable id<RTCCodecSpecificInfo>)info
         renderTimeMs:(int64_t)renderTimeMs;
- (NSString *)implementationName;
@end

@protocol RTCVideoDecoderFactory <NSObject>
- (nullable id<RTCVideoDecoder>)createDecoder:(RTCVideoCodecInfo *)info;
- (NSArray<RTCVideoCodecInfo *> *)supportedCodecs;
@end

NS_ASSUME_NONNULL_END

#endif
