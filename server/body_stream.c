/* body_stream.c — a pull-based response body; see body_stream.h. */
#include "body_stream.h"

#include <microhttpd.h>
#include <stdlib.h>

/* Larger than SSE's blocks: these bodies are long and sent in one go. */
#define BLOCK_SIZE ((size_t)32 * 1024)

typedef struct body_stream {
    hl_api_body_stream *api;
    uint64_t *bytes;
} body_stream;

static ssize_t on_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    body_stream *s = cls;
    ssize_t n = hl_api_body_stream_read(s->api, buf, max);
    if (n > 0) {
        *s->bytes += (uint64_t)n;
        return n;
    }
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void on_free(void *cls)
{
    body_stream *s = cls;
    hl_api_body_stream_close(s->api);
    free(s);
}

struct MHD_Response *hl_srv_body_stream_response(hl_api_body_stream *api, const char *content_type, uint64_t *bytes)
{
    body_stream *s = malloc(sizeof *s);
    if (s == NULL) {
        hl_api_body_stream_close(api);
        return NULL;
    }
    *s = (body_stream){.api = api, .bytes = bytes};
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, BLOCK_SIZE, on_read, s, on_free);
    if (r == NULL) {
        on_free(s);
        return NULL;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    /* nginx would otherwise read the whole body into its temporary files
     * as fast as we make it, and the client's pace would no longer hold
     * the producer back. */
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    return r;
}
