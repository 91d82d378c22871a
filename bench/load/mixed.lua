-- mixed.lua — 35% GET /pools/{id}, 35% GET /allocations/{id} (ids of
-- allocations made earlier, read from IDS_FILE), 20% POST /allocations
-- (fresh, non-overlapping, see common.lua), 10% GET /allocations?pool_id=&limit=10.
--     wrk -s mixed.lua URL -- POOL_ID SLOT IDS_FILE
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local pool_id, slot
local ids = {}
function init(args)
   pool_id = args[1]
   slot = tonumber(args[2] or "0")
   local f = assert(io.open(args[3], "r"))
   for line in f:lines() do
      if #line > 0 then ids[#ids + 1] = line end
   end
   f:close()
   assert(#ids > 0, "no allocation ids in " .. args[3])
   math.randomseed(1000 + tid)
end

function request()
   local r = math.random(100)
   if r <= 35 then
      return wrk.format("GET", BASE .. "/pools/" .. pool_id)
   elseif r <= 70 then
      return wrk.format("GET", BASE .. "/allocations/" .. ids[math.random(#ids)])
   elseif r <= 90 then
      return wrk.format("POST", BASE .. "/allocations", JSON_HEADERS,
                        next_allocation_body(pool_id, slot))
   else
      return wrk.format("GET", BASE .. "/allocations?pool_id=" .. pool_id .. "&limit=10")
   end
end
