-- wrk script for the end-to-end benchmark (shotline/bench/e2e.py): POSTs every line of the
-- file named by the first script argument exactly once, in file order, each at its own due
-- time, to the path in the second. A line is "<due ms> <body>": milliseconds from the start
-- of the run (non-decreasing down the file), a space, the body. The third argument is wrk's
-- thread count; the optional fourth divides every due time (2: twice as fast; the bench's
-- sender-ceiling run). The lines are split among wrk's threads (line n goes to thread n mod
-- threads); each thread sends its share on its own clock (CLOCK_MONOTONIC through LuaJIT's
-- ffi), so a slow server makes the schedule slip and the run reports it instead of hiding
-- it. A thread's clock starts once it has read the file (wrk starts its threads one after
-- another, each after its own read), so the summary line gives each thread's start as wall
-- time (ms since the epoch): a line's due time is its thread's start plus its own. Once a
-- thread has sent its share it idles until wrk's -d ends. Prints one machine-readable
-- summary line.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } shotline_timespec;
int clock_gettime(int clock, shotline_timespec *out);
]]
local timespec = ffi.new("shotline_timespec")
local function clock_ms(clock)
  ffi.C.clock_gettime(clock, timespec)
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end
local function now_ms()
  return clock_ms(1)  -- CLOCK_MONOTONIC
end

local threads, count = {}, 0
setup = function(thread)
  thread:set("id", count)
  count = count + 1
  threads[#threads + 1] = thread
end

-- Per thread (each has its own Lua state): its requests, their due times and tallies.
reqs, dues, next_req, start_ms, start_wall_ms = {}, {}, 1, 0, 0
sent, not_ok, first_ms, last_ms = 0, 0, 0, 0

init = function(args)
  local headers = {["Content-Type"] = "application/json;charset=utf-8"}
  local total = tonumber(args[3])  -- wrk's thread count; `id` was set by setup()
  local speed = tonumber(args[4] or "1")
  local index, n = 0, 0
  for line in io.lines(args[1]) do
    if index % total == id then
      local space = string.find(line, " ", 1, true)
      n = n + 1
      dues[n] = tonumber(string.sub(line, 1, space - 1)) / speed
      reqs[n] = wrk.format("POST", args[2], headers, string.sub(line, space + 1))
    end
    index = index + 1
  end
  start_ms = now_ms()
  start_wall_ms = clock_ms(0)  -- CLOCK_REALTIME: when this thread's schedule began
end

-- wrk asks delay() before every request it sends. Request k of this thread (k from 1) is due
-- at start + dues[k]; `pending` counts delays handed out whose request() has not run yet, so
-- each delay knows its slot.
pending = 0
delay = function()
  local slot = next_req + pending
  if slot > #reqs then
    return 3600 * 1000  -- this thread's share is sent or spoken for: idle until -d ends
  end
  pending = pending + 1
  local wait = start_ms + dues[slot] - now_ms()
  if wait < 0 then
    return 0
  end
  return wait
end

request = function()
  if pending == 0 then
    -- Not a send: wrk builds one request on thread 0 to check the script before any
    -- connection (every real send is preceded by delay()). Consume nothing.
    return reqs[1]
  end
  pending = pending - 1
  local index = next_req
  next_req = next_req + 1
  sent = sent + 1
  local t = now_ms()
  if first_ms == 0 then
    first_ms = t
  end
  last_ms = t
  return reqs[index]
end

response = function(status, headers, body)
  if status ~= 200 then
    not_ok = not_ok + 1
  end
end

done = function(summary, latency, requests)
  local total_sent, total_bad, first, last = 0, 0, nil, 0
  for _, thread in ipairs(threads) do
    total_sent = total_sent + thread:get("sent")
    total_bad = total_bad + thread:get("not_ok")
    local f, l = thread:get("first_ms"), thread:get("last_ms")
    if f > 0 and (first == nil or f < first) then
      first = f
    end
    if l > last then
      last = l
    end
  end
  local starts = {}
  for _, thread in ipairs(threads) do
    starts[#starts + 1] = string.format("%.3f", thread:get("start_wall_ms"))
  end
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d %.1f %s\n", total_sent, total_bad,
    latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout, last - (first or last), table.concat(starts, " ")))
end
