-- Creates a task and appends it to its thread, unless the owner already created one with the
-- same idempotency key (then that task's id is returned and nothing changes), or the owner is at
-- a limit (then nothing changes either). Checking and creating in one script means concurrent
-- submits of one owner cannot overshoot a limit.
-- KEYS[1] task hash, KEYS[2] thread hash, KEYS[3] thread task list, KEYS[4] idempotency key ("" if none),
-- KEYS[5] owner's active tasks (zset, scored by when they were added), KEYS[6] owner's threads (zset, scored by expiry)
-- ARGV[1] task id, ARGV[2] owner, ARGV[3] agent, ARGV[4] the task's shares as JSON ("" if none),
-- ARGV[5] thread TTL ms, ARGV[6] idempotency TTL ms, ARGV[7] max active tasks (0 = no limit),
-- ARGV[8] max threads (0 = no limit), ARGV[9] now ms, ARGV[10] "1" when the task counts as active,
-- ARGV[11] thread id, ARGV[12..] task hash field/value pairs
-- Returns {1, task id} when created, {0, existing task id} when the key was used before,
-- {2, "active"} or {2, "threads"} when a limit refused it.
if KEYS[4] ~= '' then
  local existing = redis.call('GET', KEYS[4])
  if existing then
    return {0, existing}
  end
end
local now = tonumber(ARGV[9])
local ttl = tonumber(ARGV[5])
-- A thread past its TTL is gone; an active entry older than a thread's TTL belongs to a task that
-- never ended (its record is gone too), so neither counts any more.
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - ttl)
local newThread = redis.call('EXISTS', KEYS[2]) == 0
if newThread and tonumber(ARGV[8]) > 0 and redis.call('ZCARD', KEYS[6]) >= tonumber(ARGV[8]) then
  return {2, 'threads'}
end
if ARGV[10] == '1' and tonumber(ARGV[7]) > 0 and redis.call('ZCARD', KEYS[5]) >= tonumber(ARGV[7]) then
  return {2, 'active'}
end
if KEYS[4] ~= '' then
  redis.call('SET', KEYS[4], ARGV[1], 'PX', ARGV[6])
end
local fields = {}
for i = 12, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
redis.call('HSET', KEYS[1], unpack(fields))
if newThread then
  redis.call('HSET', KEYS[2], 'owner', ARGV[2])
end
-- The thread carries its latest task's shares, so one read of it decides who may see it.
redis.call('HSET', KEYS[2], 'agent', ARGV[3], 'shares', ARGV[4])
redis.call('RPUSH', KEYS[3], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('PEXPIRE', KEYS[3], ttl)
if ARGV[10] == '1' then
  redis.call('ZADD', KEYS[5], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[5], ttl)
end
redis.call('ZADD', KEYS[6], now + ttl, ARGV[11])
redis.call('PEXPIRE', KEYS[6], ttl)
return {1, ARGV[1]}
