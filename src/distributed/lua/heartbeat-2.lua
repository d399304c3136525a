-- heartbeat: a server says it is alive and how it is doing; servers whose heartbeat
-- lapsed are dropped from the registry. With BASE given (memocell servers), it also
-- keeps the idle list true: a server that pops its own inbox is listed in BASE:direct,
-- is put back on BASE:idle if it has room and dropped out of it (so a lost place
-- there costs affinity for a second at most, never work), and a server that is busy,
-- leaves or lapsed hands what waits in its inbox back to the front of the get queue, in
-- order (a request sent to a server just as it filled up waits a second at most).
-- A memocell server that stays also reads (and deletes) the control commands left for it
-- in BASE:order:ID, in the order they were sent: a stop whose pub/sub message it missed
-- (not yet subscribed, or reconnecting) reaches it within a heartbeat.
--
-- KEYS[1] servers hash of server id -> JSON description
-- KEYS[2] alive   sorted set of server id -> heartbeat deadline
-- ARGV[1] server id
-- ARGV[2] JSON description, or '' to remove this server (it stopped)
-- ARGV[3] heartbeat deadline score (ms)
-- ARGV[4] now (ms)
-- ARGV[5] optional: BASE (PREFIX:{TAG}); the idle list, inboxes and get queue are built
--         from it
-- ARGV[6] with BASE: 'idle' (has room), 'busy' (no room: off the idle list, inbox
--         handed back) or 'leave' (stopping: the same, and no inbox any more)
-- Reply: an array: the number of lapsed servers dropped, then the commands read from
--        BASE:order:ID ('stop', 'verbose', 'quiet'), oldest first.
local base = ARGV[5]
local orders = {}

-- Takes a server out of the idle list and queues what its inbox holds.
local function handBack(id)
  redis.call('LREM', base .. ':idle', 0, id)
  local inbox = base .. ':in:' .. id
  local payload = redis.call('RPOP', inbox)
  while payload do
    redis.call('LPUSH', base .. ':q', payload)
    payload = redis.call('RPOP', inbox)
  end
end

-- The same, and it no longer pops an inbox or reads orders.
local function leave(id)
  redis.call('SREM', base .. ':direct', id)
  redis.call('DEL', base .. ':order:' .. id)
  handBack(id)
end

if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  if base then
    leave(ARGV[1])
  end
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
  if base then
    if ARGV[6] == 'leave' then
      leave(ARGV[1])
    else
      local ordersKey = base .. ':order:' .. ARGV[1]
      orders = redis.call('LRANGE', ordersKey, 0, -1)
      if #orders > 0 then
        redis.call('DEL', ordersKey)
      end
      redis.call('SADD', base .. ':direct', ARGV[1])
      if ARGV[6] == 'idle' then
        if not redis.call('LPOS', base .. ':idle', ARGV[1]) then
          redis.call('RPUSH', base .. ':idle', ARGV[1])
        end
      else
        -- Busy: a request sent to it now would wait behind work of any length while
        -- others may be idle. Anything there goes back to the queue.
        handBack(ARGV[1])
      end
    end
  end
end
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
for _, id in ipairs(lapsed) do
  redis.call('HDEL', KEYS[1], id)
  if base then
    leave(id)
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
table.insert(orders, 1, #lapsed)
return orders
