-- A consistent snapshot of a task's stream for the relay's cursor check.
-- KEYS[1] stream, KEYS[2] meta hash
-- Returns false when the stream does not exist, else
-- {epoch, first id, last id, last seq, max deleted id, length, terminal, first retained seq}.
-- Redis records XDEL in max-deleted-entry-id but not MAXLEN trimming, so the caller also gets
-- the first retained entry's seq: above 1, the entries before it were trimmed.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local fields = {}
for i = 1, #info, 2 do
  fields[info[i]] = info[i + 1]
end
local first = fields['first-entry']
local firstId = '0-0'
local firstSeq = '0'
if first and first ~= false and #first > 0 then
  firstId = first[1]
  local entry = first[2]
  for i = 1, #entry, 2 do
    if entry[i] == 'seq' then
      firstSeq = entry[i + 1]
    end
  end
end
local meta = redis.call('HMGET', KEYS[2], 'epoch', 'seq', 'terminal')
return {meta[1] or '0-0', firstId, fields['last-generated-id'], meta[2] or '0',
  fields['max-deleted-entry-id'] or '0-0', fields['length'], meta[3] or '0', firstSeq}
