/* sizeof the state structs, read back with nm -S (the object is never
 * run, so the same file works for the host and the target). */
#include "wick.h"

char wick_size_conn[sizeof(wick_conn)];
char wick_size_hs_request[sizeof(wick_hs_request)];
char wick_size_hs_client[sizeof(wick_hs_client)];
char wick_size_frame_parser[sizeof(wick_frame_parser)];
