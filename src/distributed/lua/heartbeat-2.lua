-- heartbeat: a server says it is alive and how it is doing; servers whose heartbeat
-- lapsed are dropped from the registry.
--
-- KEYS[1] servers hash of server id -> JSON description
-- KEYS[2] alive   sorted set of server id -> heartbeat deadline
-- ARGV[1] server id
-- ARGV[2] JSON description, or '' to remove this server (it stopped)
-- ARGV[3] heartbeat deadline score (ms)
-- ARGV[4] now (ms)
-- Reply: the number of lapsed servers dropped.
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
for _, id in ipairs(lapsed) do
  redis.call('HDEL', KEYS[1], id)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
return #lapsed
