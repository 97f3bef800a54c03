/* config.c — one table describes every setting: its flag, its variable,
 * its default and its help line, so --help cannot drift from the parser. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifndef HEAPLAB_STATIC_DIR
#error "HEAPLAB_STATIC_DIR must be defined by the build"
#endif
#ifndef HEAPLAB_OPENAPI_FILE
#error "HEAPLAB_OPENAPI_FILE must be defined by the build"
#endif

#define MiB (1024ull * 1024ull)
#define TOKEN_FILE_MAX 4096

typedef enum kind { K_NUM, K_SIZE, K_STR, K_BOOL, K_ORIGINS, K_HELP, K_VERSION } kind;

typedef struct option {
    const char *name;   /* the flag, without "--" */
    const char *env;    /* NULL: flag only */
    const char *arg;    /* placeholder in --help; NULL for switches */
    const char *deflt;  /* applied through the parser like any value; NULL = none */
    const char *help;
    kind kind;
    size_t offset;
    uint64_t min, max;  /* K_NUM and K_SIZE bounds */
} option;

#define F(field) offsetof(hl_srv_config, field)

static const option OPTIONS[] = {
    {"port", "HEAPLAB_PORT", "PORT", "8080", "TCP port to listen on (0: any free port)", K_NUM,
     F(port), 0, 65535},
    {"bind", "HEAPLAB_BIND", "ADDR", "127.0.0.1",
     "IPv4 or IPv6 address to listen on (\"::\" = every address, IPv4 too)", K_STR, F(bind), 0, 0},
    {"admin-token", "HEAPLAB_ADMIN_TOKEN", "TOKEN", NULL,
     "bearer token that opens every heap and lists them all", K_STR, F(admin_token), 0, 0},
    {"admin-token-file", "HEAPLAB_ADMIN_TOKEN_FILE", "FILE", NULL,
     "read the admin token from FILE (trailing whitespace ignored), e.g. a container secret",
     K_STR, F(admin_token_file), 0, 0},
    {"no-auth", "HEAPLAB_NO_AUTH", NULL, NULL,
     "every request is admin; refused unless bound to loopback (env: 1/true/yes/on)", K_BOOL,
     F(no_auth), 0, 0},
    {"threads", "HEAPLAB_THREADS", "N", NULL, "worker threads (default: number of cores)", K_NUM,
     F(threads), 1, 1024},
    {"allow-origin", "HEAPLAB_ALLOW_ORIGIN", "ORIGIN", NULL,
     "CORS allow-list: repeat the flag or separate with commas (default: none)", K_ORIGINS, 0, 0, 0},
    {"max-body", "HEAPLAB_MAX_BODY", "BYTES", "16M", "largest request body (suffix K, M, G = KiB...)",
     K_SIZE, F(max_body), 0, 1ull << 32},
    {"max-heaps", "HEAPLAB_MAX_HEAPS", "N", "0", "most heaps at once (0: unlimited)", K_NUM,
     F(max_heaps), 0, UINT64_MAX},
    {"max-objects", "HEAPLAB_MAX_OBJECTS", "N", "0", "default live-object limit per heap (0: unlimited)",
     K_NUM, F(max_objects), 0, UINT64_MAX},
    {"max-bytes", "HEAPLAB_MAX_BYTES", "BYTES", "0", "allocator bytes per heap (0: unlimited)", K_SIZE,
     F(max_bytes), 0, UINT64_MAX},
    {"max-connections", "HEAPLAB_MAX_CONNECTIONS", "N", "256", "open connections at once", K_NUM,
     F(max_connections), 1, 1000000},
    {"connection-memory", "HEAPLAB_CONNECTION_MEMORY", "BYTES", "64K",
     "memory per connection for request headers and response buffering", K_SIZE,
     F(connection_memory), 8192, 1ull << 30},
    {"idle-timeout", "HEAPLAB_IDLE_TIMEOUT", "SECONDS", "30",
     "close a connection idle this long (0: never)", K_NUM, F(idle_timeout), 0, 86400},
    {"event-ring", "HEAPLAB_EVENT_RING", "N", "0", "events kept per heap for streams (0: 10000)", K_NUM,
     F(event_ring), 0, 1ull << 30},
    {"static-dir", "HEAPLAB_STATIC_DIR", "DIR", HEAPLAB_STATIC_DIR, "directory served at /", K_STR,
     F(static_dir), 0, 0},
    {"openapi", "HEAPLAB_OPENAPI", "FILE", HEAPLAB_OPENAPI_FILE, "file served at /openapi.json",
     K_STR, F(openapi_file), 0, 0},
    {"shard", "HEAPLAB_SHARD", "NAME", NULL,
     "this process's shard: heap ids it mints start with NAME- so a router can find their owner "
     "(1-16 of a-z, 0-9)", K_STR, F(shard), 0, 0},
    {"data-dir", "HEAPLAB_DATA_DIR", "DIR", "./data",
     "where heaps are kept across restarts (journal + snapshots); none: in memory only",
     K_STR, F(data_dir), 0, 0},
    {"fsync", "HEAPLAB_FSYNC", "POLICY", "everysec",
     "always: answer after fsync; everysec: at most ~1 s of answered changes at risk on a machine crash; "
     "no: the kernel decides", K_STR, F(fsync), 0, 0},
    {"snapshot-after", "HEAPLAB_SNAPSHOT_AFTER", "BYTES", "4M",
     "snapshot a heap and start its journal over once the journal passes this size (0: never)", K_SIZE,
     F(snapshot_after), 0, UINT64_MAX},
    {"healthcheck", NULL, NULL, NULL,
     "ask the server these options describe for /healthz and exit 0 if it answers 200 (for container "
     "health checks)", K_BOOL, F(healthcheck), 0, 0},
    {"help", NULL, NULL, NULL, "print this help and exit", K_HELP, 0, 0, 0},
    {"version", NULL, NULL, NULL, "print the version and exit", K_VERSION, 0, 0, 0},
};
#define NOPTIONS (sizeof OPTIONS / sizeof OPTIONS[0])

