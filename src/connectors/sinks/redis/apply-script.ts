/**
 * @module connectors/sinks/redis/apply-script
 * The Lua script that applies one batch of the Redis sink. Redis runs a script alone, so the
 * writes and the new position land together or, if the server dies first, not at all.
 *
 * A script that fails half-way keeps the writes it made (Redis has no rollback), so everything
 * that could fail is checked before the first write: values were checked in Node, and the first
 * pass here refuses an `incr` of a key that holds anything but an integer. Records below the
 * stored position are skipped, which is what makes applying a batch twice harmless.
 *
 * KEYS[1] = positions hash; ARGV[1] = `topic/partition`; ARGV[2] = next offset after the batch;
 * ARGV[3] = TTL seconds (0 = none); then per record: offset, op (`set`|`hash`|`incr`|`del`|`clear`
 * |`skip`), key, value. `clear` (a CDC truncate or reset) deletes every key starting with its
 * key, the sink's non-empty `keyPrefix`, except the positions hash.
 */
export const APPLY_SCRIPT = `
local stored = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local ttl = tonumber(ARGV[3])
for i = 4, #ARGV, 4 do
  if tonumber(ARGV[i]) >= stored and ARGV[i + 1] == 'incr' then
    local key = ARGV[i + 2]
    local kind = redis.call('TYPE', key)['ok']
    if kind ~= 'none' and (kind ~= 'string' or not string.match(redis.call('GET', key), '^%-?%d+$')) then
      return redis.error_reply('SINK_TARGET_REFUSED ' .. key .. ' holds a ' .. kind .. ' that is not an integer')
    end
  end
end
local applied = 0
for i = 4, #ARGV, 4 do
  if tonumber(ARGV[i]) >= stored then
    local op, key, value = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
    if op == 'del' then
      redis.call('DEL', key)
    elseif op == 'clear' then
      local pattern = string.gsub(key, '[%*%?%[%]\\\\]', '\\\\%0') .. '*'
      local cursor = '0'
      repeat
        local found = redis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)
        cursor = found[1]
        for _, name in ipairs(found[2]) do
          if name ~= KEYS[1] then redis.call('DEL', name) end
        end
      until cursor == '0'
    elseif op == 'set' then
      redis.call('SET', key, value)
    elseif op == 'hash' then
      redis.call('DEL', key)
      local fields = cjson.decode(value)
      if #fields > 0 then redis.call('HSET', key, unpack(fields)) end
    elseif op == 'incr' then
      redis.call('INCRBY', key, value)
    end
    if ttl > 0 and (op == 'set' or op == 'hash' or op == 'incr') then redis.call('EXPIRE', key, ttl) end
    applied = applied + 1
  end
end
if tonumber(ARGV[2]) > stored then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return applied
`;

/** Moves a partition's stored next offset forward (never back): KEYS[1] positions hash, ARGV[1] field, ARGV[2] offset. */
export const SKIP_SCRIPT = `
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 1
`;
