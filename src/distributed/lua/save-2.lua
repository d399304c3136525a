-- save: store a result computed elsewhere with a TTL. A computation of the same
-- request running now must not overwrite it when it completes.
--
-- KEYS[1] value the cached result
-- KEYS[2] run   the request's record
-- ARGV[1] result envelope
-- ARGV[2] ttl (ms)
-- Reply: 1.
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], 'stale', '1')
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
