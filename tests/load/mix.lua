-- mix.lua — the wrk request mix for run_load.sh and soak.sh.
--
-- Reads "ID TOKEN" lines from the file named by $HEAPS_FILE and spreads
-- requests over those heaps with their own tokens:
--   40% GET /objects/1 (every heap's object 1 is its "root" list)
--   20% GET /gc
--   30% POST /batch: create an int bound to one of 16 names, a list holding
--       it bound to another, make the list hold itself and bind a third
--       name to it (rebinding orphans the previous list: a cycle that only
--       the collector reclaims)
--   10% POST /gc/collect (generation 0, 1 or 2)
-- $MIX_DELAY_MS, when set, makes every connection wait that long between
-- requests (the soak uses it to hold a steady, modest rate).
-- done() prints one "RESULT key=value ..." line that the shell scripts parse:
-- 5xx and 4xx counts come from response(), socket errors from wrk.

local heaps = {}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  local path = os.getenv("HEAPS_FILE") or args[1]
  local f = assert(io.open(path, "r"), "cannot open heaps file " .. tostring(path))
  for line in f:lines() do
    local id, tok = line:match("^(%S+)%s+(%S+)")
    if id then heaps[#heaps + 1] = { "/v1/heaps/" .. id, "Bearer " .. tok } end
  end
  f:close()
  assert(#heaps > 0, "no heaps in " .. path)
  counter = (tid or 1) * 7919
  s5, s4, other = 0, 0, 0
  first5 = ""
end

local delay_ms = tonumber(os.getenv("MIX_DELAY_MS") or "")
if delay_ms and delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

function request()
  counter = counter + 1
  local h = heaps[(counter % #heaps) + 1]
  local hdr = { ["Authorization"] = h[2], ["Content-Type"] = "application/json" }
  local k = counter % 10
  if k < 4 then
    return wrk.format("GET", h[1] .. "/objects/1", hdr)
  elseif k < 6 then
    return wrk.format("GET", h[1] .. "/gc", hdr)
  elseif k < 9 then
    local n = counter % 16
    local body = string.format(
      '{"ops":[{"op":"create","type":"int","value":%d,"name":"v%d"},' ..
      '{"op":"create","type":"list","items":["$0"],"name":"w%d"},' ..
      '{"op":"ref","id":"$1","target":"$1"},' ..
      '{"op":"bind","name":"u%d","id":"$1"}]}', 100000 + counter, n, n, n)
    return wrk.format("POST", h[1] .. "/batch", hdr, body)
  else
    return wrk.format("POST", h[1] .. "/gc/collect", hdr,
                      string.format('{"generation":%d}', counter % 3))
  end
end

function response(status, headers, body)
  if status >= 500 then
    s5 = s5 + 1
    if first5 == "" then first5 = tostring(status) .. " " .. string.sub(body or "", 1, 200) end
  elseif status >= 400 then
    s4 = s4 + 1
  elseif status < 200 then
    other = other + 1
  end
end

function done(summary, latency, requests)
  local t5, t4, to, sample = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    t5 = t5 + t:get("s5")
    t4 = t4 + t:get("s4")
    to = to + t:get("other")
    if sample == "" then sample = t:get("first5") end
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
    "connect_errors=%d read_errors=%d write_errors=%d timeouts=%d non2xx3xx=%d " ..
    "status5xx=%d status4xx=%d status1xx=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.timeout, e.status, t5, t4, to))
  if sample ~= "" then io.write("FIRST5XX " .. sample .. "\n") end
end
