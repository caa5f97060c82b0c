/* Status tables, generated from WICK_ERR_MAP in wick.h so the enum, the
 * names, the messages and the close codes can never drift apart. */
#include "wick_internal.h"

const char *wick_strerror(wick_err e)
{
    switch (e) {
#define WICK__ERR_MSG(name, value, close, msg)                                                     \
    case WICK_##name:                                                                              \
        return msg;
        WICK_ERR_MAP(WICK__ERR_MSG)
#undef WICK__ERR_MSG
    default:
        return "unknown status";
    }
}

const char *wick_err_name(wick_err e)
{
    switch (e) {
#define WICK__ERR_NAME(name, value, close, msg)                                                    \
    case WICK_##name:                                                                              \
        return "WICK_" #name;
        WICK_ERR_MAP(WICK__ERR_NAME)
#undef WICK__ERR_NAME
    default:
        return "WICK_UNKNOWN";
    }
}

uint16_t wick_err_close_code(wick_err e)
{
    switch (e) {
#define WICK__ERR_CLOSE(name, value, close, msg)                                                   \
    case WICK_##name:                                                                              \
        return (uint16_t)(close);
        WICK_ERR_MAP(WICK__ERR_CLOSE)
#undef WICK__ERR_CLOSE
    default:
        return 0;
    }
}

int wick_err_http_status(wick_err e)
{
    switch (e) {
    case WICK_ERR_HS_VERSION:
        return 426; /* RFC 6455 4.4: answer with the versions we speak. */
    case WICK_ERR_HS_TOO_LARGE:
    case WICK_ERR_HS_TOO_MANY_HEADERS:
        return 431; /* RFC 6585 5 */
    default:
        break;
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
