/* A minimal stand-in for Apple's Foundation, written only so that the RTCRtvc shim can be
 * compiled with clang on Linux (-fsyntax-only, and to a Mach-O object for arm64-apple-ios).
 * It declares just what the shim uses; on a Mac the real framework is used instead. */
#ifndef RTVC_STUB_FOUNDATION_H
#define RTVC_STUB_FOUNDATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef signed char BOOL;
#define YES ((BOOL)1)
#define NO ((BOOL)0)
#define nil ((id)0)
typedef long NSInteger;
typedef unsigned long NSUInteger;
#define NS_ASSUME_NONNULL_BEGIN _Pragma("clang assume_nonnull begin")
#define NS_ASSUME_NONNULL_END _Pragma("clang assume_nonnull end")

typedef struct objc_class *Class;

NS_ASSUME_NONNULL_BEGIN

__attribute__((objc_root_class))
@interface NSObject {
    Class isa;
}
+ (instancetype)alloc;
- (instancetype)init;
@end

@protocol NSObject
@end

@interface NSString : NSObject
+ (instancetype)stringWithUTF8String:(const char *)s;
- (nullable const char *)UTF8String;
- (BOOL)isEqualToString:(NSString *)other;
@end

@interface NSNumber : NSObject
+ (NSNumber *)numberWithInt:(int)v;
@property(readonly) int intValue;
@end

@interface NSData : NSObject
+ (instancetype)dataWithBytes:(const void *)bytes length:(NSUInteger)length;
@property(readonly) const void *bytes;
@property(readonly) NSUInteger length;
@end

@interface NSMutableData : NSData
+ (nullable instancetype)dataWithLength:(NSUInteger)length;
@property(readonly) void *mutableBytes;
@end

@interface NSArray<ObjectType> : NSObject
+ (instancetype)arrayWithArray:(NSArray<ObjectType> *)array;
@property(readonly) NSUInteger count;
- (ObjectType)objectAtIndex:(NSUInteger)index;
- (ObjectType)objectAtIndexedSubscript:(NSUInteger)index;
@end

@interface NSMutableArray<ObjectType> : NSArray<ObjectType>
+ (instancetype)array;
- (void)addObject:(ObjectType)object;
@end

@interface NSDictionary<KeyType, ObjectType> : NSObject
+ (instancetype)dictionary;
@property(readonly) NSUInteger count;
- (nullable ObjectType)objectForKey:(KeyType)key;
- (nullable ObjectType)objectForKeyedSubscript:(KeyType)key;
@end

@interface NSMutableDictionary<KeyType, ObjectType> : NSDictionary<KeyType, ObjectType>
+ (instancetype)dictionary;
- (void)setObject:(ObjectType)object forKeyedSubscript:(KeyType)key;
@end

NS_ASSUME_NONNULL_END

#endif
