/* bind_addr.c — numeric addresses only, so startup never waits on DNS. */
#include "bind_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static bool parse_v4(const char *text, uint16_t port, hl_srv_bind_addr *out)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
    if (inet_pton(AF_INET, text, &sin->sin_addr) != 1)
        return false;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    /* 127.0.0.0/8 is loopback as a whole. */
    out->loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    return true;
}

static bool parse_v6(const char *text, uint16_t port, hl_srv_bind_addr *out)
{
    char buf[INET6_ADDRSTRLEN + 2];
    size_t len = strlen(text);
    if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
        if (len - 2 >= sizeof buf)
            return false;
        memcpy(buf, text + 1, len - 2);
        buf[len - 2] = '\0';
        text = buf;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
    if (inet_pton(AF_INET6, text, &sin6->sin6_addr) != 1)
        return false;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    out->v6 = true;
    out->loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
    out->any_v6 = IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
    return true;
}

bool hl_srv_bind_addr_parse(const char *text, uint16_t port, hl_srv_bind_addr *out)
{
    memset(out, 0, sizeof *out);
    if (strcmp(text, "localhost") == 0)
        text = "127.0.0.1";
    return parse_v4(text, port, out) || parse_v6(text, port, out);
}
