-- get: answer from the cache, or register the caller as a waiter and queue the
-- request unless it is already queued or running (concurrent identical gets are
-- computed once). A queued prefetch of the same request is promoted to a get.
-- Only the cached value's key is declared: the others share its hash tag and are
-- built here from the base, which keeps the call small on the hot path (a hit).
--
-- KEYS[1] value   cached result of the request (BASE:v:REQUESTKEY)
-- ARGV[1] base    PREFIX:{TAG}
-- ARGV[2] request key
-- ARGV[3] payload (request key, newline, canonical arguments if the key is hashed)
-- ARGV[4] client id
-- ARGV[5] deadline score for the pending set (now + queue grace, ms)
-- ARGV[6] ttl of the run and waiters records (ms)
-- Keys used: BASE:r:KEY (run record), BASE:w:KEY (waiters), BASE:q (gets),
-- BASE:p (prefetches), BASE:pending, BASE:stats (misses; hits are counted by clients).
-- Reply: {1, cached envelope} on a hit; {0} when the caller now waits for a reply.
local cached = redis.call('GET', KEYS[1])
if cached then
  return {1, cached}
end
local base = ARGV[1]
local run = base .. ':r:' .. ARGV[2]
local waiters = base .. ':w:' .. ARGV[2]
redis.call('HINCRBY', base .. ':stats', 'misses', 1)
redis.call('SADD', waiters, ARGV[4])
redis.call('PEXPIRE', waiters, ARGV[6])
local state = redis.call('HGET', run, 'state')
if not state then
  redis.call('HSET', run, 'state', 'queued', 'kind', 'get', 'payload', ARGV[3])
  redis.call('PEXPIRE', run, ARGV[6])
  redis.call('RPUSH', base .. ':q', ARGV[3])
  redis.call('ZADD', base .. ':pending', ARGV[5], ARGV[2])
elseif redis.call('HGET', run, 'kind') == 'prefetch' then
  redis.call('HSET', run, 'kind', 'get')
  if state == 'queued' and redis.call('LREM', base .. ':p', 1, ARGV[3]) > 0 then
    redis.call('RPUSH', base .. ':q', ARGV[3])
  end
end
return {0}
