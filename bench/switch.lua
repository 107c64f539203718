-- A mix of 50 typical requests for bench/switch.sh: lists, items,
-- observation queries, series in every format, charts and embeds, all of
-- them responses the cache stores (so that the steady p99 is the cache's,
-- and only a release switch makes them computed again). Target i
-- is asked about 50/i times as often as the last (a Zipf-like mix, as real
-- traffic has), every third with Accept-Encoding: gzip. done() prints one
-- line of figures for the script to read: latency percentiles in
-- microseconds, requests, and errors (non-2xx/3xx statuses and socket
-- errors).
local targets = {
  "/v1/offences",
  "/v1/offences?format=csv",
  "/v1/offences/human-trafficking/aggravated",
  "/v1/offences/sex-purchase",
  "/v1/regions",
  "/v1/regions?type=police-district",
  "/v1/regions?type=police-district&valid_on=2015-06-30",
  "/v1/regions?format=csv",
  "/v1/regions/NO",
  "/v1/regions/pd2016-trondelag",
  "/v1/measures",
  "/v1/sources",
  "/v1/sources?format=csv",
  "/v1/sources/unodc-glotip-2025",
  "/v1/observations?offence=sex-purchase&region=NO",
  "/v1/observations?offence=sex-purchase&region=NO&measure=reported-persons&from=2009&to=2010",
  "/v1/observations?region=NO&limit=1000",
  "/v1/observations?region=SE&limit=50",
  "/v1/observations?region=NO,SE&offence=iccs/0302&format=csv",
  "/v1/observations?offence=iccs/0302&region=NO",
  "/v1/observations?limit=500",
  "/v1/observations?from=2013-T1&to=2013",
  "/v1/observations?sex=female&age=0-17&limit=1000",
  "/v1/observations?citizenship=total&measure=detected-victims&region=NO",
  "/v1/observations?region=DK&offence=iccs/0101",
  "/v1/observations?region=FI&limit=200&format=csv",
  "/v1/observations?offence=human-trafficking&region=NO",
  "/v1/observations?offence=pimping&region=NO",
  "/v1/population?region=NO",
  "/v1/population?from=2009&to=2010&format=csv",
  "/v1/releases",
  "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons",
  "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons&per=100000",
  "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons&format=csv",
  "/v1/series?offence=human-trafficking&region=NO&measure=reported-offences",
  "/v1/series?offence=iccs/0302&region=NO,SE,DK,FI&measure=reported-offences",
  "/v1/series?offence=iccs/0101&region=NO&measure=reported-offences&from=2008&to=2020",
  "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons&format=jsonstat",
  "/v1/series.svg?offence=sex-purchase&region=NO&measure=reported-persons",
  "/v1/series.svg?offence=iccs/0302&region=NO,SE&measure=reported-offences",
  "/v1/series.png?offence=sex-purchase&region=NO&measure=reported-persons",
  "/v1/compare.svg?offence=iccs/0302&region=NO,SE,DK,FI&measure=reported-offences&period=2020",
  "/v1/series?offence=iccs/0101&region=SE,FI&measure=reported-offences&format=csv",
  "/embed/series?offence=sex-purchase&region=NO&measure=reported-persons",
  "/embed/compare?offence=iccs/0302&region=NO,SE,DK,FI&measure=reported-offences&period=2020",
  "/v1/compare.png?offence=iccs/0302&region=NO,SE,DK,FI&measure=reported-offences&period=2020",
  "/openapi.json",
  "/v1/releases.atom",
  "/v1/observations?region=NO&offence=iccs/0302&measure=reported-offences",
  "/v1/observations?offence=iccs/0101&region=SE",
}

local requests = {}
local next_request = 1

function init(args)
  local list = {}
  for i, path in ipairs(targets) do
    local headers = {}
    if i % 3 == 0 then
      headers["Accept-Encoding"] = "gzip"
    end
    local req = wrk.format("GET", path, headers)
    for _ = 1, math.ceil(#targets / i) do
      table.insert(list, req)
    end
  end
  -- Shuffle, so that each connection's requests mix the targets.
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
  for i = #list, 2, -1 do
    local j = math.random(i)
    list[i], list[j] = list[j], list[i]
  end
  requests = list
  next_request = math.random(#requests)
end

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end

function done(summary, latency, reqs)
  local e = summary.errors
  io.write(string.format("switch.lua: p50=%d p99=%d p999=%d max=%d requests=%d non2xx=%d socket_errors=%d\n",
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max,
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
