-- post_allocations.lua — POST /allocations, each with a fresh vehicle and a
-- fresh, non-overlapping window (see common.lua), so every one must be 201.
--     wrk -s post_allocations.lua URL -- POOL_ID SLOT
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local pool_id, slot
function init(args)
   pool_id = args[1]
   slot = tonumber(args[2] or "0")
end

function request()
   return wrk.format("POST", BASE .. "/allocations", JSON_HEADERS,
                     next_allocation_body(pool_id, slot))
end
