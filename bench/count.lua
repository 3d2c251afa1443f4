-- bench/count.lua - wrk script for the sluice benchmark (bench/run.sh).
--
--   wrk -t2 -c32 -d10s -s bench/count.lua URL -- post [BYTES]
--   wrk -t2 -c32 -d10s -s bench/count.lua URL -- get
--
-- "post" sends a JSON body of exactly BYTES bytes (default 1024) with
-- Content-Type: application/json; "get" sends a plain GET.
--
-- wrk's own summary lumps 3xx in with success and gives no machine-readable
-- line, so this script counts 2xx and non-2xx responses itself and prints one
-- line at the end that run.sh parses:
--
--   RESULT rps=... ok_rps=... p50_ms=... p99_ms=... total=... ok=... non2xx=...
--          sock_errors=... timeouts=... duration_s=...
--
-- rps counts every response, ok_rps only 2xx; latencies are wrk's, over all
-- completed responses. Defining response() turns off wrk's pipelining, which
-- is what we want anyway: one request in flight per connection, like a real
-- webhook sender.
--
-- Each wrk thread runs its own Lua state, so the counters below are globals of
-- that thread's state; done() runs in the main state and collects them through
-- the thread handles that setup() saved.

local threads = {}

function setup(thread)
   threads[#threads + 1] = thread
end

-- Globals (not locals) so that thread:get() can read them in done().
bench_ok = 0
bench_non2xx = 0

local function json_body(size)
   local head = '{"source":"sluice-bench","event":"count","pad":"'
   local tail = '"}'
   local pad = size - #head - #tail
   if pad < 0 then
      error("count.lua: body size " .. size .. " is too small")
   end
   return head .. string.rep("x", pad) .. tail
end

function init(args)
   local mode = args[1] or "get"
   if mode == "post" then
      local size = tonumber(args[2] or "1024")
      if size == nil then
         error("count.lua: body size must be a number")
      end
      wrk.method = "POST"
      wrk.body = json_body(size)
      wrk.headers["Content-Type"] = "application/json"
   elseif mode == "get" then
      wrk.method = "GET"
   else
      error("count.lua: mode must be 'post' or 'get', not '" .. mode .. "'")
   end
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      bench_ok = bench_ok + 1
   else
      bench_non2xx = bench_non2xx + 1
   end
end

function done(summary, latency, requests)
   local ok, non2xx = 0, 0
   for _, t in ipairs(threads) do
      ok = ok + (tonumber(t:get("bench_ok")) or 0)
      non2xx = non2xx + (tonumber(t:get("bench_non2xx")) or 0)
   end
   local secs = summary.duration / 1e6
   if secs <= 0 then secs = 1e-9 end
   local e = summary.errors
   io.write(string.format(
      "RESULT rps=%.1f ok_rps=%.1f p50_ms=%.3f p99_ms=%.3f total=%d ok=%d non2xx=%d "
         .. "sock_errors=%d timeouts=%d duration_s=%.3f\n",
      (ok + non2xx) / secs, ok / secs,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      ok + non2xx, ok, non2xx,
      e.connect + e.read + e.write, e.timeout, secs))
end
