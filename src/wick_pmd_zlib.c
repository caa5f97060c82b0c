/* permessage-deflate backend on zlib (built with WICK_ZLIB; Debian
 * zlib1g-dev). Raw DEFLATE streams (negative windowBits: RFC 7692 7.2
 * carries no zlib header), with every allocation served from the
 * connection's arena through zalloc: zlib allocates only in its init
 * functions (and the inflate window on first use), never per message, so
 * a bump allocator with a no-op free is enough. With WICK_INFLATE, only
 * the deflate half: wick's inflater receives (wick_pmd_wick.c). */
#include "wick_pmd.h"

#ifdef WICK_ZLIB
#define ZLIB_CONST /* next_in is const: no cast needed for our const input */
#include <zlib.h>

/* zlib's own state besides the window and hash arrays (deflate_state is
 * 5,952 bytes and inflate_state 7,160 on x86-64 with zlib 1.2.13), with
 * room for other builds of zlib, plus the z_stream and 16-byte alignment
 * of each allocation. */
#define ZLIB_DEFLATE_STATE 6656U
#define ZLIB_INFLATE_STATE 7680U
#define ZLIB_ALIGN_SLACK   96U /* 16 bytes for each of 6 allocations */

bool wick__pmd_be_present(void)
{
    return true;
}

bool wick__pmd_be_can_deflate(void)
{
    return true;
}

#ifndef WICK_INFLATE /* else wick's inflater receives (wick_pmd_wick.c) */
size_t wick__pmd_be_inflate_size(unsigned bits)
{
    return sizeof(z_stream) + ZLIB_INFLATE_STATE + ((size_t)1 << bits) + ZLIB_ALIGN_SLACK;
}

#endif /* WICK_INFLATE */

size_t wick__pmd_be_deflate_size(unsigned bits, unsigned mem_level)
{
    /* window 2 * 2^bits bytes, prev 2^bits * 2, head 2^(m+7) * 2, pending
     * 2^(m+6) * 4 (zlib's deflate.c). */
    return sizeof(z_stream) + ZLIB_DEFLATE_STATE + ((size_t)1 << (bits + 2)) +
           ((size_t)1 << (mem_level + 9)) + ZLIB_ALIGN_SLACK;
}

static voidpf arena_zalloc(voidpf opaque, uInt items, uInt size)
{
    if (size != 0 && items > (uInt)-1 / size) {
        return Z_NULL;
    }
    return wick__pmd_arena_alloc((wick_pmd *)opaque, (size_t)items * size);
}

static void arena_zfree(voidpf opaque, voidpf p)
{
    (void)opaque; /* the arena is freed with the connection, as a whole */
    (void)p;
}

static z_stream *new_stream(wick_pmd *pmd)
{
    z_stream *z = (z_stream *)wick__pmd_arena_alloc(pmd, sizeof(z_stream));
    if (z != NULL) {
        memset(z, 0, sizeof(*z));
        z->zalloc = arena_zalloc;
        z->zfree = arena_zfree;
        z->opaque = pmd;
    }
    return z;
}

#ifndef WICK_INFLATE
wick_err wick__pmd_be_inflate_init(wick_pmd *pmd, unsigned bits)
{
    z_stream *z = new_stream(pmd);
    if (z == NULL) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    if (inflateInit2(z, -(int)bits) != Z_OK) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    pmd->priv_.inflater = z;
    return WICK_OK;
}
#endif /* WICK_INFLATE */

