/* Close-code rules (RFC 6455 7.4). */
#include "wick_internal.h"

bool wick_close_code_valid(uint16_t code)
{
    /* RFC 6455 7.4.1 and 7.4.2: 0-999 unused; 1004 reserved; 1005 and 1006
     * MUST NOT be sent; 1015 (TLS) MUST NOT be sent. The IANA registry
     * assigns 1007-1014; 1016-2999 are reserved for future RFCs, so a
     * receiver cannot know their meaning; 3000-4999 are for libraries,
     * frameworks and applications. */
    if (code >= 1000 && code <= 1003) {
        return true;
    }
    if (code >= 1007 && code <= 1014) {
        return true;
    }
    return code >= 3000 && code <= 4999;
}
