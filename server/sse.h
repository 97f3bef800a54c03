/* sse.h — an hl_api_stream sent as a Server-Sent Events response.
 *
 * Promise: a stream with nothing to send never spins: its connection is
 * suspended until the stream's notify (from any thread) or a keep-alive
 * tick resumes it.  hl_srv_sse_tick() sends ": keep-alive" to every idle
 * stream, which also finds clients that went away.  After
 * hl_srv_sse_drain() every stream ends at its next read and none stays
 * suspended, as MHD_stop_daemon requires.
 */
#ifndef HL_SRV_SSE_H
#define HL_SRV_SSE_H

#include <stdint.h>

#include "api.h"

struct MHD_Connection;
struct MHD_Response;

typedef struct hl_srv_sse_hub hl_srv_sse_hub;

hl_srv_sse_hub *hl_srv_sse_hub_new(void);  /* NULL on OOM */
void hl_srv_sse_hub_delete(hl_srv_sse_hub *hub);  /* after the daemon stopped */

/* Takes s (closed here on failure).  *bytes counts what is sent; it must
 * stay valid while the response is being sent. */
struct MHD_Response *hl_srv_sse_response(hl_srv_sse_hub *hub, struct MHD_Connection *conn,
                                         hl_api_stream *s, uint64_t *bytes);

void hl_srv_sse_tick(hl_srv_sse_hub *hub);
void hl_srv_sse_drain(hl_srv_sse_hub *hub);

#endif
