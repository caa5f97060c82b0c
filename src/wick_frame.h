/* Private: what the connection engine needs to know about the frame
 * parser (src/wick_frame_parse.c) beyond the public API. */
#ifndef WICK_FRAME_H
#define WICK_FRAME_H

#include "wick_internal.h"

/* True when the parser sits at a frame boundary with no header bytes
 * gathered and no error, so the caller may decode whole frames that are
 * complete in its buffer itself and leave the parser as it is. */
bool wick__frame_parser_idle(const wick_frame_parser *p);

#endif
