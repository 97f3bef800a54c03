-- common.lua — what the wrk scripts share: the heap's path and token (from the
-- environment the http bench sets: HEAP_ID, HEAP_TOKEN) and a done() that
-- prints one JSON line wrk's figures can be read from.
heap_path = "/v1/heaps/" .. (os.getenv("HEAP_ID") or "none")
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("HEAP_TOKEN") or "")
wrk.headers["Content-Type"] = "application/json"

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "rps": %.1f, "p50_us": %d, "p99_us": %d, ' ..
      '"errors": %d, "status_errors": %d}\n',
      summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(99),
      e.connect + e.read + e.write + e.timeout, e.status))
end
