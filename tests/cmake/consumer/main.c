/* The consumer program of tests/cmake/run.sh: checks the RFC 6455 1.3
 * accept key, then has a server connection receive the RFC 6455 5.7
 * masked "Hello" and answer a close; prints "ok" and exits 0 when every
 * value is as expected. */
#include <stdio.h>
#include <string.h>

#include <wick.h>

static char got[16];
static size_t got_len;

static int on_message(wick_conn *c, uint8_t opcode, const uint8_t *data, size_t len, void *user)
{
    (void)c;
    (void)user;
    if (opcode == WICK_OP_TEXT && len < sizeof got) {
        memcpy(got, data, len);
        got_len = len;
    }
    return 0;
}

int main(void)
{
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    char acc[WICK_ACCEPT_LEN];
    if (wick_accept_key(key, strlen(key), acc) != WICK_OK ||
        memcmp(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", WICK_ACCEPT_LEN) != 0) {
        puts("accept key mismatch");
        return 1;
    }
    static uint8_t out[WICK_OUT_MIN];
    static uint8_t msg[64];
    static const wick_callbacks cb = {.on_message = on_message};
    wick_conn_config cfg;
    wick_conn_config_default(&cfg, WICK_ROLE_SERVER);
    cfg.out_buf = out;
    cfg.out_cap = sizeof out;
    cfg.msg_buf = msg;
    cfg.msg_cap = sizeof msg;
    wick_conn c;
    if (wick_conn_init(&c, &cfg, &cb, NULL) != WICK_OK) {
        puts("init failed");
        return 1;
    }
    /* Masked "Hello", then a masked close 1000 (mask 00 00 00 00). */
    uint8_t in[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51,
                    0x58, 0x88, 0x82, 0,    0,    0,    0,    0x03, 0xe8};
    size_t used = 0;
    wick_err e = wick_conn_recv(&c, in, sizeof in, &used);
    size_t n = 0;
    const uint8_t *p = wick_conn_out_peek(&c, &n);
    if (e != WICK_OK || used != sizeof in || got_len != 5 || memcmp(got, "Hello", 5) != 0 ||
        wick_conn_close_code(&c) != 1000 || n != 4 || p[0] != 0x88 || p[1] != 2 || p[2] != 0x03 ||
        p[3] != 0xe8) {
        printf("engine mismatch: %s\n", wick_err_name(e));
        return 1;
    }
    puts("ok");
    return 0;
}
