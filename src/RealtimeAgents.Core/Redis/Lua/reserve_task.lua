-- The owner's half of creating a task, in the owner's slot: the idempotency check, the limits,
-- and the reservation, in one step so concurrent submits of one owner cannot overshoot a limit
-- or create two tasks for one key. The task's record (its own slot) is written before this and
-- the thread's list (the thread's slot) after it; see RedisTaskStore.CreateAsync for the order.
-- KEYS[1] idempotency key (a placeholder in the owner's slot when ARGV[10] is "0"), KEYS[2] owner's active tasks (zset, scored by when they
-- were added), KEYS[3] owner's threads (zset, scored by expiry)
-- ARGV[1] task id, ARGV[2] thread id, ARGV[3] "1" when the thread is new, ARGV[4] thread TTL ms,
-- ARGV[5] idempotency TTL ms, ARGV[6] max active tasks (0 = no limit), ARGV[7] max threads
-- (0 = no limit), ARGV[8] now ms, ARGV[9] "1" when the task counts as active, ARGV[10] "1" when
-- the task has an idempotency key
-- Returns {1, task id} when reserved, {0, existing task id} when the key was used before,
-- {2, "active"} or {2, "threads"} when a limit refused it.
if ARGV[10] == '1' then
  local existing = redis.call('GET', KEYS[1])
  if existing then
    return {0, existing}
  end
end
local now = tonumber(ARGV[8])
local ttl = tonumber(ARGV[4])
-- A thread past its TTL is gone; an active entry older than a thread's TTL belongs to a task that
-- never ended (its record is gone too), so neither counts any more.
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
if ARGV[3] == '1' and tonumber(ARGV[7]) > 0 and redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[7]) then
  return {2, 'threads'}
end
if ARGV[9] == '1' and tonumber(ARGV[6]) > 0 and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[6]) then
  return {2, 'active'}
end
if ARGV[10] == '1' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[5])
end
if ARGV[9] == '1' then
  redis.call('ZADD', KEYS[2], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[2], ttl)
end
redis.call('ZADD', KEYS[3], now + ttl, ARGV[2])
redis.call('PEXPIRE', KEYS[3], ttl)
return {1, ARGV[1]}
