/* wick_sha1() through OpenSSL's EVP interface (built instead of
 * wick_sha1.c when WICK_OPENSSL=1). EVP_Digest is the one-shot call that
 * is not deprecated in OpenSSL 3. */
#include "wick_internal.h"

#include <openssl/evp.h>

void wick_sha1(const void *data, size_t len, uint8_t out[WICK_SHA1_LEN])
{
    unsigned int n = 0;
    if (EVP_Digest(data, len, out, &n, EVP_sha1(), NULL) != 1 || n != WICK_SHA1_LEN) {
        /* Cannot happen with a working libcrypto; leave a defined value
         * rather than stack garbage (the Accept check then fails). */
        memset(out, 0, WICK_SHA1_LEN);
    }
}
