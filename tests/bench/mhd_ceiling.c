/* mhd_ceiling.c — the bare libmicrohttpd ceiling for the http benchmark.
 *
 *   mhd_ceiling PORT THREADS
 *
 * Serves one constant JSON body (about the size of heaplab's answer to GET
 * one object) to every request, with what server/http.c starts heaplab's
 * daemon with: MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
 * MHD_ALLOW_SUSPEND_RESUME, a thread pool of THREADS, the same connection
 * limit, memory limit and timeout, and the answer queued on the handler's
 * second call (the first sees the headers only; a body, if any, is read and
 * dropped).  Listens on 127.0.0.1 until SIGINT or SIGTERM. */
#include <microhttpd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char body[] =
    "{\"id\":1,\"type\":\"list\",\"refcount\":1,\"size\":56,\"tracked\":true,\"generation\":0,"
    "\"address\":\"0x7f0000000000\",\"size_class\":3,\"length\":0,\"alive\":true,\"referents\":[]}";

static struct MHD_Response *response;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload_data;
    static int started;
    if (*con_cls == NULL) {         /* first call: headers only */
        *con_cls = &started;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {    /* body bytes: drop them */
        *upload_data_size = 0;
        return MHD_YES;
    }
    return MHD_queue_response(conn, MHD_HTTP_OK, response);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PORT THREADS\n", argv[0]);
        return 2;
    }
    unsigned port = (unsigned)atoi(argv[1]), threads = (unsigned)atoi(argv[2]);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);   /* before the daemon's threads start */

    response = MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, (uint16_t)port, NULL, NULL,
        on_request, NULL,
        MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, 256u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u,
        threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads,
        MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "mhd_ceiling: cannot listen on 127.0.0.1:%u\n", port);
        return 1;
    }
    fprintf(stderr, "mhd_ceiling: listening on 127.0.0.1:%u, %u threads\n", port, threads);
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    MHD_destroy_response(response);
    return 0;
}
