-- The thread's half of creating a task, in the thread's slot: the thread gets its owner (when
-- new), its latest agent and shares (so one read of it decides who may see it), and the task id.
-- KEYS[1] thread hash, KEYS[2] thread task list
-- ARGV[1] task id, ARGV[2] owner, ARGV[3] agent, ARGV[4] shares JSON ("" if none), ARGV[5] TTL ms
redis.call('HSETNX', KEYS[1], 'owner', ARGV[2])
redis.call('HSET', KEYS[1], 'agent', ARGV[3], 'shares', ARGV[4])
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 1
