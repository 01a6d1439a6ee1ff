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

-- A border post sees one consignment per truck: with LMCGW_BENCH_UCR set to a
-- reference found in the file, every request gets a UCR of its own (same
-- length, so the document stays valid), as real traffic would.
local ucr = os.getenv("LMCGW_BENCH_UCR")
if ucr == "" then ucr = nil end

local threads = {}
local n_threads = 0
function setup(thread)
  n_threads = n_threads + 1
  thread:set("tid", n_threads)
  table.insert(threads, thread)
end
function init(args)
  codes = {}
  seq = 0
end
if ucr then
  local head = ucr:sub(1, #ucr - 7)
  local pat = ucr:gsub("%p", "%%%0")
  request = function()
    seq = seq + 1
    local u = head .. string.format("B%d%05d", tid % 10, seq % 100000)
    return wrk.format(nil, nil, nil, (wrk.body:gsub(pat, u)))
  end
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
