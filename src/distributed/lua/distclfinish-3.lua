-- distcl finish (server): DisTcl's delivery, atomically: cache the result if it has a
-- lifetime, then push one copy to the wait list for every get recorded in the run list
-- (taking them off it) and give the wait list DisTcl's 10-second lifetime.
--
-- KEYS[1] v:SERVICE:ARGS cached result
-- KEYS[2] r:SERVICE:ARGS run list
-- KEYS[3] w:SERVICE:ARGS wait list
-- ARGV[1] the result, "STATUS:VALUE"
-- ARGV[2] seconds to keep it (DisTcl's -secs2keep), 0 for not cached
-- Reply: the number of waiting gets answered.
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
local waiters = 0
local recorded = redis.call('LPOP', KEYS[2], 999)
if recorded then
  for _, flag in ipairs(recorded) do
    waiters = waiters + (tonumber(flag) or 0)
  end
end
for _ = 1, waiters do
  redis.call('RPUSH', KEYS[3], ARGV[1])
end
if waiters > 0 then
  redis.call('EXPIRE', KEYS[3], 10)
end
return waiters
