-- Load for the replicas behind HAProxy (cmd/krimstat/scaleout_test.go,
-- bench/scaleout.sh): a mix of cached JSON routes, each request from a
-- client address of its own in X-Forwarded-For (10.x.y.z, a new one per
-- request; HAProxy appends its peer, 127.0.0.1, which the replicas trust),
-- so that the per-client limits never bite: what is measured is the
-- service, not the limits.
--
-- Every answer is checked for mixing releases: the release named in the
-- X-Krimstat-Release header must be the one the body names
-- ("release":"..." of meta or the body itself). done() prints one line for
-- the test to read: requests, non-2xx answers, socket errors, latency
-- percentiles in microseconds, answers that mixed releases, answers
-- without a release in the body, and the answers per release id.
local paths = {
  "/v1/observations?offence=sex-purchase&region=NO",
  "/v1/observations?offence=sex-purchase&region=NO",
  "/v1/observations?offence=sex-purchase&region=NO",
  "/v1/observations?region=SE&limit=50",
  "/v1/offences",
  "/v1/regions/NO",
  "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons",
  "/v1/observations?offence=human-trafficking&region=NO",
}

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  responses, non2xx, mixed, unnamed = 0, 0, 0, 0
  releases = {}
  seq = 0
end

function request()
  seq = seq + 1
  local n = seq % 16777216
  -- 10.0.0.0/8 for the first thread, 11.0.0.0/8 for the second, ...
  local from = string.format("%d.%d.%d.%d", 9 + id, math.floor(n / 65536), math.floor(n / 256) % 256, n % 256)
  return wrk.format("GET", paths[seq % #paths + 1], { ["X-Forwarded-For"] = from })
end

function response(status, headers, body)
  responses = responses + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    return
  end
  -- HAProxy hands header names on in lower case.
  local header = headers["x-krimstat-release"] or headers["X-Krimstat-Release"] or ""
  local named = body and string.match(body, '"release":"([^"]*)"')
  if not named then
    unnamed = unnamed + 1
  elseif named ~= header then
    mixed = mixed + 1
  end
  releases[header] = (releases[header] or 0) + 1
end

function done(summary, latency, requests)
  local total, bad, mix, noname = 0, 0, 0, 0
  local seen = {}
  for _, t in ipairs(threads) do
    total = total + t:get("responses")
    bad = bad + t:get("non2xx")
    mix = mix + t:get("mixed")
    noname = noname + t:get("unnamed")
    for id, n in pairs(t:get("releases")) do
      seen[id] = (seen[id] or 0) + n
    end
  end
  local list = {}
  for id, n in pairs(seen) do
    table.insert(list, id .. "=" .. n)
  end
  table.sort(list)
  local e = summary.errors
  io.write(string.format("scaleout.lua: requests=%d non2xx=%d socket_errors=%d p50=%d p99=%d max=%d mixed=%d unnamed=%d releases=%s\n",
    total, bad, e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99), latency.max,
    mix, noname, table.concat(list, ",")))
end
