-- distcl start (server): DisTcl's claim of a request, atomically: record this get (1)
-- or prefetch (0) in the run list; only the first recorder computes, and it gives the
-- list DisTcl's 10-second lifetime.
--
-- KEYS[1] r:SERVICE:ARGS run list of waiting gets (1) and prefetches (0)
-- ARGV[1] '1' for a get, '0' for a prefetch
-- Reply: the run list's length after the push (1: this server computes it).
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
if n == 1 then
  redis.call('EXPIRE', KEYS[1], 10)
end
return n
