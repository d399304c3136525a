-- renew: extend the leases of the requests a server is still computing, so a long
-- computation is not taken over while its server is alive.
--
-- KEYS[1] pending sorted set of queued/running requests by deadline: declared for
--         routing; a lease is the LEASE of the record, and a sweep that finds the
--         request due moves its entry there (see sweep-3.lua)
-- ARGV[1] base (PREFIX:{TAG}): BASE:runs, the run records, is built from it
-- ARGV[2] new lease deadline (ms)
-- ARGV[3] ttl of the run records, which hold the waiters too (ms)
-- ARGV[4], ARGV[5], ... pairs of request key and token
-- Reply: the request keys whose lease this server lost (taken over, or gone).
local RECORD = '^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$'
local runs = ARGV[1] .. ':runs'
local lost = {}
local nLost = 0
local renewed = false
for i = 4, #ARGV, 2 do
  local key = ARGV[i]
  local record = redis.call('HGET', runs, key)
  local state, kind, sentTo, server, token, lease, stale, recomputes, waiters, payload
  if record then
    state, kind, sentTo, server, token, lease, stale, recomputes, waiters, payload = string.match(record, RECORD)
  end
  if state and token == ARGV[i + 1] then
    redis.call('HSET', runs, key, state .. '\t' .. kind .. '\t' .. sentTo .. '\t' .. server .. '\t' .. token .. '\t'
      .. ARGV[2] .. '\t' .. stale .. '\t' .. recomputes .. '\t' .. waiters .. '\t' .. payload)
    renewed = true
  elseif state and token ~= '' then
    -- Claimed by another computation (or not claimed yet by this one: then keep it).
    nLost = nLost + 1
    lost[nLost] = key
  end
end
if renewed then
  redis.call('PEXPIRE', runs, ARGV[3])
end
return lost
