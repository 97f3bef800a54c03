/* http.h — the libmicrohttpd daemon and each request's life in it.
 *
 * Promise: hl_srv_http_start() listens where the config says and hands
 * each request to routes.h once its body is complete, never on the first
 * handler call (so keep-alive survives), except a body declared larger than
 * --max-body, which is refused with 413 before it is read.  Draining is
 * three steps: quiesce (no new connections), wait_idle (requests in flight
 * finish, bounded), stop.
 */
#ifndef HL_SRV_HTTP_H
#define HL_SRV_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "state.h"

typedef struct hl_srv_http hl_srv_http;

/* NULL when the daemon cannot start (libmicrohttpd has logged why). */
hl_srv_http *hl_srv_http_start(hl_srv_state *st);
uint16_t hl_srv_http_port(hl_srv_http *h);
void hl_srv_http_quiesce(hl_srv_http *h);
/* true when no request is in flight, false after timeout_ms. */
bool hl_srv_http_wait_idle(hl_srv_http *h, unsigned timeout_ms);
void hl_srv_http_stop(hl_srv_http *h);

#endif
