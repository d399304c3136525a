-- save: store a result computed elsewhere with a TTL. A computation of the same
-- request running now must not overwrite it when it completes.
--
-- KEYS[1] value the cached result
-- KEYS[2] runs  the service's run records (BASE:runs; fields as get-1.lua lists them)
-- ARGV[1] result envelope
-- ARGV[2] ttl (ms)
-- ARGV[3] the service's invalidation channel (sharded: it carries the service's hash tag) (BASE:invalidated)
-- ARGV[4] the request key, published on it so every process drops its local copy, and
--         the field of its record in KEYS[2]
-- ARGV[5] BASE:d:KEY, the dependents of the replaced result (taken: returned, deleted)
-- ARGV[6] '1' to store only if nothing is cached (then nothing else changes)
-- Reply: the dependents, "SERVICE\nREQUESTKEY" each: results computed from the old one;
-- or 0 when ARGV[6] is '1' and a result was cached already.
if ARGV[6] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
-- A record's STALE is its seventh field: marked, the computation running now is not
-- cached when it completes.
local record = redis.call('HGET', KEYS[2], ARGV[4])
local head, tail
if record then
  head, tail = string.match(record, '^(' .. string.rep('[^\t]*\t', 6) .. ')[^\t]*(\t.*)$')
end
if head then
  redis.call('HSET', KEYS[2], ARGV[4], head .. '1' .. tail)
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SPUBLISH', ARGV[3], ARGV[4])
local dependents = redis.call('SMEMBERS', ARGV[5])
redis.call('DEL', ARGV[5])
return dependents
