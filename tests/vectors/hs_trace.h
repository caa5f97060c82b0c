/* Test-only helpers that render handshake parse results as one line of
 * text for the split driver (tests/support/split.h). */
#ifndef WICK_VECTORS_HS_TRACE_H
#define WICK_VECTORS_HS_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "support/split.h"
#include "wick.h"

/* Appends " name=\"<view>\"" with non-printable bytes escaped. */
static inline void hs_trace_str(split_buf *b, const char *name, wick_str s)
{
    split_buf_printf(b, " %s=", name);
    if (s.ptr == NULL) {
        split_buf_printf(b, "(null)");
        return;
    }
    split_buf_printf(b, "\"");
    split_buf_bytes(b, (const uint8_t *)s.ptr, s.len);
    split_buf_printf(b, "\"");
}

static inline void hs_trace_exts(split_buf *b, const wick_ext *x, size_t n)
{
    split_buf_printf(b, " exts=[");
    for (size_t i = 0; i < n; i++) {
        split_buf_printf(b, "%s", i ? "," : "");
        split_buf_bytes(b, (const uint8_t *)x[i].name.ptr, x[i].name.len);
        for (size_t k = 0; k < x[i].num_params; k++) {
            const wick_ext_param *p = &x[i].params[k];
            split_buf_printf(b, ";");
            split_buf_bytes(b, (const uint8_t *)p->name.ptr, p->name.len);
            if (p->has_value) {
                split_buf_printf(b, "=%s", p->quoted ? "\"" : "");
                split_buf_bytes(b, (const uint8_t *)p->value.ptr, p->value.len);
                split_buf_printf(b, "%s", p->quoted ? "\"" : "");
            }
        }
    }
    split_buf_printf(b, "]");
}

static inline void hs_trace_headers(split_buf *b, const wick_header *h, size_t n)
{
    split_buf_printf(b, " headers=[");
    for (size_t i = 0; i < n; i++) {
        split_buf_printf(b, "%s", i ? "|" : "");
        split_buf_bytes(b, (const uint8_t *)h[i].name.ptr, h[i].name.len);
        split_buf_printf(b, ":");
        split_buf_bytes(b, (const uint8_t *)h[i].value.ptr, h[i].value.len);
    }
    split_buf_printf(b, "]");
}

#endif /* WICK_VECTORS_HS_TRACE_H */
