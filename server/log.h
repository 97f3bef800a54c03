/* log.h — what the server says on stderr.
 *
 * Promise: every line starts with a UTC timestamp and is written whole (one
 * write per line, so threads do not interleave).  Request lines carry the
 * method, the request target, status, body bytes and duration, and never a
 * header; query parameters whose name contains "token" are redacted, since
 * browsers' EventSource can only pass credentials that way.
 */
#ifndef HL_SRV_LOG_H
#define HL_SRV_LOG_H

#include <stdarg.h>
#include <stdint.h>

void hl_srv_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* status 0: the request ended before the server answered it. */
void hl_srv_log_request(const char *method, const char *target, int status, uint64_t bytes,
                        double seconds);

/* libmicrohttpd's MHD_OPTION_EXTERNAL_LOGGER, so its errors look like ours. */
void hl_srv_log_mhd(void *cls, const char *fmt, va_list ap);

#endif
