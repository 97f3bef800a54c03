/* problem.h — RFC 9457 problem details (application/problem+json).
 *
 * Promise: every error heaplab answers is one of these, with a stable
 * `type` per kind of problem, the HTTP `title`, the `status`, and a `detail`
 * sentence a student can act on; extra members (index, position) ride along.
 */
#ifndef HL_API_PROBLEM_H
#define HL_API_PROBLEM_H

#include <jansson.h>
#include <stdbool.h>

#include "api.h"
#include "heap.h"

/* Fills out with a problem; detail is printf-style.  extra (may be NULL) is
 * merged into the body and stolen. */
void hl_problem(hl_api_response *out, int status, const char *slug, json_t *extra, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The HTTP status and problem slug for an error of the core. */
int hl_problem_status_of(hl_status s);
const char *hl_problem_slug_of(hl_status s);

/* Whether text is valid UTF-8 (JSON can carry nothing else). */
bool hl_text_is_utf8(const char *text);

/* Writes a JSON value as the response body (stolen). */
void hl_respond_json(hl_api_response *out, int status, json_t *body);

#endif
