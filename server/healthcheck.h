/* healthcheck.h — `heaplab --healthcheck`: the container's probe.
 *
 * Promise: connects to the address the other options describe (an
 * unspecified bind address means this machine's loopback), asks GET
 * /healthz with a short deadline, and returns the exit status: 0 when the
 * answer is 200, 1 otherwise, with one line on stderr saying why.  The slim
 * runtime image has no curl, so the binary probes itself.
 */
#ifndef HL_SRV_HEALTHCHECK_H
#define HL_SRV_HEALTHCHECK_H

#include "bind_addr.h"

int hl_srv_healthcheck(const hl_srv_bind_addr *addr);

#endif
