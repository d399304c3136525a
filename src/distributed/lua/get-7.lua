-- get: answer from the cache, or register the caller as a waiter and queue the
-- request unless it is already queued or running (concurrent identical gets are
-- computed once). A queued prefetch of the same request is promoted to a get.
--
-- KEYS[1] value      cached result of the request
-- KEYS[2] run        the request's record (hash: state, kind, payload, owner, token)
-- KEYS[3] waiters    set of waiting client ids
-- KEYS[4] gets       get queue
-- KEYS[5] prefetches prefetch queue
-- KEYS[6] pending    sorted set of queued/running requests by deadline
-- KEYS[7] stats      counters
-- ARGV[1] request key
-- ARGV[2] payload (request key, newline, canonical arguments if the key is hashed)
-- ARGV[3] client id
-- ARGV[4] deadline score for the pending set (now + queue grace, ms)
-- ARGV[5] ttl of the run and waiters records (ms)
-- Reply: {1, cached envelope} on a hit; {0} when the caller now waits for a reply.
local cached = redis.call('GET', KEYS[1])
if cached then
  redis.call('HINCRBY', KEYS[7], 'hits', 1)
  return {1, cached}
end
redis.call('HINCRBY', KEYS[7], 'misses', 1)
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
local state = redis.call('HGET', KEYS[2], 'state')
if not state then
  redis.call('HSET', KEYS[2], 'state', 'queued', 'kind', 'get', 'payload', ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
  redis.call('RPUSH', KEYS[4], ARGV[2])
  redis.call('ZADD', KEYS[6], ARGV[4], ARGV[1])
elseif redis.call('HGET', KEYS[2], 'kind') == 'prefetch' then
  redis.call('HSET', KEYS[2], 'kind', 'get')
  if state == 'queued' and redis.call('LREM', KEYS[5], 1, ARGV[2]) > 0 then
    redis.call('RPUSH', KEYS[4], ARGV[2])
  end
end
return {0}
