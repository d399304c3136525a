-- forget: drop a cached result. A computation of the same request that is running
-- now read its inputs before the forget, so its result must not be cached when it
-- completes (its waiters still get it).
--
-- KEYS[1] value the cached result
-- KEYS[2] run   the request's record
-- ARGV[1] the service's invalidation channel (BASE:invalidated)
-- ARGV[2] the request key, published on it so every process drops its local copy
-- Reply: 1 if a cached result was dropped, else 0.
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], 'stale', '1')
end
local dropped = redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return dropped
