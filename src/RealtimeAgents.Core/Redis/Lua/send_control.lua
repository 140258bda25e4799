-- Keeps a control message for a worker that has not subscribed yet, and publishes it.
-- KEYS[1] control list; ARGV[1] channel (sharded, the list's slot), ARGV[2] message JSON,
-- ARGV[3] max kept, ARGV[4] TTL ms
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[3]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SPUBLISH', ARGV[1], ARGV[2])
return 1
