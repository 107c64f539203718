-- Counts responses and non-2xx statuses across every wrk thread, for the
-- Redis-kill phase of bench/load.sh. wrk gives each thread its own Lua state,
-- so done() collects the per-thread counters through the thread handles.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  responses = 0
  non2xx = 0
end

function response(status, headers, body)
  responses = responses + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local total, bad = 0, 0
  for _, t in ipairs(threads) do
    total = total + t:get("responses")
    bad = bad + t:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format("count.lua: responses=%d non2xx=%d socket_errors=%d (connect %d, read %d, write %d, timeout %d)\n",
    total, bad, e.connect + e.read + e.write + e.timeout, e.connect, e.read, e.write, e.timeout))
end
