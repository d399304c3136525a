-- save: store a result computed elsewhere with a TTL. A computation of the same
-- request running now must not overwrite it when it completes.
--
-- KEYS[1] value the cached result
-- KEYS[2] run   the request's record
-- ARGV[1] result envelope
-- ARGV[2] ttl (ms)
-- ARGV[3] the service's invalidation channel (BASE:invalidated)
-- ARGV[4] the request key, published on it so every process drops its local copy
-- Reply: 1.
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], 'stale', '1')
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
