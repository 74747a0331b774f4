-- bench/ppv: the load generator as a wrk script (wrk: C, epoll, keep-alive connections; this script
-- runs in wrk's LuaJIT). Every connection runs authorize -> confirm pairs for fresh transaction ids on
-- random subscribers, one request at a time (closed loop), and the latency of each authorize and each
-- confirm is measured here (monotonic clock, from the request's creation to its response) and
-- reported separately. Run by bench/ppv.py:
--     wrk -t2 -c32 -d15s -s bench/ppv_wrk.lua http://127.0.0.1:PORT -- TOKEN SUBSCRIBERS_FILE EVENT RESULT_FILE
-- A response is matched to its request by the transaction id every answer carries.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } ppv_timespec;
  int clock_gettime(int clk_id, ppv_timespec *tp);
]]
local ts = ffi.new("ppv_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
  table.insert(threads, thread)
end

local token, subscribers, event
result_file = nil -- a global: done() runs in the main state and reads it from a thread
local headers_json
local started = {} -- transaction id -> start time (us) of its pending request
local to_confirm = {} -- transaction ids approved, waiting for their confirm
local sequence = 0
auth_us, confirm_us, failures = {}, {}, {}

function init(args)
  token, event, result_file = args[1], args[3], args[4]
  subscribers = {}
  for line in io.lines(args[2]) do
    if #line > 0 then table.insert(subscribers, line) end
  end
  headers_json = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
  math.randomseed(thread_id * 7919 + os.time())
end

function request()
  local tx = table.remove(to_confirm)
  if tx then
    started[tx] = now_us()
    return wrk.format("POST", "/api/v1/ppv/confirm", headers_json, '{"transaction_id": "' .. tx .. '"}')
  end
  sequence = sequence + 1
  tx = string.format("w%d-%d-%d", thread_id, os.time(), sequence)
  started[tx] = now_us()
  local sub = subscribers[math.random(#subscribers)]
  return wrk.format("POST", "/api/v1/ppv/authorize", headers_json,
    '{"transaction_id": "' .. tx .. '", "subscriber": "' .. sub .. '", "event_id": "' .. event .. '"}')
end

local function fail(key)
  failures[key] = (failures[key] or 0) + 1
end

function response(status, headers, body)
  local t = now_us()
  local tx = body:match('"transaction_id": "([^"]+)"')
  local result = body:match('"result": "([^"]+)"')
  local t0 = tx and started[tx]
  if not t0 then
    fail("unmatched " .. status)
    return
  end
  started[tx] = nil
  if result == "approved" then
    table.insert(auth_us, t - t0)
    if status == 200 then table.insert(to_confirm, tx) else fail("authorize " .. status) end
  elseif result == "confirmed" then
    table.insert(confirm_us, t - t0)
    if status ~= 200 then fail("confirm " .. status) end
  else
    fail((result or "?") .. " " .. status .. " " .. (body:match('"code": "([^"]+)"') or "?"))
  end
end

local function merged(name)
  local all = {}
  for _, thread in ipairs(threads) do
    for _, v in ipairs(thread:get(name)) do table.insert(all, v) end
  end
  table.sort(all)
  return all
end

local function stats(values)
  local n = #values
  local function pct(p)
    if n == 0 then return -1 end
    return values[math.min(n, math.max(1, math.floor(p / 100 * (n - 1) + 0.5) + 1))] / 1000
  end
  return string.format('{"n": %d, "p50": %.2f, "p95": %.2f, "p99": %.2f, "max": %.2f}',
    n, pct(50), pct(95), pct(99), pct(100))
end

function done(summary, latency, requests)
  local fails, parts = 0, {}
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("failures")) do
      fails = fails + v
      table.insert(parts, string.format('"%s": %d', k, v))
    end
  end
  local out = string.format(
    '{"seconds": %.3f, "requests": %d, "socket_errors": %d, "non_2xx": %d, "authorize_ms": %s, "confirm_ms": %s, ' ..
    '"failures": {%s}}',
    summary.duration / 1e6, summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status, stats(merged("auth_us")), stats(merged("confirm_us")),
    table.concat(parts, ", "))
  local f = io.open(threads[1]:get("result_file"), "w")
  f:write(out)
  f:close()
end
