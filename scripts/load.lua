-- wrk script for scripts/load.sh. Arguments (after `--`): MODE ARG MAX_PER_THREAD
--   MODE=path  ARG = a path to GET
--   MODE=ids   ARG = a file of invreq ids; GETs /v1/invoicerequests/{id}, cycling through them
--   MODE=post  ARG = a file holding the JSON body to POST to /v1/invoicerequests
-- Every phase runs this same script, so the client does the same work per request in each.
-- LOAD_AUTH (environment), when set, is sent as the Authorization header.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local reqs = {}
local n = 0
local i = 0
local seen = 0
local max_requests = 0

local function read_file(path)
  local f = assert(io.open(path, "r"))
  local s = f:read("*a")
  f:close()
  return s
end

function init(args)
  local mode, arg = args[1], args[2]
  max_requests = tonumber(args[3]) or 1000000
  local headers = { ["Accept"] = "application/json" }
  local auth = os.getenv("LOAD_AUTH")
  if auth ~= nil and auth ~= "" then
    headers["Authorization"] = auth
  end
  if mode == "ids" then
    for line in io.lines(arg) do
      if line ~= "" then
        n = n + 1
        reqs[n] = wrk.format("GET", "/v1/invoicerequests/" .. line, headers)
      end
    end
  elseif mode == "post" then
    headers["Content-Type"] = "application/json"
    n = 1
    reqs[1] = wrk.format("POST", "/v1/invoicerequests", headers, read_file(arg))
  else
    n = 1
    reqs[1] = wrk.format("GET", arg, headers)
  end
  assert(n > 0, "no requests to send")
  -- Each thread starts at its own place in the id list.
  math.randomseed(os.time() * 1000 + (tid or 0))
  i = math.random(n) - 1
end

function request()
  i = i % n + 1
  return reqs[i]
end

function response(status, headers, body)
  seen = seen + 1
  if seen >= max_requests then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d errors=%d non2xx=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
