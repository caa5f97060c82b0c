/* Status tables, generated from WICK_ERR_MAP in wick.h so the enum, the
 * names, the messages and the close codes can never drift apart.
 *
 * Sized for firmware: wick_err_close_code() and wick_err_http_status()
 * are code only (a generated switch, which compilers lower to a few range
 * checks), so the connection engine never links the name and message
 * table; only wick_strerror() and wick_err_name() do. That table is one
 * string ("WICK_OK\0success\0WICK_NEED_MORE\0...") walked to the row,
 * plus 16-bit values, not an array of pointers. WICK_NO_ERR_STRINGS
 * compiles it out: both functions then name the error's group. */
#include "wick_internal.h"

uint16_t wick_err_close_code(wick_err e)
{
    switch (e) {
#define WICK__ERR_CLOSE(name, value, close, msg)                                                   \
    case WICK_##name:                                                                              \
        return (uint16_t)(close);
        /* Rows share codes by design. NOLINTNEXTLINE(bugprone-branch-clone) */
        WICK_ERR_MAP(WICK__ERR_CLOSE)
#undef WICK__ERR_CLOSE
    default:
        return 0;
    }
}

int wick_err_http_status(wick_err e)
{
    if (e == WICK_ERR_HS_VERSION) {
        return 426; /* RFC 6455 4.4: answer with the versions we speak. */
    }
    if (e == WICK_ERR_HS_TOO_LARGE || e == WICK_ERR_HS_TOO_MANY_HEADERS) {
        return 431; /* RFC 6585 5 */
    }
    if ((int)e <= -200 && (int)e > -300) {
        return 400;
    }
    return 0;
}

bool wick_err_is_error(wick_err e)
{
    return (int)e < 0;
}

/* The string after the first n NUL-terminated strings at p. */
static const char *err_skip(const char *p, size_t n)
{
    for (; n > 0; n--) {
        while (*p++ != '\0') {
        }
    }
    return p;
}

#ifndef WICK_NO_ERR_STRINGS

/* Every value, in table order; "WICK_<name>\0<message>\0" per row, then
 * the row for an unknown value. */
static const int16_t err_values[] = {
#define WICK__ERR_VALUE(name, value, close, msg) (int16_t)(value),
    WICK_ERR_MAP(WICK__ERR_VALUE)
#undef WICK__ERR_VALUE
};

static const char err_text[] =
#define WICK__ERR_TEXT(name, value, close, msg) "WICK_" #name "\0" msg "\0"
    WICK_ERR_MAP(WICK__ERR_TEXT)
#undef WICK__ERR_TEXT
        "WICK_UNKNOWN\0unknown status";

/* Row of e in err_values, or the number of rows when unknown. */
static size_t err_row(wick_err e)
{
    size_t n = 0;
    while (n < sizeof err_values / sizeof err_values[0] && err_values[n] != (int)e) {
        n++;
    }
    return n;
}

#else /* WICK_NO_ERR_STRINGS */

/* One name and message per group of statuses. */
static const char err_text[] = "WICK_OK\0success\0"
                               "WICK_STATUS\0status (not an error)\0"
                               "WICK_ERR_API\0API misuse\0"
                               "WICK_ERR_HS\0handshake error\0"
                               "WICK_ERR_PROTO\0protocol error (1002)\0"
                               "WICK_ERR_PAYLOAD_1007\0invalid payload data (1007)\0"
                               "WICK_ERR_PAYLOAD_1009\0message too big (1009)\0"
                               "WICK_ERR_ENV\0environment error (1011)\0"
                               "WICK_UNKNOWN\0unknown status";

/* Group of e: 0 WICK_OK, 1 other non-error statuses, 2 -1xx, 3 -2xx,
 * 4 -3xx, 5 the 1007 and 6 the 1009 errors of -4xx, 7 -5xx, 8 unknown. */
static size_t err_row(wick_err e)
{
    switch (e) {
#define WICK__ERR_KNOWN(name, value, close, msg) case WICK_##name:
        WICK_ERR_MAP(WICK__ERR_KNOWN)
#undef WICK__ERR_KNOWN
        break;
    default:
        return 8;
    }
    int v = (int)e;
    if (v >= 0) {
        return v == 0 ? 0U : 1U;
    }
    if (v <= -400 && v > -500) {
        return wick_err_close_code(e) == 1007 ? 5U : 6U;
    }
    return v <= -500 ? 7U : (size_t)((unsigned)-v / 100U + 1U);
}

#endif /* WICK_NO_ERR_STRINGS */

const char *wick_err_name(wick_err e)
{
    return err_skip(err_text, 2 * err_row(e));
}

const char *wick_strerror(wick_err e)
{
    return err_skip(err_text, 2 * err_row(e) + 1);
}