enum { FROM_DEFAULT, FROM_ENV, FROM_FLAG };

static bool fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return false;
}

static hl_srv_config_outcome refuse(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static hl_srv_config_outcome refuse(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return HL_SRV_CONFIG_ERROR;
}

static bool parse_u64(const char *s, bool sizes, uint64_t *out)
{
    if (!isdigit((unsigned char)s[0]))
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0)
        return false;
    uint64_t mul = 1;
    if (sizes && *end != '\0' && end[1] == '\0') {
        const char *units = "KMG";
        const char *u = strchr(units, toupper((unsigned char)*end));
        if (u == NULL)
            return false;
        mul = 1ull << (10 * (u - units + 1));
        end++;
    }
    if (*end != '\0' || v > UINT64_MAX / mul)
        return false;
    *out = v * mul;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"};
    static const char *no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *out = strcasecmp(s, yes[i]) == 0;
            return true;
        }
    }
    return false;
}

static bool add_origins(hl_srv_config *cfg, const char *list, char *err, size_t errlen)
{
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        const char *start = p;
        p += len + (p[len] == ',');
        while (len > 0 && isspace((unsigned char)*start))
            start++, len--;
        while (len > 0 && (isspace((unsigned char)start[len - 1]) || start[len - 1] == '/'))
            len--;
        if (len == 0)
            continue;
        char **grown = realloc(cfg->origins, (cfg->norigins + 1) * sizeof *grown);
        if (grown == NULL)
            return fail(err, errlen, "out of memory");
        cfg->origins = grown;
        char *o = strndup(start, len);
        if (o == NULL)
            return fail(err, errlen, "out of memory");
        cfg->origins[cfg->norigins++] = o;
        if (strstr(o, "://") == NULL)
            return fail(err, errlen, "--allow-origin: '%s' is not an origin like https://example.org", o);
    }
    return true;
}

static void clear_origins(hl_srv_config *cfg)
{
    for (size_t i = 0; i < cfg->norigins; i++)
        free(cfg->origins[i]);
    free(cfg->origins);
    cfg->origins = NULL;
    cfg->norigins = 0;
}

