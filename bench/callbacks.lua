-- wrk script for the ingest benchmark: POSTs the callbacks in the file named by the first
-- script argument (one JSON body per line) round-robin to the path in the second, and prints
-- one machine-readable summary line that shotline/bench/ingest.py parses.
local reqs = {}
local i = 0

init = function(args)
  local headers = {["Content-Type"] = "application/json;charset=utf-8"}
  for line in io.lines(args[1]) do
    reqs[#reqs + 1] = wrk.format("POST", args[2], headers, line)
  end
end

request = function()
  i = i + 1
  return reqs[(i % #reqs) + 1]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
