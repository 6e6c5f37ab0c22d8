// CIsal: ISA-L's inflate and CRC-32 for Swift, found at run time. Declares only npyexp's own small API, never
// ISA-L's structs, so Swift code and this header build the same with or without libisal-dev installed.
// The implementation (isal.c) says how the library is found and why.
#ifndef NPYEXP_CISAL_H
#define NPYEXP_CISAL_H
#include <stddef.h>
#include <stdint.h>

/// One raw-deflate decompression stream of ISA-L (its inflate_state), owned by the caller.
typedef struct npyexp_isal_inflater npyexp_isal_inflater;

/// Loads libisal.so.2 once (thread-safe); 1 when ISA-L can be used, 0 when not (see npyexp_isal_status).
int npyexp_isal_load(void);

/// After npyexp_isal_load: ISA-L's version ("2.30.0") when loaded, otherwise why it is not available.
const char *npyexp_isal_status(void);

/// A new raw-deflate stream that also keeps the gzip CRC-32 of its output; NULL when memory runs out.
/// Only after npyexp_isal_load() returned 1.
npyexp_isal_inflater *npyexp_isal_inflater_new(void);

/// Frees a stream from npyexp_isal_inflater_new (NULL is ignored).
void npyexp_isal_inflater_free(npyexp_isal_inflater *inflater);

/// Makes the stream ready for a new deflate stream (CRC and counts back to zero).
void npyexp_isal_inflater_reset(npyexp_isal_inflater *inflater);

/// One call of isal_inflate over input[0..<input_count] into output[0..<output_count]; stores the bytes taken and
/// made, and in *finished 1 once the deflate stream has ended and all its output has been delivered.
/// Returns ISA-L's return code unchanged (0 = no error; negative = bad data); Swift maps the codes.
int npyexp_isal_inflate(npyexp_isal_inflater *inflater, const uint8_t *input, uint32_t input_count,
                        uint32_t *input_used, uint8_t *output, uint32_t output_count, uint32_t *output_made,
                        int *finished);

/// CRC-32 (gzip) of everything the stream has produced since the last reset.
uint32_t npyexp_isal_inflater_crc(const npyexp_isal_inflater *inflater);

/// After the stream finished: moves the whole bytes ISA-L read past the end of the deflate data (at most 8, kept
/// in its bit buffer) into bytes[0..<8] in input order and returns how many there were.
int npyexp_isal_inflater_take_read_ahead(npyexp_isal_inflater *inflater, uint8_t bytes[8]);

/// ISA-L's gzip CRC-32 of bytes[0..<count], continuing from crc. Only after npyexp_isal_load() returned 1.
uint32_t npyexp_isal_crc32(uint32_t crc, const void *bytes, size_t count);

#endif