wick_err wick__pmd_be_deflate_init(wick_pmd *pmd, unsigned bits, unsigned mem_level, int level)
{
    z_stream *z = new_stream(pmd);
    if (z == NULL) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    if (deflateInit2(z, level, Z_DEFLATED, -(int)bits, (int)mem_level, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    pmd->priv_.deflater = z;
    return WICK_OK;
}

/* zlib counts in uInt; feed it at most this much per call. */
#define ZLIB_MAX_IN ((size_t)1 << 30)

#ifndef WICK_INFLATE
wick_err wick__pmd_be_inflate(wick_pmd *pmd, const uint8_t *in, size_t *in_len, uint8_t *out,
                              size_t *out_len)
{
    z_stream *z = (z_stream *)pmd->priv_.inflater;
    size_t n = *in_len < ZLIB_MAX_IN ? *in_len : ZLIB_MAX_IN;
    z->next_in = in;
    z->avail_in = (uInt)n;
    z->next_out = out;
    z->avail_out = (uInt)*out_len;
    int rc = inflate(z, Z_SYNC_FLUSH);
    *in_len = n - z->avail_in;
    *out_len -= z->avail_out;
    if (*in_len != 0 || *out_len != 0) {
        /* zlib's data_type: +128 when inflate() stopped where a block
         * header comes next (its mode TYPE). A call that moves nothing
         * (e.g. draining after a pause, RFC 7692 tail already in) clears
         * it, so it is kept from the last call that moved something. */
        pmd->priv_.be_boundary = (z->data_type & 128) != 0;
    }
    if (rc == Z_STREAM_END) {
        return WICK_DONE;
    }
    /* Z_BUF_ERROR: no progress possible (input used up, or output full). */
    return rc == Z_OK || rc == Z_BUF_ERROR ? WICK_OK : WICK_ERR_INFLATE;
}

bool wick__pmd_be_inflate_boundary(const wick_pmd *pmd)
{
    return pmd->priv_.be_boundary;
}

wick_err wick__pmd_be_inflate_reset(wick_pmd *pmd, bool keep)
{
    /* inflateResetKeep(): zlib's new stream that keeps the window. */
    z_stream *z = (z_stream *)pmd->priv_.inflater;
    return (keep ? inflateResetKeep(z) : inflateReset(z)) == Z_OK ? WICK_OK : WICK_ERR_EXTENSION;
}
#endif /* WICK_INFLATE */

wick_err wick__pmd_be_deflate(wick_pmd *pmd, const uint8_t *in, size_t len, uint8_t *out,
                              size_t cap, size_t *out_len)
{
    z_stream *z = (z_stream *)pmd->priv_.deflater;
    z->next_out = out;
    z->avail_out = (uInt)(cap < ZLIB_MAX_IN ? cap : ZLIB_MAX_IN);
    size_t left = len;
    int flush;
    do {
        size_t n = left < ZLIB_MAX_IN ? left : ZLIB_MAX_IN;
        left -= n;
        flush = left == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        z->next_in = in;
        z->avail_in = (uInt)n;
        in += n;
        int rc = deflate(z, flush);
        /* The bound guarantees room: input left over, or a flush that
         * filled the output to the last byte, means it did not hold. */
        if ((rc != Z_OK && rc != Z_BUF_ERROR) || z->avail_in != 0) {
            return WICK_ERR_EXTENSION;
        }
    } while (flush != Z_SYNC_FLUSH);
    if (z->avail_out == 0) {
        return WICK_ERR_EXTENSION;
    }
    *out_len = (size_t)(z->next_out - out);
    if (*out_len == 0 && cap >= 5) {
        /* zlib refuses a second flush with no input in between
         * (Z_BUF_ERROR, no output), but an empty frame still needs one: the
         * stream is byte-aligned after the last flush, so an empty stored
         * block is a valid continuation (RFC 7692 7.2.3.6). */
        static const uint8_t empty_stored[5] = {0x00, 0x00, 0x00, 0xFF, 0xFF};
        memcpy(out, empty_stored, 5);
        *out_len = 5;
    }
    return WICK_OK;
}

wick_err wick__pmd_be_deflate_reset(wick_pmd *pmd)
{
    return deflateReset((z_stream *)pmd->priv_.deflater) == Z_OK ? WICK_OK : WICK_ERR_EXTENSION;
}

void wick__pmd_be_end(wick_pmd *pmd)
{
#ifndef WICK_INFLATE
    if (pmd->priv_.inflater != NULL) {
        (void)inflateEnd((z_stream *)pmd->priv_.inflater);
    }
#endif
    pmd->priv_.inflater = NULL;
    if (pmd->priv_.deflater != NULL) {
        (void)deflateEnd((z_stream *)pmd->priv_.deflater);
        pmd->priv_.deflater = NULL;
    }
}

#endif /* WICK_ZLIB */
