/* bench.c — clock, memory figures and output lines for the benchmark programs. */
#include "bench.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t bench_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t bench_peak_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long kb = 0;
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kb = strtoull(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb * 1024ULL;
}

void bench_reset_peak_rss(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd < 0)
        return;
    ssize_t ignored = write(fd, "5", 1);
    (void)ignored;
    close(fd);
}

void bench_emit(const char *metric, const char *impl, const char *param, double value, const char *unit)
{
    printf("{\"metric\": \"%s\", \"impl\": \"%s\", \"param\": \"%s\", \"value\": %.6g, \"unit\": \"%s\"}\n",
           metric, impl, param, value, unit);
    fflush(stdout);
}

uint64_t bench_parse_count(const char *s)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || v < 0) {
        fprintf(stderr, "not a count: %s\n", s);
        exit(2);
    }
    if (*end == 'k' || *end == 'K')
        v *= 1e3, end++;
    else if (*end == 'm' || *end == 'M')
        v *= 1e6, end++;
    if (*end != '\0') {
        fprintf(stderr, "not a count: %s\n", s);
        exit(2);
    }
    return (uint64_t)v;
}
