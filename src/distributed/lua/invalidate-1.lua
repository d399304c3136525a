-- invalidate: forget results of one service, and hand back what depends on them.
-- For each request key: a computation of it running now is marked stale (its result
-- will not be cached), the cached result is dropped, and its dependents set is taken
-- (returned and deleted): the caller forgets those next, service by service, until
-- nothing depends on anything. Every process is told in one message per call (the
-- request keys, one per line), so a change costs one message per service and level.
--
-- KEYS[1] BASE:v:KEY of the first request key (for routing; all share the hash tag)
-- ARGV[1] base (PREFIX:{TAG}): BASE:runs (the run records), BASE:v:KEY and BASE:d:KEY
--         are built from it
-- ARGV[2] the service's invalidation channel (sharded: it carries the service's hash tag)
-- ARGV[3..] request keys
-- Reply: the dependents, "SERVICE\nREQUESTKEY" each.
local base = ARGV[1]
local runs = base .. ':runs'
-- A record's STALE is its seventh field (see get-1.lua).
local BEFORE_STALE = '^(' .. string.rep('[^\t]*\t', 6) .. ')[^\t]*(\t.*)$'
local dependents = {}
for i = 3, #ARGV do
  local key = ARGV[i]
  local record = redis.call('HGET', runs, key)
  local head, tail
  if record then
    head, tail = string.match(record, BEFORE_STALE)
  end
  if head then
    redis.call('HSET', runs, key, head .. '1' .. tail)
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
