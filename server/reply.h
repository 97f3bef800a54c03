/* reply.h — queueing answers, with the headers every answer carries.
 *
 * Promise: every hl_srv_reply* queues exactly one response on the
 * request's connection with X-Content-Type-Options: nosniff, the CORS
 * headers its Origin earns, and Connection: close while draining or when the
 * body was refused; it records status and size in the request, and returns
 * what the access handler must hand back to libmicrohttpd.  Problems are
 * RFC 9457 application/problem+json.
 */
#ifndef HL_SRV_REPLY_H
#define HL_SRV_REPLY_H

#include <microhttpd.h>

#include "request.h"
#include "state.h"

/* Takes r (NULL, from a failed create, drops the connection). */
enum MHD_Result hl_srv_reply(hl_srv_state *st, hl_srv_request *req, int status, struct MHD_Response *r,
                             uint64_t bytes);

/* Copies body. */
enum MHD_Result hl_srv_reply_text(hl_srv_state *st, hl_srv_request *req, int status, const char *ctype,
                                  const char *body, size_t len);

/* Takes a malloc'd body. */
enum MHD_Result hl_srv_reply_owned(hl_srv_state *st, hl_srv_request *req, int status, const char *ctype,
                                   char *body, size_t len);

/* detail: plain text without quotes or backslashes. */
enum MHD_Result hl_srv_reply_problem(hl_srv_state *st, hl_srv_request *req, int status, const char *detail);

enum MHD_Result hl_srv_reply_not_allowed(hl_srv_state *st, hl_srv_request *req, const char *allow);

#endif
