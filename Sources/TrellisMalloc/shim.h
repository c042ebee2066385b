/* glibc's allocator tuning (mallopt), for the trellis executable (Sources/trellis/Allocator.swift). */
#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif
