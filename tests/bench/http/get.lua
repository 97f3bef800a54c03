-- get.lua — GET one object (OBJECT_ID) of the heap, keep-alive.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
wrk.method = "GET"
wrk.path = heap_path .. "/objects/" .. (os.getenv("OBJECT_ID") or "1")
wrk.headers["Content-Type"] = nil
