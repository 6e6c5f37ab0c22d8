// CIsal: ISA-L (Intel's Intelligent Storage Acceleration Library) inflate and CRC-32, used when the machine has
// it; zlib stays the fallback that always works. Relies on libdl (dlopen) and, at build time only, on the
// ISA-L headers (Debian libisal-dev); at run time on libisal.so.2 (Debian libisal2).
//
// Design, and why:
// - The ISA-L code path is compiled only when <isa-l/igzip_lib.h> is present (__has_include). ISA-L's
//   inflate_state is tens of kilobytes of versioned tables and buffers; declaring it by hand would break
//   silently on the next layout change, while the header always matches the library it ships with.
// - The library is opened with dlopen at run time, never linked: a binary built with the headers still starts
//   on a machine without libisal2 (it then inflates with zlib), and a build without libisal-dev needs no change
//   in Package.swift (no pkg-config, no link flag that would fail). The file name libisal.so.2 is the soname,
//   ISA-L's promise that the struct layouts of the headers we compiled against still hold.
// - Nothing here interprets ISA-L return codes: they go to Swift unchanged and are mapped there in one place.
// This file is the only place that knows whether ISA-L was compiled in (every such #if is here).
#include "cisal.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if __has_include(<isa-l/igzip_lib.h>) && __has_include(<isa-l/crc.h>)
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#if __has_include(<isa-l.h>)
#include <isa-l.h>
#endif

struct npyexp_isal_inflater {
    struct inflate_state state;
};

// The entry points, resolved once; their types come from ISA-L's own declarations.
static struct {
    __typeof__(&isal_inflate_init) inflate_init;
    __typeof__(&isal_inflate_reset) inflate_reset;
    __typeof__(&isal_inflate) inflate;
    __typeof__(&crc32_gzip_refl) crc32;
} isal;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded;
static char status[256];

static void load(void) {
    void *library = dlopen("libisal.so.2", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *why = dlerror();
        snprintf(status, sizeof status, "%s", why ? why : "libisal.so.2: cannot be opened");
        return;
    }
    isal.inflate_init = (__typeof__(isal.inflate_init))dlsym(library, "isal_inflate_init");
    isal.inflate_reset = (__typeof__(isal.inflate_reset))dlsym(library, "isal_inflate_reset");
    isal.inflate = (__typeof__(isal.inflate))dlsym(library, "isal_inflate");
    isal.crc32 = (__typeof__(isal.crc32))dlsym(library, "crc32_gzip_refl");
    if (!isal.inflate_init || !isal.inflate_reset || !isal.inflate || !isal.crc32) {
        snprintf(status, sizeof status, "libisal.so.2 lacks isal_inflate or crc32_gzip_refl");
        dlclose(library);
        return;
    }
#ifdef ISAL_MAJOR_VERSION
    snprintf(status, sizeof status, "%d.%d.%d", ISAL_MAJOR_VERSION, ISAL_MINOR_VERSION, ISAL_PATCH_VERSION);
#else
    snprintf(status, sizeof status, "2");
#endif
    loaded = 1;
}

int npyexp_isal_load(void) {
    pthread_once(&load_once, load);
    return loaded;
}

const char *npyexp_isal_status(void) {
    npyexp_isal_load();
    return status;
}

npyexp_isal_inflater *npyexp_isal_inflater_new(void) {
    if (!npyexp_isal_load()) return NULL;
    npyexp_isal_inflater *inflater = aligned_alloc(64, (sizeof *inflater + 63) & ~(size_t)63);
    if (inflater == NULL) return NULL;
    npyexp_isal_inflater_reset(inflater);
    return inflater;
}

void npyexp_isal_inflater_free(npyexp_isal_inflater *inflater) { free(inflater); }

void npyexp_isal_inflater_reset(npyexp_isal_inflater *inflater) {
    isal.inflate_init(&inflater->state);
    // Raw deflate (we parse the gzip header and trailer ourselves) with the gzip CRC of the output kept.
    inflater->state.crc_flag = ISAL_GZIP_NO_HDR;
}

int npyexp_isal_inflate(npyexp_isal_inflater *inflater, const uint8_t *input, uint32_t input_count,
                        uint32_t *input_used, uint8_t *output, uint32_t output_count, uint32_t *output_made,
                        int *finished) {
    struct inflate_state *state = &inflater->state;
    state->next_in = (uint8_t *)input;  // ISA-L never writes its input; the field is just not const.
    state->avail_in = input_count;
    state->next_out = output;
    state->avail_out = output_count;
    int code = isal.inflate(state);
    *input_used = input_count - state->avail_in;
    *output_made = output_count - state->avail_out;
    *finished = state->block_state == ISAL_BLOCK_FINISH;
    state->next_in = NULL;
    state->next_out = NULL;
    return code;
}

uint32_t npyexp_isal_inflater_crc(const npyexp_isal_inflater *inflater) { return inflater->state.crc; }

int npyexp_isal_inflater_take_read_ahead(npyexp_isal_inflater *inflater, uint8_t bytes[8]) {
    struct inflate_state *state = &inflater->state;
    // ISA-L refills its 64-bit buffer a byte at a time: below the whole bytes lie the last bits of the final
    // deflate byte, which are padding.
    int padding = state->read_in_length % 8, count = state->read_in_length / 8;
    uint64_t rest = count > 0 ? state->read_in >> padding : 0;
    for (int i = 0; i < count; i++) bytes[i] = (uint8_t)(rest >> (8 * i));
    state->read_in = 0;
    state->read_in_length = 0;
    return count;
}

uint32_t npyexp_isal_crc32(uint32_t crc, const void *bytes, size_t count) {
    return isal.crc32(crc, (const unsigned char *)bytes, count);
}

#else  // Built without the ISA-L headers: every entry point says "not available"; Swift never calls the rest.

struct npyexp_isal_inflater {
    int unused;
};

int npyexp_isal_load(void) { return 0; }

const char *npyexp_isal_status(void) {
    return "npyexp was built without the ISA-L headers (install libisal-dev, then rebuild from clean)";
}

npyexp_isal_inflater *npyexp_isal_inflater_new(void) { return NULL; }
void npyexp_isal_inflater_free(npyexp_isal_inflater *inflater) { (void)inflater; }
void npyexp_isal_inflater_reset(npyexp_isal_inflater *inflater) { (void)inflater; abort(); }

int npyexp_isal_inflate(npyexp_isal_inflater *inflater, const uint8_t *input, uint32_t input_count,
                        uint32_t *input_used, uint8_t *output, uint32_t output_count, uint32_t *output_made,
                        int *finished) {
    (void)inflater; (void)input; (void)input_count; (void)input_used;
    (void)output; (void)output_count; (void)output_made; (void)finished;
    abort();
}

uint32_t npyexp_isal_inflater_crc(const npyexp_isal_inflater *inflater) { (void)inflater; abort(); }

int npyexp_isal_inflater_take_read_ahead(npyexp_isal_inflater *inflater, uint8_t bytes[8]) {
    (void)inflater; (void)bytes;
    abort();
}

uint32_t npyexp_isal_crc32(uint32_t crc, const void *bytes, size_t count) {
    (void)crc; (void)bytes; (void)count;
    abort();
}
#endif
