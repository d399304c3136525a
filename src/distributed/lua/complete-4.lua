-- complete: a server finished computing one or more requests (those that finished in
-- the same turn of its event loop travel together). For each, unless the computation
-- was taken over (its lease lapsed and another server owns the request now): cache
-- the result if asked and if no forget or save came since it started, push it to
-- every waiting client's reply list, and drop the request's records. Then take and
-- claim up to TAKE next requests (gets first), so a busy server needs about one round
-- trip per batch of requests. A server that pops its own inbox (it is in BASE:direct)
-- takes from its inbox BASE:in:SERVERID first, and if it took fewer than TAKE it has
-- room left: it goes to the front of BASE:idle, so the next lone request comes to it
-- while it is warm; one that took TAKE leaves the list.
--
-- KEYS[1] pending    sorted set of queued/running requests by deadline
-- KEYS[2] stats      counters
-- KEYS[3] gets       get queue
-- KEYS[4] prefetches prefetch queue
-- ARGV[1] base (PREFIX:{TAG}): value, BASE:runs and reply keys are built from it
-- ARGV[2] server id
-- ARGV[3] TAKE: how many next requests to take at most
-- ARGV[4] lease deadline for the requests taken (ms): their records' LEASE
-- ARGV[5] ttl of the run records (ms): BASE:runs, which holds them all, gets it again
--         when this call takes a request
-- ARGV[6] ttl of reply lists (ms)
-- ARGV[7] token for the requests taken (one for all of them: it is new for each call,
--         and a request taken twice in one call, queued twice, is answered once either way)
-- ARGV[8..] one per finished request: TOKEN TAB TTL TAB FLAGS TAB KEY NEWLINE ENVELOPE,
--           TTL the cache ttl in ms as a whole number ('0': not cached), FLAGS two characters: '1' if an
--           error (else '0'), '1' if never claimed (else '0'). One argument, not six:
--           the server's Redis client builds and sends one string per request, and
--           KEY NEWLINE ENVELOPE is the reply entry as it goes to the clients.
-- Reply: {delivered_1, ..., delivered_n, next payload_1, ...}: delivered_i is the
-- number of waiters answered for request i, -1 when its computation was taken over and
-- its result dropped, or -2 when it went stale while running and was queued again; the
-- payloads taken follow.
--
-- What can be one command for the whole call is: one HDEL of the finished records, one
-- HSET of the records of the requests taken, one ZREM and one ZADD on the pending set,
-- one RPUSH per waiting client. Each Redis command
-- run from a script has a fixed cost well above what one more argument costs.
local base = ARGV[1]
local reply = {}

-- Calls a variadic command (COMMAND KEY, then the list) in chunks that stay below what
-- Lua's unpack can spread on its stack. Each chunk is unpacked from the list itself (a
-- range of it): no copy of the list, and no table for the head, per command. Nothing is
-- sent for an empty list.
local function variadic(command, key, list, stride)
  local chunk = 4000 - 4000 % stride
  local size = #list
  for first = 1, size, chunk do
    redis.call(command, key, unpack(list, first, math.min(first + chunk - 1, size)))
  end
end