static bool apply(hl_srv_config *cfg, const option *o, const char *val, char *err, size_t errlen)
{
    char *base = (char *)cfg;
    switch (o->kind) {
    case K_NUM:
    case K_SIZE: {
        uint64_t v;
        if (!parse_u64(val, o->kind == K_SIZE, &v) || v < o->min || v > o->max)
            return fail(err, errlen, "--%s: '%s' is not a number from %llu to %llu%s", o->name, val,
                        (unsigned long long)o->min, (unsigned long long)o->max,
                        o->kind == K_SIZE ? " (K, M, G suffixes allowed)" : "");
        *(uint64_t *)(base + o->offset) = v;
        return true;
    }
    case K_STR: {
        char **field = (char **)(base + o->offset);
        if (val[0] == '\0')
            return fail(err, errlen, "--%s: the value is empty", o->name);
        char *copy = strdup(val);
        if (copy == NULL)
            return fail(err, errlen, "out of memory");
        free(*field);
        *field = copy;
        return true;
    }
    case K_BOOL:
        if (!parse_bool(val, (bool *)(base + o->offset)))
            return fail(err, errlen, "%s: '%s' is not one of 1/0, true/false, yes/no, on/off", o->env, val);
        return true;
    case K_ORIGINS:
        return add_origins(cfg, val, err, errlen);
    case K_HELP:
    case K_VERSION:
        break;
    }
    return true;
}

static bool apply_defaults(hl_srv_config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->threads = cores > 0 ? (uint64_t)cores : 1;
    if (cfg->threads > 1024)
        cfg->threads = 1024;
    for (size_t i = 0; i < NOPTIONS; i++)
        if (OPTIONS[i].deflt && !apply(cfg, &OPTIONS[i], OPTIONS[i].deflt, err, errlen))
            return false;
    return true;
}

static bool apply_env(hl_srv_config *cfg, int *from, char *err, size_t errlen)
{
    for (size_t i = 0; i < NOPTIONS; i++) {
        const char *v = OPTIONS[i].env ? getenv(OPTIONS[i].env) : NULL;
        if (v == NULL || v[0] == '\0')
            continue;
        if (!apply(cfg, &OPTIONS[i], v, err, errlen))
            return false;
        from[i] = FROM_ENV;
    }
    return true;
}

static const option *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (strlen(OPTIONS[i].name) == len && strncmp(OPTIONS[i].name, name, len) == 0)
            return &OPTIONS[i];
    return NULL;
}

/* Parses argv[*i] (and its value, which may be the next word). */
static hl_srv_config_outcome apply_flag(hl_srv_config *cfg, int argc, char **argv, int *i, int *from,
                                        char *err, size_t errlen)
{
    const char *word = argv[*i];
    if (strcmp(word, "-h") == 0)
        return HL_SRV_CONFIG_HELP;
    if (strncmp(word, "--", 2) != 0)
        return refuse(err, errlen, "unexpected argument '%s' (see --help)", word);
    const char *name = word + 2;
    const char *eq = strchr(name, '=');
    const option *o = find_option(name, eq ? (size_t)(eq - name) : strlen(name));
    if (o == NULL)
        return refuse(err, errlen, "unknown option '%s' (see --help)", word);
    if (o->kind == K_HELP || o->kind == K_VERSION || o->kind == K_BOOL) {
        if (eq)
            return refuse(err, errlen, "--%s takes no value", o->name);
        if (o->kind == K_BOOL)
            *(bool *)((char *)cfg + o->offset) = true;
        return o->kind == K_HELP ? HL_SRV_CONFIG_HELP
             : o->kind == K_VERSION ? HL_SRV_CONFIG_VERSION : HL_SRV_CONFIG_RUN;
    }
    const char *val = eq ? eq + 1 : NULL;
    if (val == NULL && *i + 1 < argc)
        val = argv[++*i];
    if (val == NULL)
        return refuse(err, errlen, "--%s needs a value", o->name);
    /* The first --allow-origin replaces the list from the environment. */
    if (o->kind == K_ORIGINS && from[o - OPTIONS] != FROM_FLAG)
        clear_origins(cfg);
    from[o - OPTIONS] = FROM_FLAG;
    return apply(cfg, o, val, err, errlen) ? HL_SRV_CONFIG_RUN : HL_SRV_CONFIG_ERROR;
}

static int level_of(const int *from, const char *name)
{
    return from[find_option(name, strlen(name)) - OPTIONS];
}

