/* main.c — heaplab: settings, the api, the HTTP daemon, and a clean drain
 * on SIGTERM/SIGINT.  Signals are blocked in every thread and taken with
 * sigtimedwait here, so no work ever runs inside a signal handler. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "config.h"
#include "healthcheck.h"
#include "http.h"
#include "log.h"
#include "state.h"

#define KEEPALIVE_SECONDS_MAX 15
#define DRAIN_TIMEOUT_MS 10000

static void recovery_log(void *ctx, const char *line)
{
    (void)ctx;
    hl_srv_log("info", "%s", line);
}

static hl_api *new_api(const hl_srv_config *cfg)
{
    hl_api_config acfg = {
        .admin_token = cfg->admin_token,
        .no_auth = cfg->no_auth,
        .max_heaps = cfg->max_heaps,
        .max_objects = cfg->max_objects,
        .max_bytes = cfg->max_bytes,
        .event_ring = (size_t)cfg->event_ring,
        .shard = cfg->shard,
        .data_dir = strcmp(cfg->data_dir, "none") == 0 ? NULL : cfg->data_dir,
        .fsync = strcmp(cfg->fsync, "always") == 0 ? 0 : strcmp(cfg->fsync, "everysec") == 0 ? 1 : 2,
        .snapshot_after = cfg->snapshot_after,
        .log = recovery_log,
    };
    char why[512];
    hl_api *api = hl_api_open(&acfg, why, sizeof why);
    if (api == NULL)
        hl_srv_log("error", "cannot start: %s", why);
    return api;
}

/* Blocks the shutdown signals before any thread exists, so every
 * libmicrohttpd thread inherits the mask and only sigtimedwait sees them. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Idle streams must show activity well within the idle timeout, or
 * libmicrohttpd would close them once they resume. */
static time_t keepalive_seconds(const hl_srv_config *cfg)
{
    if (cfg->idle_timeout == 0 || cfg->idle_timeout / 2 >= KEEPALIVE_SECONDS_MAX)
        return KEEPALIVE_SECONDS_MAX;
    return cfg->idle_timeout >= 2 ? (time_t)(cfg->idle_timeout / 2) : 1;
}

static int wait_for_shutdown(const sigset_t *set, hl_srv_state *st)
{
    const struct timespec tick = {.tv_sec = keepalive_seconds(st->cfg)};
    for (;;) {
        int sig = sigtimedwait(set, NULL, &tick);
        if (sig > 0)
            return sig;
        hl_srv_sse_tick(st->sse);
    }
}

static void drain(hl_srv_http *http, hl_srv_state *st)
{
    atomic_store(&st->draining, true);
    hl_srv_http_quiesce(http);
    hl_api_shutdown_streams(st->api);
    hl_srv_sse_drain(st->sse);
    if (!hl_srv_http_wait_idle(http, DRAIN_TIMEOUT_MS))
        hl_srv_log("warn", "requests still in flight after %d ms; closing them", DRAIN_TIMEOUT_MS);
    hl_srv_http_stop(http);
}

static void describe(const hl_srv_config *cfg, const hl_srv_state *st, uint16_t port)
{
    const char *host = cfg->addr.v6 && cfg->bind[0] != '[' ? "[%s]" : "%s";
    char shown[80];
    snprintf(shown, sizeof shown, host, cfg->bind);
    hl_srv_log("info", "heaplab %s listening on http://%s:%u/ (%llu threads)", HEAPLAB_VERSION, shown,
               (unsigned)port, (unsigned long long)cfg->threads);
    if (st->static_root == NULL)
        hl_srv_log("warn", "static directory %s not found; only the API is served", cfg->static_dir);
    if (cfg->no_auth)
        hl_srv_log("warn", "--no-auth: every request is admin; anyone on this machine can use every heap");
    else if (cfg->admin_token == NULL)
        hl_srv_log("info", "no admin token set: heaps open only with their own tokens");
}

static int serve(const hl_srv_config *cfg)
{
    sigset_t set;
    block_signals(&set);
    hl_srv_state st = {.cfg = cfg};
    atomic_init(&st.draining, false);
    st.static_root = realpath(cfg->static_dir, NULL);
    st.api = new_api(cfg);
    st.metrics = hl_srv_metrics_new();
    st.sse = hl_srv_sse_hub_new();
    hl_srv_http *http = NULL;
    if (st.api && st.metrics && st.sse)
        http = hl_srv_http_start(&st);
    int status = 1;
    if (http) {
        describe(cfg, &st, hl_srv_http_port(http));
        int sig = wait_for_shutdown(&set, &st);
        hl_srv_log("info", "%s: draining", strsignal(sig));
        drain(http, &st);
        hl_srv_log("info", "stopped");
        status = 0;
    } else {
        hl_srv_log("error", "cannot start: %s", st.api && st.metrics && st.sse
                   ? "the HTTP daemon did not start (see above)" : "out of memory");
    }
    hl_srv_sse_hub_delete(st.sse);
    hl_srv_metrics_delete(st.metrics);
    hl_api_delete(st.api);
    free(st.static_root);
    return status;
}

int main(int argc, char **argv)
{
    hl_srv_config cfg;
    char err[512];
    switch (hl_srv_config_load(&cfg, argc, argv, err, sizeof err)) {
    case HL_SRV_CONFIG_HELP:
        hl_srv_config_usage(stdout);
        return 0;
    case HL_SRV_CONFIG_VERSION:
        printf("heaplab %s\n", HEAPLAB_VERSION);
        return 0;
    case HL_SRV_CONFIG_ERROR:
        fprintf(stderr, "heaplab: %s\n", err);
        return 2;
    case HL_SRV_CONFIG_RUN:
        break;
    }
    int status = cfg.healthcheck ? hl_srv_healthcheck(&cfg.addr) : serve(&cfg);
    hl_srv_config_free(&cfg);
    return status;
}
