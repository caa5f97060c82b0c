/* Status tables, generated from WICK_ERR_MAP in wick.h so the enum, the
 * names, the messages and the close codes can never drift apart. */
#include "wick_internal.h"

typedef struct err_row {
    int value;
    uint16_t close_code;
    const char *name;
    const char *msg;
} err_row;

static const err_row err_rows[] = {
#define WICK__ERR_ROW(name, value, close, msg) {(value), (close), "WICK_" #name, msg},
    WICK_ERR_MAP(WICK__ERR_ROW)
#undef WICK__ERR_ROW
};

static const err_row *err_find(wick_err e)
{
    for (size_t i = 0; i < sizeof err_rows / sizeof err_rows[0]; i++) {
        if (err_rows[i].value == (int)e) {
            return &err_rows[i];
        }
    }
    return NULL;
}

const char *wick_strerror(wick_err e)
{
    const err_row *row = err_find(e);
    return row ? row->msg : "unknown status";
}

const char *wick_err_name(wick_err e)
{
    const err_row *row = err_find(e);
    return row ? row->name : "WICK_UNKNOWN";
}

uint16_t wick_err_close_code(wick_err e)
{
    const err_row *row = err_find(e);
    return row ? row->close_code : 0;
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
