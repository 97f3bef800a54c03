/* bind_addr.h — the address the server listens on.
 *
 * Promise: hl_srv_bind_addr_parse() accepts an IPv4 or IPv6 literal (IPv6
 * with or without brackets) or "localhost", never a name needing DNS, and
 * says whether only this machine can reach the socket: --no-auth depends on
 * that answer.
 */
#ifndef HL_SRV_BIND_ADDR_H
#define HL_SRV_BIND_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct hl_srv_bind_addr {
    struct sockaddr_storage ss;
    bool v6;
    bool any_v6;     /* "::" — the daemon also takes IPv4 (dual stack) */
    bool loopback;
} hl_srv_bind_addr;

bool hl_srv_bind_addr_parse(const char *text, uint16_t port, hl_srv_bind_addr *out);

#endif
