/* body_stream.h — an hl_api_body_stream sent as a chunked response.
 *
 * Promise: the body is pulled from the api only as fast as the client
 * takes it (libmicrohttpd asks for the next block when the last one is
 * sent), so a slow client holds the producer back instead of a buffer
 * growing, and no connection is ever suspended.  A body the api cuts short
 * ends the transfer without its last chunk, so the client sees a failed
 * transfer, never a complete-looking truncated document.
 */
#ifndef HL_SRV_BODY_STREAM_H
#define HL_SRV_BODY_STREAM_H

#include <stdint.h>

#include "api.h"

struct MHD_Response;

/* Takes s (closed here on failure, else when libmicrohttpd lets go of the
 * response).  *bytes counts what is sent; it must stay valid while the
 * response is being sent. */
struct MHD_Response *hl_srv_body_stream_response(hl_api_body_stream *s, const char *content_type, uint64_t *bytes);

#endif
