/* Sec-WebSocket-Accept (RFC 6455 1.3 and 4.2.2 item 5.4). */
#include "wick_internal.h"

/* RFC 6455 1.3: the GUID appended to the key before hashing. */
static const char accept_guid[36] = {'2', '5', '8', 'E', 'A', 'F', 'A', '5', '-', 'E', '9', '1',
                                     '4', '-', '4', '7', 'D', 'A', '-', '9', '5', 'C', 'A', '-',
                                     'C', '5', 'A', 'B', '0', 'D', 'C', '8', '5', 'B', '1', '1'};

/* A valid key is 24 characters; 64 leaves room for callers that hash a
 * key before validating it, and bounds the stack buffer. */
#define ACCEPT_MAX_KEY 64U

wick_err wick_accept_key(const char *key, size_t key_len, char out[WICK_ACCEPT_LEN])
{
    if (out == NULL || (key == NULL && key_len > 0) || key_len > ACCEPT_MAX_KEY) {
        return WICK_ERR_ARG;
    }
    char buf[ACCEPT_MAX_KEY + sizeof accept_guid];
    if (key_len > 0) {
        memcpy(buf, key, key_len);
    }
    memcpy(buf + key_len, accept_guid, sizeof accept_guid);
    uint8_t digest[WICK_SHA1_LEN];
    wick_sha1(buf, key_len + sizeof accept_guid, digest);
    size_t n = 0;
    return wick_base64_encode(digest, sizeof digest, out, WICK_ACCEPT_LEN, &n);
}
