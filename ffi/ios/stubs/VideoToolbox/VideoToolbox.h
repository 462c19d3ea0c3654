/* A minimal stand-in for VideoToolbox, CoreMedia, CoreVideo and CoreFoundation as the shim's
 * VideoToolbox H.264 encoder uses them, declared from Apple's public headers only so that it can
 * be compiled with clang on Linux. On a Mac the real frameworks are used instead. */
#ifndef RTVC_STUB_VIDEOTOOLBOX_H
#define RTVC_STUB_VIDEOTOOLBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int32_t OSStatus;
typedef unsigned char Boolean;
typedef const void *CFTypeRef;
typedef const struct __CFAllocator *CFAllocatorRef;
typedef const struct __CFString *CFStringRef;
typedef const struct __CFDictionary *CFDictionaryRef;
typedef const struct __CFBoolean *CFBooleanRef;
typedef const struct __CFNumber *CFNumberRef;
typedef const struct __CFArray *CFArrayRef;
typedef long CFIndex;
typedef CFIndex CFNumberType;
enum { kCFNumberSInt32Type = 3 };
extern const CFBooleanRef kCFBooleanTrue;
extern const CFBooleanRef kCFBooleanFalse;
CFNumberRef CFNumberCreate(CFAllocatorRef allocator, CFNumberType type, const void *valuePtr);
CFDictionaryRef CFDictionaryCreate(CFAllocatorRef allocator, const void **keys,
                                   const void **values, CFIndex numValues,
                                   const void *keyCallBacks, const void *valueCallBacks);
extern const int kCFTypeDictionaryKeyCallBacks;
extern const int kCFTypeDictionaryValueCallBacks;
void CFRelease(CFTypeRef cf);
CFIndex CFArrayGetCount(CFArrayRef array);
const void *CFArrayGetValueAtIndex(CFArrayRef array, CFIndex idx);
const void *CFDictionaryGetValue(CFDictionaryRef dict, const void *key);

typedef struct {
    int64_t value;
    int32_t timescale;
    uint32_t flags;
    int64_t epoch;
} CMTime;
extern const CMTime kCMTimeInvalid;
CMTime CMTimeMake(int64_t value, int32_t timescale);
typedef uint32_t CMVideoCodecType;
enum { kCMVideoCodecType_H264 = 'avc1' };
typedef struct opaqueCMSampleBuffer *CMSampleBufferRef;
typedef struct opaqueCMBlockBuffer *CMBlockBufferRef;
typedef const struct opaqueCMFormatDescription *CMFormatDescriptionRef;
CMBlockBufferRef CMSampleBufferGetDataBuffer(CMSampleBufferRef sbuf);
CMFormatDescriptionRef CMSampleBufferGetFormatDescription(CMSampleBufferRef sbuf);
CFArrayRef CMSampleBufferGetSampleAttachmentsArray(CMSampleBufferRef sbuf, Boolean create);
extern const CFStringRef kCMSampleAttachmentKey_NotSync;
OSStatus CMBlockBufferGetDataPointer(CMBlockBufferRef buf, size_t offset,
                                     size_t *lengthAtOffset, size_t *totalLength,
                                     char **dataPointer);
OSStatus CMVideoFormatDescriptionGetH264ParameterSetAtIndex(
    CMFormatDescriptionRef desc, size_t index, const uint8_t **parameterSetPointer,
    size_t *parameterSetSize, size_t *parameterSetCount, int *nalUnitHeaderLength);

typedef struct __CVBuffer *CVPixelBufferRef;
typedef CVPixelBufferRef CVImageBufferRef;
typedef int32_t CVReturn;
typedef uint64_t CVOptionFlags;
enum { kCVReturnSuccess = 0 };
enum { kCVPixelFormatType_420YpCbCr8BiPlanarVideoRange = '420v' };
CVReturn CVPixelBufferCreate(CFAllocatorRef allocator, size_t width, size_t height,
                             uint32_t pixelFormatType, CFDictionaryRef pixelBufferAttributes,
                             CVPixelBufferRef *pixelBufferOut);
CVReturn CVPixelBufferLockBaseAddress(CVPixelBufferRef pixelBuffer, CVOptionFlags lockFlags);
CVReturn CVPixelBufferUnlockBaseAddress(CVPixelBufferRef pixelBuffer, CVOptionFlags unlockFlags);
void *CVPixelBufferGetBaseAddressOfPlane(CVPixelBufferRef pixelBuffer, size_t planeIndex);
size_t CVPixelBufferGetBytesPerRowOfPlane(CVPixelBufferRef pixelBuffer, size_t planeIndex);
void CVPixelBufferRelease(CVPixelBufferRef texture);

typedef struct OpaqueVTCompressionSession *VTCompressionSessionRef;
typedef uint32_t VTEncodeInfoFlags;
typedef void (*VTCompressionOutputCallback)(void *outputCallbackRefCon, void *sourceFrameRefCon,
                                            OSStatus status, VTEncodeInfoFlags infoFlags,
                                            CMSampleBufferRef sampleBuffer);
OSStatus VTCompressionSessionCreate(CFAllocatorRef allocator, int32_t width, int32_t height,
                                    CMVideoCodecType codecType,
                                    CFDictionaryRef encoderSpecification,
                                    CFDictionaryRef sourceImageBufferAttributes,
                                    CFAllocatorRef compressedDataAllocator,
                                    VTCompressionOutputCallback outputCallback,
                                    void *outputCallbackRefCon,
                                    VTCompressionSessionRef *compressionSessionOut);
OSStatus VTSessionSetProperty(CFTypeRef session, CFStringRef propertyKey, CFTypeRef propertyValue);
OSStatus VTCompressionSessionPrepareToEncodeFrames(VTCompressionSessionRef session);
OSStatus VTCompressionSessionEncodeFrame(VTCompressionSessionRef session,
                                         CVImageBufferRef imageBuffer,
                                         CMTime presentationTimeStamp, CMTime duration,
                                         CFDictionaryRef frameProperties,
                                         void *sourceFrameRefcon,
                                         VTEncodeInfoFlags *infoFlagsOut);
OSStatus VTCompressionSessionCompleteFrames(VTCompressionSessionRef session,
                                            CMTime completeUntilPresentationTimeStamp);
void VTCompressionSessionInvalidate(VTCompressionSessionRef session);
extern const CFStringRef kVTCompressionPropertyKey_RealTime;
extern const CFStringRef kVTCompressionPropertyKey_ProfileLevel;
extern const CFStringRef kVTProfileLevel_H264_ConstrainedBaseline_AutoLevel;
extern const CFStringRef kVTCompressionPropertyKey_AllowFrameReordering;
extern const CFStringRef kVTCompressionPropertyKey_AverageBitRate;
extern const CFStringRef kVTCompressionPropertyKey_ExpectedFrameRate;
extern const CFStringRef kVTCompressionPropertyKey_MaxKeyFrameInterval;
extern const CFStringRef kVTEncodeFrameOptionKey_ForceKeyFrame;

#endif
