-- renew: extend the leases of the requests a server is still computing, so a long
-- computation is not taken over while its server is alive.
--
-- KEYS[1] pending sorted set of queued/running requests by deadline
-- ARGV[1] base (PREFIX:{TAG})
-- ARGV[2] new lease deadline score (ms)
-- ARGV[3] ttl of run and waiter records (ms)
-- ARGV[4], ARGV[5], ... pairs of request key and token
-- Reply: the number of leases renewed (a request taken over is not).
local renewed = 0
for i = 4, #ARGV, 2 do
  local run = ARGV[1] .. ':r:' .. ARGV[i]
  if redis.call('HGET', run, 'token') == ARGV[i + 1] then
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i])
    redis.call('PEXPIRE', run, ARGV[3])
    redis.call('PEXPIRE', ARGV[1] .. ':w:' .. ARGV[i], ARGV[3])
    renewed = renewed + 1
  end
end
return renewed
