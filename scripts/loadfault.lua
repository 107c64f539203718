-- wrk script of scripts/loadfault.sh. It counts responses by status across
-- every wrk thread (each has its own Lua state, so done() collects the
-- counters through the thread handles) and prints one line that the shell
-- script reads:
--
--   LOADFAULT requests=N non2xx=N statuses=200:N,503:N socket_errors=N
--     (connect=N read=N write=N timeout=N) p50_ms=F p99_ms=F max_ms=F
--
-- "wrk ... -s loadfault.lua URL -- vary" makes the query differ per request
-- (page size and first year), so that most requests miss the cache.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  vary = args[1] == "vary"
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end

function request()
  if not vary then
    return wrk.format(nil)
  end
  local sep = "?"
  if string.find(wrk.path, "?", 1, true) then
    sep = "&"
  end
  local path = wrk.path .. sep .. "limit=" .. math.random(1, 2000) .. "&from=" .. math.random(1990, 2024)
  return wrk.format(nil, path)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for code, n in pairs(s) do
      merged[code] = (merged[code] or 0) + n
    end
  end
  local codes, non2xx, parts = {}, 0, {}
  for code, _ in pairs(merged) do
    table.insert(codes, code)
  end
  table.sort(codes)
  for _, code in ipairs(codes) do
    local n = merged[code]
    if code < 200 or code > 299 then
      non2xx = non2xx + n
    end
    table.insert(parts, code .. ":" .. n)
  end
  local e = summary.errors
  io.write(string.format(
    "LOADFAULT requests=%d non2xx=%d statuses=%s socket_errors=%d (connect=%d read=%d write=%d timeout=%d) p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, non2xx, table.concat(parts, ","), e.connect + e.read + e.write + e.timeout,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