local n = 0
-- Counted and expired once per call, not once per request: fewer commands per request.
local computations = 0
-- Client id -> messages for its reply list, in the order the requests finished.
-- Lists are filled through counters, not t[#t + 1] (see get-1.lua).
local replyLists = {}
local replyCounts = {}
local replyOrder = {}
local nReplyLists = 0
local finishedKeys = {}
local nFinished = 0
local finished = {}
local direct = redis.call('SISMEMBER', base .. ':direct', ARGV[2]) == 1
local inbox = base .. ':in:' .. ARGV[2]
-- Run records: one string each in BASE:runs, fields as get-1.lua lists them. Each
-- capture makes a Lua string, so the hot paths capture only what they use: finishing
-- reads TOKEN, STALE and WAITERS; taking rewrites STATE, OWNER, TOKEN and LEASE and
-- keeps the rest as it is. Only a request that went stale is taken apart whole.
local RECORD = '^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$'
local FINISH = '^[^\t]*\t[^\t]*\t[^\t]*\t[^\t]*\t([^\t]*)\t[^\t]*\t([^\t]*)\t[^\t]*\t([^\t]*)\t'
local KEPT = '^[^\t]*\t([^\t]*\t[^\t]*\t)[^\t]*\t[^\t]*\t[^\t]*\t(.*)$'
local runs = base .. ':runs'
-- OWNER, TOKEN and LEASE of the requests this call takes.
local takenBy = ARGV[2] .. '\t' .. ARGV[7] .. '\t' .. ARGV[4] .. '\t'
for i = 8, #ARGV do
  local token, ttl, failedFlag, claimFlag, message, key = string.match(ARGV[i], '^([^\t]*)\t([^\t]*)\t(.)(.)\t(([^\n]*)\n.*)$')
  local failed = failedFlag == '1'
  local neverClaimed = claimFlag == '1'
  local newline = #key + 1
  -- The record in one call: its token, stale flag and waiting clients.
  -- A request finished earlier in this call counts as having no record any more (its
  -- HDEL waits for the end of this loop).
  local record = not finished[key] and redis.call('HGET', runs, key)
  local owner, stale, waiterList
  if record then
    owner, stale, waiterList = string.match(record, FINISH)
  end
  -- `owner` is the token of the computation that holds the request, if any.
  if owner == '' then
    owner = nil
  end
  if stale == '' then
    stale = nil
  end
  local waiters = {}
  local nWaiters = 0
  if waiterList and waiterList ~= '' then
    if not string.find(waiterList, ',', 1, true) then
      nWaiters = 1
      waiters[1] = waiterList
    else
      for id in string.gmatch(waiterList, '[^,]+') do
        nWaiters = nWaiters + 1
        waiters[nWaiters] = id
      end
    end
  end
  local unclaimed = neverClaimed and not owner
  if unclaimed then
    computations = computations + 1
  end
  local delivered = -1
  local saved = stale and redis.call('GET', base .. ':v:' .. key)
  if (owner == token or unclaimed) and saved then
    -- Saved over while it ran: the saved result is the answer.
    message = key .. '\n' .. saved
  end
  local kind, sentTo, lease, recomputes, payload
  if stale then
    local fields = { string.match(record, RECORD) }
    kind, sentTo, lease, recomputes, payload = fields[2], fields[3], fields[6], fields[8], fields[10]
  end
  if (owner == token or unclaimed) and stale and not saved and nWaiters > 0
      and (tonumber(recomputes) or 0) < 3 then
    -- Something it read changed while it ran: its result mixes old and new inputs.
    -- Compute it again before answering anyone (a request that keeps going stale is
    -- answered, uncached, after three tries).
    -- Written at once, not with the takes below: this call may take it again.
    redis.call('HSET', runs, key, 'queued\t' .. kind .. '\t' .. sentTo .. '\t\t\t' .. lease .. '\t\t'
      .. ((tonumber(recomputes) or 0) + 1) .. '\t' .. waiterList .. '\t' .. payload)
    redis.call('RPUSH', KEYS[3], payload)
    redis.call('ZADD', KEYS[1], ARGV[4], key)
    delivered = -2
  elseif owner == token or unclaimed then
    -- TTL is '0' or a positive whole number of ms, as servers write it: compared as
    -- text and passed on as text (a Lua number is parsed and formatted again).
    if ttl ~= '0' and not stale then
      redis.call('SET', base .. ':v:' .. key, string.sub(message, newline + 1), 'PX', ttl)
    end
    for w = 1, nWaiters do
      local id = waiters[w]
      local messages = replyLists[id]
      if not messages then
        messages = {}
        replyLists[id] = messages
        replyCounts[id] = 0
        nReplyLists = nReplyLists + 1
        replyOrder[nReplyLists] = id
      end
      local count = replyCounts[id] + 1
      replyCounts[id] = count
      messages[count] = message
    end
    delivered = nWaiters
    finished[key] = true
    nFinished = nFinished + 1
    finishedKeys[nFinished] = key
    if failed then
      redis.call('HINCRBY', KEYS[2], 'errors', '1')
    end
  end
  n = n + 1
  reply[n] = delivered
end
-- Before taking: a request taken below may be one that just finished (one computed
-- without a claim still has its payload in a queue), and the record and deadline its
-- take makes must stay.
variadic('HDEL', runs, finishedKeys, 1)
variadic('ZREM', KEYS[1], finishedKeys, 1)
local taken = 0
local leases = {}
local nLeases = 0
local want = tonumber(ARGV[3])
local takes = {}
local nTakes = 0
-- Its own inbox first: a request sent there chose this server, and would otherwise
-- wait behind whatever the shared queue gives it. One LMPOP takes what the first
-- non-empty list has (up to what is wanted), not one LPOP per list per request.
while taken < want do
  -- Numbers given to redis.call are turned into strings through sprintf (2.5% of Redis's
  -- instructions per one-at-a-time miss, redis-instructions.mjs): strings where they can be.
  local count = taken == 0 and ARGV[3] or want - taken
  local popped
  if direct then
    popped = redis.call('LMPOP', '3', inbox, KEYS[3], KEYS[4], 'LEFT', 'COUNT', count)
  else
    popped = redis.call('LMPOP', '2', KEYS[3], KEYS[4], 'LEFT', 'COUNT', count)
  end
  if not popped then
    break
  end
  for _, payload in ipairs(popped[2]) do
    taken = taken + 1
    local key = string.match(payload, '^[^\n]*')
    -- The lease is a field of the record. Its pending entry keeps the deadline the
    -- request was queued with: sweeps move a running one's entry to its lease, and
    -- renewals extend the lease (see sweep-3.lua). Only a record made again here,
    -- because BASE:runs lapsed while the request was queued (nothing wrote a record of
    -- the service for a whole record TTL), needs an entry now. It has no kind, which
    -- counts as a prefetch (see claim-3.lua).
    -- One token for the call, not PREFIX.i: turning a Lua number into a string goes
    -- through sprintf, 2.5% of Redis's instructions per miss (redis-instructions.mjs).
    local record = redis.call('HGET', runs, key)
    local head, tail
    if record then
      head, tail = string.match(record, KEPT)
    end
    if head then
      record = 'running\t' .. head .. takenBy .. tail
    else
      record = 'running\t\t\t' .. takenBy .. '\t\t\t' .. payload
      leases[nLeases + 1] = ARGV[4]
      leases[nLeases + 2] = key
      nLeases = nLeases + 2
    end
    nTakes = nTakes + 1
    takes[nTakes] = key
    nTakes = nTakes + 1
    takes[nTakes] = record
    computations = computations + 1
    n = n + 1
    reply[n] = payload
  end
end
if nTakes > 0 then
  variadic('HSET', runs, takes, 2)
  redis.call('PEXPIRE', runs, ARGV[5])
end
variadic('ZADD', KEYS[1], leases, 2)
for r = 1, nReplyLists do
  local id = replyOrder[r]
  -- Its reply list's key, built once per client and call, not once per message.
  local replies = base .. ':reply:' .. id
  variadic('RPUSH', replies, replyLists[id], 1)
  redis.call('PEXPIRE', replies, ARGV[6])
end
if computations > 0 then
  redis.call('HINCRBY', KEYS[2], 'computations', computations == 1 and '1' or computations)
end
if direct then
  redis.call('LREM', base .. ':idle', '0', ARGV[2])
  if taken < want then
    redis.call('LPUSH', base .. ':idle', ARGV[2])
  end
end
return reply
