-- wrk script for bench/soak.sh: GET /v4/users/self, each request with the next PAT of the file
-- named by SOAK_TOKENS (one per line), every thread starting at a different place.
local tokens = {}
local i = 0

function init(args)
  for line in io.lines(os.getenv("SOAK_TOKENS")) do
    tokens[#tokens + 1] = line
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 1000)
  i = math.random(#tokens)
end

function request()
  i = i % #tokens + 1
  return wrk.format("GET", "/v4/users/self", { ["Authorization"] = "Bearer " .. tokens[i] })
end
