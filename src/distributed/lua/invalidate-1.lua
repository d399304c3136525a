-- invalidate: forget results of one service, and hand back what depends on them.
-- For each request key: a computation of it running now is marked stale (its result
-- will not be cached), the cached result is dropped, and its dependents set is taken
-- (returned and deleted): the caller forgets those next, service by service, until
-- nothing depends on anything. Every process is told in one message per call (the
-- request keys, one per line), so a change costs one message per service and level.
--
-- KEYS[1] BASE:v:KEY of the first request key (for routing; all share the hash tag)
-- ARGV[1] base (PREFIX:{TAG})
-- ARGV[2] the service's invalidation channel (sharded: it carries the service's hash tag)
-- ARGV[3..] request keys
-- Reply: the dependents, "SERVICE\nREQUESTKEY" each.
local base = ARGV[1]
local dependents = {}
for i = 3, #ARGV do
  local key = ARGV[i]
  local run = base .. ':r:' .. key
  if redis.call('EXISTS', run) == 1 then
    redis.call('HSET', run, 'stale', '1')
  end
  redis.call('DEL', base .. ':v:' .. key)
  local deps = base .. ':d:' .. key
  for _, ref in ipairs(redis.call('SMEMBERS', deps)) do
    dependents[#dependents + 1] = ref
  end
  redis.call('DEL', deps)
end
redis.call('SPUBLISH', ARGV[2], table.concat(ARGV, '\n', 3))
return dependents
