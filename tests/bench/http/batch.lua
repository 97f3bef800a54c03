-- batch.lua — one batch of 100 ops: 25 times b<k> = []; c<k> = []; b<k>.append(c<k>); del c<k>
-- (rebinding b<k> frees the pair the previous request made, so the heap stays the same size).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local ops = {}
for k = 0, 24 do
   local i = 4 * k
   ops[#ops + 1] = string.format('{"op": "create", "type": "list", "name": "b%d"}', k)
   ops[#ops + 1] = string.format('{"op": "create", "type": "list", "name": "c%d"}', k)
   ops[#ops + 1] = string.format('{"op": "ref", "id": "$%d", "target": "$%d"}', i, i + 1)
   ops[#ops + 1] = string.format('{"op": "unbind", "name": "c%d"}', k)
end
wrk.method = "POST"
wrk.path = heap_path .. "/batch"
wrk.body = '{"ops": [' .. table.concat(ops, ", ") .. ']}'