static bool read_token_file(hl_srv_config *cfg, char *err, size_t errlen)
{
    FILE *f = fopen(cfg->admin_token_file, "r");
    if (f == NULL)
        return fail(err, errlen, "--admin-token-file: cannot open '%s': %s", cfg->admin_token_file,
                    strerror(errno));
    char buf[TOKEN_FILE_MAX + 1];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n > TOKEN_FILE_MAX)
        return fail(err, errlen, "--admin-token-file: '%s' is larger than %d bytes", cfg->admin_token_file,
                    TOKEN_FILE_MAX);
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        n--;
    buf[n] = '\0';
    if (n == 0 || strlen(buf) != n)
        return fail(err, errlen, "--admin-token-file: '%s' holds no usable token", cfg->admin_token_file);
    free(cfg->admin_token);
    cfg->admin_token = strdup(buf);
    return cfg->admin_token ? true : fail(err, errlen, "out of memory");
}

/* The token and the token file are one setting given two ways: the one from
 * the stronger source wins, and both from the same source is a mistake. */
static bool resolve_token(hl_srv_config *cfg, const int *from, char *err, size_t errlen)
{
    int tok = level_of(from, "admin-token"), file = level_of(from, "admin-token-file");
    if (file == FROM_DEFAULT)
        return true;
    if (tok == file)
        return fail(err, errlen, "give the admin token or the admin token file, not both");
    return tok > file ? true : read_token_file(cfg, err, errlen);
}

static bool valid_shard(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 16)
        return false;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s)))
            return false;
    return true;
}

static bool check(hl_srv_config *cfg, char *err, size_t errlen)
{
    if (cfg->shard != NULL && !valid_shard(cfg->shard))
        return fail(err, errlen, "--shard: '%s' must be 1 to 16 characters of a-z and 0-9", cfg->shard);
    if (strcmp(cfg->fsync, "always") != 0 && strcmp(cfg->fsync, "everysec") != 0 && strcmp(cfg->fsync, "no") != 0)
        return fail(err, errlen, "--fsync: '%s' must be always, everysec or no", cfg->fsync);
    if (!hl_srv_bind_addr_parse(cfg->bind, (uint16_t)cfg->port, &cfg->addr))
        return fail(err, errlen, "--bind: '%s' is not an IPv4 or IPv6 address", cfg->bind);
    if (cfg->no_auth && !cfg->addr.loopback)
        return fail(err, errlen,
                    "refusing --no-auth on %s: anyone who can reach it would be admin. "
                    "Bind to 127.0.0.1 or ::1, or set --admin-token instead",
                    cfg->bind);
    return true;
}

hl_srv_config_outcome hl_srv_config_load(hl_srv_config *cfg, int argc, char **argv, char *err,
                                         size_t errlen)
{
    int from[NOPTIONS] = {0};
    hl_srv_config_outcome out = HL_SRV_CONFIG_RUN;
    bool ok = apply_defaults(cfg, err, errlen) && apply_env(cfg, from, err, errlen);
    for (int i = 1; ok && i < argc && out == HL_SRV_CONFIG_RUN; i++)
        out = apply_flag(cfg, argc, argv, &i, from, err, errlen);
    if (ok && out == HL_SRV_CONFIG_RUN)
        ok = resolve_token(cfg, from, err, errlen) && check(cfg, err, errlen);
    if (!ok)
        out = HL_SRV_CONFIG_ERROR;
    if (out != HL_SRV_CONFIG_RUN)
        hl_srv_config_free(cfg);
    return out;
}

void hl_srv_config_free(hl_srv_config *cfg)
{
    clear_origins(cfg);
    free(cfg->bind);
    free(cfg->admin_token);
    free(cfg->admin_token_file);
    free(cfg->static_dir);
    free(cfg->openapi_file);
    free(cfg->shard);
    free(cfg->data_dir);
    free(cfg->fsync);
    memset(cfg, 0, sizeof *cfg);
}

void hl_srv_config_usage(FILE *out)
{
    fputs("Usage: heaplab [OPTION]...\n"
          "Serve heaplab's HTTP API, web UI and metrics.\n"
          "Every option can also be set by the environment variable shown; the flag wins.\n\n",
          out);
    for (size_t i = 0; i < NOPTIONS; i++) {
        const option *o = &OPTIONS[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(out, "  %-28s %s\n", left, o->help);
        if (o->env)
            fprintf(out, "  %-28s   env %s%s%s\n", "", o->env, o->deflt ? ", default " : "",
                    o->deflt ? o->deflt : "");
    }
    fputs("\nWith no options it serves http://127.0.0.1:8080/.  Exit status: 0 after a clean\n"
          "shutdown (SIGTERM/SIGINT), 1 when it cannot start, 2 for a bad option.\n",
          out);
}
