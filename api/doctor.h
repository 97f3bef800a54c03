/* doctor.h — a memory doctor: what a heap's figures mean, in sentences.
 *
 * Promise: reads a heap and changes nothing.  Returns {"findings": [...]},
 * each finding a stable code, a severity ("info", "hint" or "warning"), a
 * plain sentence and the figures it rests on, in a fixed order; when no
 * other finding fires, the one finding "nothing-to-worry-about".  Counting
 * unreachable objects walks the heap once from its roots: time in objects
 * plus references, about 40 bytes of memory per object, and skipped (said
 * as a finding) above HL_DOCTOR_WALK_MAX live objects.
 */
#ifndef HL_API_DOCTOR_H
#define HL_API_DOCTOR_H

#include <jansson.h>

#include "heap.h"

#define HL_DOCTOR_WALK_MAX 2000000

/* NULL when memory ran out. */
json_t *hl_doctor_findings(const hl_heap *h);

#endif
