/* config.h — the server's settings, from flags and HEAPLAB_* variables.
 *
 * Promise: hl_srv_config_load() starts every setting at its default, then
 * applies its environment variable (an empty one counts as unset), then its
 * flag: the flag wins.  Every value is checked; an unknown flag, a bad value,
 * or --no-auth on an address other than loopback gives
 * HL_SRV_CONFIG_ERROR with a message for the user and nothing to free.
 * --help and --version are left to the caller to answer.
 */
#ifndef HL_SRV_CONFIG_H
#define HL_SRV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bind_addr.h"

typedef enum hl_srv_config_outcome {
    HL_SRV_CONFIG_RUN,
    HL_SRV_CONFIG_HELP,
    HL_SRV_CONFIG_VERSION,
    HL_SRV_CONFIG_ERROR,
} hl_srv_config_outcome;

typedef struct hl_srv_config {
    uint64_t port;
    char *bind;
    char *admin_token;       /* NULL = none */
    char *admin_token_file;  /* read into admin_token by load */
    bool no_auth;
    uint64_t threads;
    char **origins;          /* CORS allow-list, exact "scheme://host[:port]" */
    size_t norigins;
    uint64_t max_body;
    uint64_t max_heaps;
    uint64_t max_objects;
    uint64_t max_bytes;
    uint64_t max_connections;
    uint64_t connection_memory;
    uint64_t idle_timeout;   /* seconds, 0 = never */
    uint64_t event_ring;
    char *static_dir;
    char *openapi_file;
    char *shard;             /* prefix of minted heap ids, NULL = none */
    bool healthcheck;        /* probe the configured server and exit */
    char *data_dir;          /* heaps' files; "none" = memory only */
    char *fsync;             /* always, everysec or no */
    uint64_t snapshot_after; /* journal bytes before a snapshot */

    hl_srv_bind_addr addr;   /* bind and port, resolved */
} hl_srv_config;

hl_srv_config_outcome hl_srv_config_load(hl_srv_config *cfg, int argc, char **argv, char *err,
                                         size_t errlen);
void hl_srv_config_free(hl_srv_config *cfg);
void hl_srv_config_usage(FILE *out);

#endif
