/*
 * Auth tokens: "USER.EXPIRY.SIG" where EXPIRY is a Unix time in seconds
 * and SIG is the lowercase hex HMAC-SHA256 (OpenSSL) of "USER.EXPIRY"
 * under the server's secret. User names are [A-Za-z0-9_-]{1,50}, so the
 * dots separate the parts unambiguously, and a token is safe in a query
 * string or a cookie without escaping.
 *
 * An admin token ("USER.EXPIRY.admin.SIG") signs the role with the rest,
 * so it cannot be added to an ordinary token; its holder may send the
 * `broadcast` message (as may the users named by --admin).
 */
#include "chat.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

bool valid_name(const char *s, size_t len)
{
    if (len == 0 || len > CHAT_MAX_NAME) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* Hex HMAC-SHA256 of msg[0..len) into hex[65]. */
static bool sign(const uint8_t *key, size_t key_len, const char *msg, size_t len, char *hex)
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    if (HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, len, mac, &mac_len) ==
            NULL ||
        mac_len != 32) {
        return false;
    }
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 15];
    }
    hex[64] = '\0';
    return true;
}

size_t auth_make_token(const uint8_t *key, size_t key_len, const char *user, long long expiry,
                       bool admin, char *out, size_t cap)
{
    if (!valid_name(user, strlen(user)) || expiry < 0) {
        return 0;
    }
    char body[CHAT_MAX_NAME + 32];
    int n = snprintf(body, sizeof body, "%s.%lld%s", user, expiry, admin ? ".admin" : "");
    if (n < 0 || (size_t)n >= sizeof body) {
        return 0;
    }
    char hex[65];
    if (!sign(key, key_len, body, (size_t)n, hex)) {
        return 0;
    }
    int m = snprintf(out, cap, "%s.%s", body, hex);
    if (m < 0 || (size_t)m >= cap) {
        return 0;
    }
    return (size_t)m;
}

bool auth_check_token(const uint8_t *key, size_t key_len, const char *tok, size_t len,
                      long long now_s, char *user, bool *admin)
{
    /* USER '.' DIGITS ['.admin'] '.' 64 hex */
    if (len < 1 + 1 + 1 + 1 + 64 || len > CHAT_MAX_NAME + 1 + 20 + 6 + 1 + 64) {
        return false;
    }
    size_t sig_at = len - 64;
    if (tok[sig_at - 1] != '.') {
        return false;
    }
    size_t body_len = sig_at - 1;
    size_t signed_len = body_len; /* the role, if any, is signed too */
    bool is_admin = body_len > 6 && memcmp(tok + body_len - 6, ".admin", 6) == 0;
    if (is_admin) {
        body_len -= 6;
    }
    size_t dot = 0;
    while (dot < body_len && tok[dot] != '.') {
        dot++;
    }
    if (dot == body_len || !valid_name(tok, dot)) {
        return false;
    }
    long long expiry = 0;
    size_t digits = 0;
    for (size_t i = dot + 1; i < body_len; i++, digits++) {
        if (tok[i] < '0' || tok[i] > '9' || digits >= 18) {
            return false;
        }
        expiry = expiry * 10 + (tok[i] - '0');
    }
    if (digits == 0) {
        return false;
    }
    char hex[65];
    if (!sign(key, key_len, tok, signed_len, hex)) {
        return false;
    }
    /* Constant-time comparison of the signature. */
    if (CRYPTO_memcmp(hex, tok + sig_at, 64) != 0) {
        return false;
    }
    if (expiry <= now_s) {
        return false;
    }
    memcpy(user, tok, dot);
    user[dot] = '\0';
    if (admin != NULL) {
        *admin = is_admin;
    }
    return true;
}
