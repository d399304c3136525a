-- prefetch: queue the request at prefetch priority unless it is cached, queued or
-- running already.
--
-- KEYS[1] value      cached result of the request
-- KEYS[2] runs       the service's run records (BASE:runs; fields as get-1.lua lists them)
-- KEYS[3] prefetches prefetch queue
-- KEYS[4] pending    sorted set of queued/running requests by deadline
-- KEYS[5] stats      counters (prefetches)
-- ARGV[1] request key
-- ARGV[2] payload
-- ARGV[3] deadline score for the pending set (now + queue grace, ms)
-- ARGV[4] ttl of the run records (ms)
-- Reply: 1 if queued, 0 if already cached, queued or running.
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return 0
end
-- Queued, kind prefetch, nobody waiting yet.
redis.call('HSET', KEYS[2], ARGV[1], 'queued\tprefetch\t\t\t\t\t\t\t\t' .. ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('RPUSH', KEYS[3], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
redis.call('HINCRBY', KEYS[5], 'prefetches', 1)
return 1
