/* healthcheck.c — see healthcheck.h. */
#include "healthcheck.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define DEADLINE_SECONDS 3

/* 0.0.0.0 and :: cannot be connected to: probe loopback instead. */
static void to_connectable(struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        if (in->sin_addr.s_addr == htonl(INADDR_ANY))
            in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        if (memcmp(&in6->sin6_addr, &in6addr_any, sizeof in6addr_any) == 0)
            in6->sin6_addr = in6addr_loopback;
    }
}

static int probe(int fd, const struct sockaddr_storage *ss)
{
    socklen_t len = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (connect(fd, (const struct sockaddr *)ss, len) != 0) {
        fprintf(stderr, "heaplab --healthcheck: cannot connect: %s\n", strerror(errno));
        return 1;
    }
    static const char request[] = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if (send(fd, request, sizeof request - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof request - 1)) {
        fprintf(stderr, "heaplab --healthcheck: cannot send: %s\n", strerror(errno));
        return 1;
    }
    char reply[64] = {0};
    ssize_t n = recv(fd, reply, sizeof reply - 1, MSG_WAITALL);
    if (n >= 12 && strncmp(reply, "HTTP/1.1 200", 12) == 0)
        return 0;
    fprintf(stderr, "heaplab --healthcheck: unhealthy answer: %.20s\n", n > 0 ? reply : "(none)");
    return 1;
}

int hl_srv_healthcheck(const hl_srv_bind_addr *addr)
{
    struct sockaddr_storage ss = addr->ss;
    to_connectable(&ss);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "heaplab --healthcheck: socket: %s\n", strerror(errno));
        return 1;
    }
    struct timeval deadline = {.tv_sec = DEADLINE_SECONDS};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &deadline, sizeof deadline);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &deadline, sizeof deadline);
    int status = probe(fd, &ss);
    close(fd);
    return status;
}
