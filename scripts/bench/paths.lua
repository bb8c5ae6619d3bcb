-- Cycle through the request paths (and optional method, body and headers) of a file.
-- Each wrk thread starts at its own offset, so that concurrent writers of the
-- `writes` scenario touch distinct organizations.
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do paths[#paths + 1] = line end
local method = os.getenv("WRK_METHOD") or "GET"
local body = nil
if os.getenv("WRK_BODY") then
  local f = io.open(os.getenv("WRK_BODY"), "rb"); body = f:read("*a"); f:close()
end
local headers = {}
if os.getenv("WRK_AUTH") then headers["Authorization"] = "Bearer " .. os.getenv("WRK_AUTH") end
if os.getenv("WRK_ACCEPT") then headers["Accept"] = os.getenv("WRK_ACCEPT") end
if body then headers["Content-Type"] = "application/json" end
local threads = 0
function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end
local i = 0
function init(args)
  i = (offset or 0) * math.floor(#paths / 2)
end
request = function()
  i = i % #paths + 1
  return wrk.format(method, paths[i], headers, body)
end
