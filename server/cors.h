/* cors.h — cross-origin access for the origins on the allow-list only.
 *
 * Promise: an Origin gets Access-Control-Allow-Origin (echoed) and
 * Vary: Origin only when it is exactly on the allow-list; any other origin
 * gets no CORS header at all, so browsers keep it out.  Preflight answers
 * name the methods and headers the API uses.
 */
#ifndef HL_SRV_CORS_H
#define HL_SRV_CORS_H

#include <stdbool.h>

#include "config.h"

struct MHD_Response;

bool hl_srv_cors_allowed(const hl_srv_config *cfg, const char *origin);

/* Adds the CORS headers for an allowed origin; no-op otherwise. */
void hl_srv_cors_decorate(const hl_srv_config *cfg, const char *origin, struct MHD_Response *r);

/* The extra headers of a successful preflight answer. */
void hl_srv_cors_preflight_headers(struct MHD_Response *r);

#endif
