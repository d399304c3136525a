-- depend: record that a computation read another service's result, so forgetting (or
-- replacing) that result forgets the computation's result too. Sent without waiting.
--
-- KEYS[1] BASE:d:KEY   the dependents of the result that was read (a set)
-- ARGV[1] the reader, "SERVICE\nREQUESTKEY"
-- ARGV[2] ttl of the set (ms), renewed on each read
-- Reply: 1.
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
