// CZlib: the system zlib (zlib1g-dev) for Swift. zlib's init entry points are C macros that pass
// ZLIB_VERSION and sizeof(z_stream); Swift cannot call macros, so these inline functions do it.
#ifndef NPYEXP_CZLIB_SHIM_H
#define NPYEXP_CZLIB_SHIM_H
#include <zlib.h>

static inline int npyexp_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}

static inline int npyexp_deflateInit2(z_streamp strm, int level, int method, int windowBits,
                                      int memLevel, int strategy) {
    return deflateInit2(strm, level, method, windowBits, memLevel, strategy);
}
#endif
