-- save: store a result computed elsewhere with a TTL. A computation of the same
-- request running now must not overwrite it when it completes.
--
-- KEYS[1] value the cached result
-- KEYS[2] run   the request's record
-- ARGV[1] result envelope
-- ARGV[2] ttl (ms)
-- ARGV[3] the service's invalidation channel (sharded: it carries the service's hash tag) (BASE:invalidated)
-- ARGV[4] the request key, published on it so every process drops its local copy
-- ARGV[5] BASE:d:KEY, the dependents of the replaced result (taken: returned, deleted)
-- ARGV[6] '1' to store only if nothing is cached (then nothing else changes)
-- Reply: the dependents, "SERVICE\nREQUESTKEY" each: results computed from the old one;
-- or 0 when ARGV[6] is '1' and a result was cached already.
if ARGV[6] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], 'stale', '1')
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SPUBLISH', ARGV[3], ARGV[4])
local dependents = redis.call('SMEMBERS', ARGV[5])
redis.call('DEL', ARGV[5])
return dependents
