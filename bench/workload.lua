-- wrk script for sealdb's benchmark harness (bench/run.mjs).
-- Arguments after `--`: mode table items payloadSize readPct span groupSize conn rate threads
--   mode: get | put | mix | query | insert | ceiling
--   mix: readPct % GetItem, the rest PutItem of existing keys
--   query: short Query ranges of `span` sort keys inside a partition of `groupSize` items
--   insert: PutItem of new keys (write-only load)
--   conn: keepalive | close (close sends Connection: close, so every request opens a connection)
--   rate: total target requests/s over all threads (0 or absent: as fast as possible)
--   threads: wrk's -t, so that each thread paces itself at rate / threads
local threads = {}
local counter = 1

-- Pacing needs a wall clock finer than os.time()'s seconds; wrk embeds LuaJIT, so its FFI
-- reaches clock_gettime. Only paced runs need it (checked in init).
local hasFfi, ffi = pcall(require, "ffi")
local timespec
if hasFfi then
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } sealdb_bench_timespec;
    int clock_gettime(int clock_id, sealdb_bench_timespec *ts);
  ]]
  timespec = ffi.new("sealdb_bench_timespec")
end
local CLOCK_MONOTONIC = 1

local function nowMs()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local AUTH = "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"

local function headers(target)
  local h = {}
  h["Content-Type"] = "application/x-amz-json-1.0"
  h["X-Amz-Target"] = "DynamoDB_20120810." .. target
  h["X-Amz-Date"] = "20240101T000000Z"
  h["Authorization"] = AUTH
  if conn == "close" then h["Connection"] = "close" end
  return h
end

-- wrk calls delay() when a connection is ready to send (after its previous response) and sends
-- after the returned number of milliseconds (it truncates to an integer); the latency it records
-- starts when the request is sent, so the wait is not counted. When no connection was free at a
-- slot's time, the schedule restarts from now: missed slots are dropped, not caught up, so stalls
-- are not corrected for (closed loop, coordinated omission).
local function pacedDelay()
  local now = nowMs()
  local slot = math.max(now, nextSlot)
  nextSlot = slot + interval
  -- Rounded, not truncated: the slots stay exact, each send is at most 0.5 ms off its slot.
  return math.floor(slot - now + 0.5)
end

function init(args)
  mode = args[1] or "get"
  tbl = args[2] or "bench"
  items = tonumber(args[3] or "1000")
  size = tonumber(args[4] or "992")
  readPct = tonumber(args[5] or "100")
  span = tonumber(args[6] or "10")
  groupSize = tonumber(args[7] or "100")
  conn = args[8] or "keepalive"
  math.randomseed(os.time() + (tid or 0) * 7919)
  for _ = 1, 10 do math.random() end
  payload = string.rep("x", size)
  getH = headers("GetItem")
  putH = headers("PutItem")
  queryH = headers("Query")
  groups = math.max(1, math.floor(items / groupSize))
  seq = 0
  rate = tonumber(args[9] or "0")
  if rate > 0 then
    if not hasFfi then error("paced runs need wrk built with LuaJIT (for ffi clock_gettime)") end
    -- Each thread has its own Lua state and serves several connections, but delay() is not told
    -- which connection asks. So the thread hands out send times ("slots") interval ms apart to
    -- whichever of its connections asks next: the thread sends rate / threads requests/s, spread
    -- evenly over its connections, as long as one of them is free (closed loop).
    interval = 1000 * tonumber(args[10] or "1") / rate
    nextSlot = 0
    -- Defined only for paced runs: wrk checks once, after init(), whether delay() exists, and
    -- with it every request goes through a timer, which unpaced runs should not pay for.
    delay = pacedDelay
  end
end

local function getReq()
  local key = string.format("k%09d", math.random(0, items - 1))
  return wrk.format("POST", "/", getH, '{"TableName":"' .. tbl .. '","Key":{"id":{"S":"' .. key .. '"}}}')
end

local function putReq(key)
  return wrk.format("POST", "/", putH,
    '{"TableName":"' .. tbl .. '","Item":{"id":{"S":"' .. key .. '"},"payload":{"S":"' ..
    -- A new value each time, so that an update really changes the stored item.
    string.format("%08d", math.random(0, 99999999)) .. payload:sub(9) .. '"}}}')
end

local function queryReq()
  local g = math.random(0, groups - 1)
  local a = math.random(0, groupSize - span)
  return wrk.format("POST", "/", queryH,
    '{"TableName":"' .. tbl .. '","KeyConditionExpression":"pk = :p AND sk BETWEEN :a AND :b",' ..
    '"ExpressionAttributeValues":{":p":{"S":"' .. string.format("g%07d", g) .. '"},' ..
    '":a":{"S":"' .. string.format("s%05d", a) .. '"},":b":{"S":"' .. string.format("s%05d", a + span - 1) .. '"}}}')
end

function request()
  if mode == "get" or mode == "ceiling" then
    return getReq()
  elseif mode == "put" then
    return putReq(string.format("k%09d", math.random(0, items - 1)))
  elseif mode == "mix" then
    if math.random(1, 100) <= readPct then return getReq() end
    return putReq(string.format("k%09d", math.random(0, items - 1)))
  elseif mode == "query" then
    return queryReq()
  elseif mode == "insert" then
    seq = seq + 1
    return putReq(string.format("n%02d-%s-%09d", tid or 0, tostring(os.time()), seq))
  end
  return getReq()
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.mean, latency.max))
end
