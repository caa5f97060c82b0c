#include "wick_internal.h"

unsigned long wick_version(void)
{
    return WICK_VERSION_NUM;
}
