-- common.lua — shared by the wrk scripts of bench/load (loaded with dofile).
--
-- Every wrk thread gets a distinct id in setup(); every POST gets a vehicle
-- id and a window no other request of the whole run (all runs, all threads)
-- uses: lane = slot * 16 + thread id, each lane 2^20 one-second windows
-- (about 12 days) starting 2030-01-01, so windows never overlap and every
-- vehicle is new: no double booking, no capacity limit reached.

BASE = "/api/v1/fleet-resources"
local EPOCH_2030 = 1893456000
local LANE_SECONDS = 1048576

local next_tid = 1
function setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
end

local seq = 0
function next_allocation_body(pool_id, slot)
   seq = seq + 1
   local lane = slot * 16 + tid
   local t = EPOCH_2030 + lane * LANE_SECONDS + seq
   return string.format(
      '{"pool_id":"%s","vehicle_id":"load-%d-%d-%d","quantity":1,' ..
      '"start":"%s","end":"%s","allocation_type":"load_test"}',
      pool_id, slot, tid, seq,
      os.date("!%Y-%m-%dT%H:%M:%SZ", t), os.date("!%Y-%m-%dT%H:%M:%SZ", t + 1))
end

JSON_HEADERS = { ["Content-Type"] = "application/json" }
