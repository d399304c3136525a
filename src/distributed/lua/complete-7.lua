-- complete: a server finished computing a request. Unless the computation was taken
-- over (its lease lapsed and another server owns the request now), cache the result
-- if asked, push it to every waiting client's reply list, and drop the request's
-- records. Then, if the server has room, take and claim the next request (gets first),
-- so a busy server needs one round trip per request.
--
-- KEYS[1] value      where to cache the result
-- KEYS[2] run        the request's record
-- KEYS[3] waiters    set of waiting client ids
-- KEYS[4] pending    sorted set of queued/running requests by deadline
-- KEYS[5] stats      counters (errors; computations of the next request taken)
-- KEYS[6] gets       get queue
-- KEYS[7] prefetches prefetch queue
-- ARGV[1] request key
-- ARGV[2] token of this computation
-- ARGV[3] result envelope
-- ARGV[4] cache ttl in ms, 0 for not cached
-- ARGV[5] '1' if the result is an error
-- ARGV[6] base (PREFIX:{TAG}) to build reply, run and waiter keys of other requests
-- ARGV[7] '1' to take the next request
-- ARGV[8] server id
-- ARGV[9] token for the next computation
-- ARGV[10] lease deadline score for the next request
-- ARGV[11] ttl of run records (ms)
-- ARGV[12] ttl of reply lists (ms)
-- ARGV[13] '1' if the request was never claimed (its handler finished at once)
-- Reply: {delivered, next payload or false}: delivered is the number of waiters
-- answered, or -1 when the result was stale and dropped.
local delivered = -1
local owner = redis.call('HGET', KEYS[2], 'token')
local unclaimed = ARGV[13] == '1' and not owner
if unclaimed then
  redis.call('HINCRBY', KEYS[5], 'computations', 1)
end
if owner == ARGV[2] or unclaimed then
  -- A forget or save since this computation started makes its result out of date.
  if tonumber(ARGV[4]) > 0 and not redis.call('HGET', KEYS[2], 'stale') then
    redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
  end
  local waiters = redis.call('SMEMBERS', KEYS[3])
  local message = ARGV[1] .. '\n' .. ARGV[3]
  for _, id in ipairs(waiters) do
    local replies = ARGV[6] .. ':reply:' .. id
    redis.call('RPUSH', replies, message)
    redis.call('PEXPIRE', replies, ARGV[12])
  end
  delivered = #waiters
  redis.call('DEL', KEYS[2], KEYS[3])
  redis.call('ZREM', KEYS[4], ARGV[1])
  if ARGV[5] == '1' then
    redis.call('HINCRBY', KEYS[5], 'errors', 1)
  end
end
local nextPayload = false
if ARGV[7] == '1' then
  nextPayload = redis.call('LPOP', KEYS[6]) or redis.call('LPOP', KEYS[7])
  if nextPayload then
    local key = string.match(nextPayload, '^[^\n]*')
    local run = ARGV[6] .. ':r:' .. key
    if not redis.call('HGET', run, 'kind') then
      redis.call('HSET', run, 'kind', 'prefetch')
    end
    redis.call('HSET', run, 'state', 'running', 'payload', nextPayload, 'owner', ARGV[8], 'token', ARGV[9])
    redis.call('PEXPIRE', run, ARGV[11])
    redis.call('ZADD', KEYS[4], ARGV[10], key)
    redis.call('HINCRBY', KEYS[5], 'computations', 1)
  end
end
return {delivered, nextPayload}
