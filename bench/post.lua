-- wrk script: POST one file (path in env LMCGW_BENCH_FILE) as application/xml,
-- and count answers by status so a run that is all 503s cannot pass for fast.
local f = assert(io.open(os.getenv("LMCGW_BENCH_FILE"), "rb"))
wrk.method = "POST"
wrk.path = "/v1/messages"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/xml"
local extra = os.getenv("LMCGW_BENCH_HEADER")
if extra and extra ~= "" then wrk.headers["X-Priority"] = extra end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  codes = {}
end
function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end
function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    local c = t:get("codes")
    for k, v in pairs(c) do all[k] = (all[k] or 0) + v end
  end
  for k, v in pairs(all) do io.write(string.format("status %d: %d\n", k, v)) end
  io.write(string.format("p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000))
end
