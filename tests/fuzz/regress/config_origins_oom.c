/* REGRESSION (issue 7): failed (crashed) before commit 031f640 fixed it;
 * guards that fix.  A reproducer that fails today starts with "KNOWN FAILING".
 * regress-sources: server/config.c server/bind_addr.c
 * regress-flags: -Wl,--wrap=strndup -DHEAPLAB_STATIC_DIR="/nonexistent" -DHEAPLAB_OPENAPI_FILE="/nonexistent"
 *
 * config_origins_oom.c — server/config.c add_origins(): for each origin it
 * calls strndup and then realloc(cfg->origins, ...); when strndup fails
 * but realloc succeeded (moving the array: the old one is freed), it
 * returns "out of memory" without storing `grown`: the new array leaks and
 * cfg->origins still points at the freed one.  hl_srv_config_load()'s own
 * error path, hl_srv_config_free() -> clear_origins() (config.c:177-178),
 * then reads origins[i] from freed memory and frees the array a second
 * time (heap-use-after-free, double free).  Fix: store `grown` before
 * testing `o`.
 *
 * Here strndup fails for the second origin only ("https://b"); under ASan
 * realloc always moves, as glibc's does whenever it cannot grow in place.
 * Passes when load fails cleanly and free releases everything.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"

char *__real_strndup(const char *s, size_t n);
char *__wrap_strndup(const char *s, size_t n);
char *__wrap_strndup(const char *s, size_t n)
{
    if (strncmp(s, "https://b", 9) == 0)
        return NULL;
    return __real_strndup(s, n);
}

int main(void)
{
    char *argv[] = {"heaplab", "--allow-origin", "https://a,https://b", NULL};
    hl_srv_config cfg;
    char err[256] = "";
    hl_srv_config_outcome o = hl_srv_config_load(&cfg, 3, argv, err, sizeof err);
    printf("load -> %d (%s)\n", (int)o, err);
    if (o == HL_SRV_CONFIG_RUN) /* load frees the config itself when it fails */
        hl_srv_config_free(&cfg);
    puts("config_origins_oom: ok");
    return o == HL_SRV_CONFIG_ERROR ? 0 : 1;
}
