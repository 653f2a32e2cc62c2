-- wrk script of benchmarks/measure_serve.py: POST one file's bytes (FER_BODY, as FER_TYPE) over and over,
-- each connection pausing FER_DELAY_MS between requests, and print the run's figures as one JSON line.
-- Without FER_BODY: GET the URL (the HTTP stack's own rate, on /healthz).
if os.getenv("FER_BODY") then
   local file = assert(io.open(os.getenv("FER_BODY"), "rb"))
   wrk.method = "POST"
   wrk.body = file:read("*all")
   file:close()
   wrk.headers["Content-Type"] = os.getenv("FER_TYPE")
end
local pause = tonumber(os.getenv("FER_DELAY_MS") or "0")

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   statuses = {}
end

if pause > 0 then
   function delay()
      return pause
   end
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local counts = {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         counts[tostring(status)] = (counts[tostring(status)] or 0) + n
      end
   end
   local parts = {}
   for status, n in pairs(counts) do
      table.insert(parts, string.format('"%s": %d', status, n))
   end
   local e = summary.errors
   io.write(string.format(
      'FERJSON {"requests": %d, "seconds": %.3f, "statuses": {%s}, "socket_errors": %d, ' ..
      '"latency_ms": {"p50": %.3f, "p90": %.3f, "p99": %.3f, "max": %.3f}}\n',
      summary.requests, summary.duration / 1e6, table.concat(parts, ", "),
      e.connect + e.read + e.write + e.timeout,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
      latency.max / 1000))
end
