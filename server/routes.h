/* routes.h — which code answers which request.
 *
 * Promise: hl_srv_routes_dispatch() answers a request whose body is
 * complete: OPTIONS as CORS preflight, everything under /v1 through
 * hl_api_handle, /healthz /readyz /metrics /openapi.json here, and every
 * other GET from the static directory; anything else is a problem+json 404
 * or 405.  It always queues an answer (or drops the connection on OOM).
 */
#ifndef HL_SRV_ROUTES_H
#define HL_SRV_ROUTES_H

#include <microhttpd.h>

#include "request.h"
#include "state.h"

enum MHD_Result hl_srv_routes_dispatch(hl_srv_state *st, hl_srv_request *req);

#endif
