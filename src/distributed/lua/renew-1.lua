-- renew: extend the leases of the requests a server is still computing, so a long
-- computation is not taken over while its server is alive.
--
-- KEYS[1] pending sorted set of queued/running requests by deadline: declared for
--         routing; a lease is the `lease` field of the record, and a sweep that finds
--         the request due moves its entry there (see sweep-3.lua)
-- ARGV[1] base (PREFIX:{TAG})
-- ARGV[2] new lease deadline (ms)
-- ARGV[3] ttl of run records, which hold the waiters too (ms)
-- ARGV[4], ARGV[5], ... pairs of request key and token
-- Reply: the request keys whose lease this server lost (taken over, or gone).
local lost = {}
for i = 4, #ARGV, 2 do
  local run = ARGV[1] .. ':r:' .. ARGV[i]
  local token = redis.call('HGET', run, 'token')
  if token == ARGV[i + 1] then
    redis.call('HSET', run, 'lease', ARGV[2])
    redis.call('PEXPIRE', run, ARGV[3])
  elseif token then
    -- Claimed by another computation (or not claimed yet by this one: then keep it).
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
