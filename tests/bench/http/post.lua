-- post.lua — POST one object, created and bound: x = [] (the list x held before is freed).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
wrk.method = "POST"
wrk.path = heap_path .. "/objects"
wrk.body = '{"type": "list", "name": "x"}'
