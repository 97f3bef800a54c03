/* graph.h — GET /v1/heaps/{h}/graph: the whole object graph, streamed.
 *
 * Promise: the export is written as the server reads it, never held whole:
 * each read that finds nothing pending takes the heap's lock for one batch
 * (512 objects, more only in a heap with over 16 names per 512 objects;
 * at most 16,384 references), formats it and lets go.  So a million-object
 * heap neither grows the server by the size of the document nor keeps the
 * heap's other requests waiting for long.  JSON gives the nodes in id
 * order, then every strong reference as an edge (the referents of each
 * object, as hl_heap_referents visits them); DOT gives the same graph,
 * names as box nodes pointing at their objects.  Strings are escaped for
 * the format (non-ASCII UTF-8 passes through), so the document always
 * parses.
 *
 * The heap may change between batches.  The document ends by saying
 * whether it did: JSON `"complete": true` when the heap's version is still
 * the one in its head, else `"complete": false, "changed_during_export":
 * true`; DOT the same as a comment after the closing brace.  A heap deleted
 * (or a server draining) mid-export cuts the document short: the read
 * returns -1 and the text stays truncated.
 */
#ifndef HL_API_GRAPH_H
#define HL_API_GRAPH_H

#include <stdatomic.h>

#include "api.h"
#include "registry.h"

typedef enum hl_graph_format { HL_GRAPH_JSON, HL_GRAPH_DOT } hl_graph_format;

/* Opens an export of e (its lock held), which stops at the next batch once
 * *draining is set; NULL on OOM.  Read and close it as api.h says. */
hl_api_body_stream *hl_graph_open(hl_api_heap *e, hl_graph_format format, atomic_bool *draining);

/* GET .../graph?format=json|dot with e open: a 200 with out->body_stream,
 * or a problem. */
void hl_graph_route(hl_api *api, hl_api_heap *e, const hl_api_request *req, hl_api_response *out);

#endif
