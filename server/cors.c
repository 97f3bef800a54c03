/* cors.c — exact-match allow-list; no wildcard, since requests carry tokens. */
#include "cors.h"

#include <microhttpd.h>
#include <string.h>

bool hl_srv_cors_allowed(const hl_srv_config *cfg, const char *origin)
{
    if (origin == NULL)
        return false;
    for (size_t i = 0; i < cfg->norigins; i++)
        if (strcmp(cfg->origins[i], origin) == 0)
            return true;
    return false;
}

void hl_srv_cors_decorate(const hl_srv_config *cfg, const char *origin, struct MHD_Response *r)
{
    /* Caches must not hand one origin's answer to another. */
    if (cfg->norigins > 0)
        MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Origin");
    if (!hl_srv_cors_allowed(cfg, origin))
        return;
    MHD_add_response_header(r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    MHD_add_response_header(r, "Access-Control-Expose-Headers", "Location");
}

void hl_srv_cors_preflight_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
    MHD_add_response_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type, Accept");
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
}
