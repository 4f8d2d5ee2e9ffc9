--[[
  Applies one chunk of partial aggregates to the kairos layout, atomically, at most once.
  The wire format is documented in commit-args.ts; the protocol in docs/design/exactly-once.md.

  Fenced ('F'): the fence hash holds, per split, "seq:resumeAt" of the last applied chunk.
    seq <= last       -> nothing is written, returns {0, last} (duplicate, stale or replayed chunk)
    seq == last + 1   -> every op, the run stats, the dead letters and the fence, returns {1, last}
    seq  > last + 1   -> error SLUICE_FENCE_GAP <last> (an earlier chunk is missing; retryable)
    seq == last + 1 but startsAt is not the fence's resumeAt
                      -> error SLUICE_FENCE_MOVED <last> <resumeAt> (cut elsewhere; retryable)
  Several splits ('M', ids separated by newlines, seq 0): applied only if none of them has a fence
  yet, and then every fence is set at once; else nothing is written, returns {0, -2}.
  Unfenced ('U'): the ops only (one kairos insert), returns {1, -1}.

  A live range (split id "<partition url>@<from>-<until>") whose fence is gone is checked against
  its partition's floor ("<partition url>@floor" in the fence hash): below it, the range completed
  and the stream positions dropped its fence, so the chunk is a duplicate: {0, -3} ('F') or
  {0, -2} ('M'), nothing written.

  A run that completed long enough ago has its fences pruned: the hash then holds only the field
  "@pruned", and every chunk of the run is a duplicate: {0, -4} ('F') or {0, -2} ('M').

  A fenced or multi-split chunk of a run whose fence hash holds "@protocol" above this script's
  PROTOCOL (a newer version wrote it), or anything but a whole number there, is refused with
  SLUICE_OUTDATED <mine> <required>, nothing written: the worker is older than the run and hands
  the split back.

  Every key is type-checked before the first write, so a key of the wrong type aborts the commit
  with nothing written (Redis does not roll back a script that fails half way).
]]

-- Even, so an HSET batch keeps each field with its value.
local BATCH = 1000
-- This script's commit protocol: COMMIT_PROTOCOL in store.ts, which refuses to load a script whose
-- number differs.
local PROTOCOL = 1

-- Bytewise comparison (a > b), independent of the server's collation locale.
local function bytes_greater(a, b)
  local n = math.min(#a, #b)
  for p = 1, n do
    local x, y = string.byte(a, p), string.byte(b, p)
    if x ~= y then return x > y end
  end
  return #a > #b
end

local function push_range(cmd, key, list, first, count)
  local done = 0
  while done < count do
    local m = math.min(BATCH, count - done)
    redis.call(cmd, key, unpack(list, first + done, first + done + m - 1))
    done = done + m
  end
end

-- ttl stays the ARGV string: a Lua number handed to redis.call is printed with sprintf('%.14g'),
-- which cost about 15% of a commit's Redis time (one EXPIRE per key).
local function expire(k, ttl)
  if ttl ~= '0' then redis.call('EXPIRE', KEYS[k], ttl) end
end

-- SET with its EXPIRE folded in: one call from Lua instead of two.
local function set_ex(k, value, ttl)
  if ttl ~= '0' then redis.call('SET', KEYS[k], value, 'EX', ttl) else redis.call('SET', KEYS[k], value) end
end

-- Types the ops will give each key, so two ops wanting different types of one key are caught too.
local planned = {}
-- What the check step learnt of a key that no earlier op of the chunk touches, by KEYS index, so
-- the write step need not ask again: `fresh[k]` when the key is absent, `known[k]` a string key's
-- value (false when absent). Each call from Lua costs more than the command itself; these save
-- about a fifth of a backfill's calls. A key's later ops see earlier writes, so they ask again.
local fresh = {}
local known = {}

-- nil when KEYS[k] is absent or of type want (and no other op wants another type), else an error message.
local function check(k, want)
  local key = KEYS[k]
  local other = planned[key]
  if other and other ~= want then return 'SLUICE_WRONGTYPE ' .. k .. ' ' .. want .. ' ' .. other end
  planned[key] = want
  local got = redis.call('TYPE', key)['ok']
  if got == 'none' then
    if not other then fresh[k] = true end
    return nil
  end
  if got == want then return nil end
  return 'SLUICE_WRONGTYPE ' .. k .. ' ' .. want .. ' ' .. got
end

-- A GET in place of TYPE for a string key (a counter, a gauge and its time): it refuses a key of
-- another type, and the value it reads spares the write step a second GET. Returns an error
-- message, or nil and the value (false when absent).
local function check_string(k)
  local key = KEYS[k]
  local other = planned[key]
  if other and other ~= 'string' then return 'SLUICE_WRONGTYPE ' .. k .. ' string ' .. other end
  planned[key] = 'string'
  local v = redis.pcall('GET', key)
  if type(v) == 'table' and v.err then return 'SLUICE_WRONGTYPE ' .. k .. ' string ' .. redis.call('TYPE', key)['ok'] end
  if not other then known[k] = v end
  return nil, v
end

-- One GET instead of TYPE then GET: counters are a third of a chunk's keys, and every call from
-- Lua costs more than the command itself.
local function check_counter(k)
  local err, v = check_string(k)
  if err then return err end
  if known[k] == false then fresh[k] = true end
  -- INCRBY refuses what is not a canonical integer ('007', '-0') and overflows past 2^63; such a
  -- refusal in the write phase would leave the chunk half written. At most 18 digits, no
  -- increment (a safe integer) can overflow.
  if v and v ~= '0' and not (string.match(v, '^%-?[1-9]%d*$') and #v - (string.sub(v, 1, 1) == '-' and 1 or 0) <= 18) then
    return 'SLUICE_NOTINT ' .. k
  end
  return nil
end

-- The value of string key KEYS[k] now: what the check step read, unless an earlier op may have changed it.
local function current_string(k)
  local v = known[k]
  if v == nil then return redis.call('GET', KEYS[k]) end
  return v
end

-- Numbers go back to Redis as the ARGV strings: Lua would print a 16-digit time as 1.4e+15.
local function apply_gauge(k, ttl, ts_arg, value)
  local ts = tonumber(ts_arg)
  local stored = current_string(k + 1)
  local write = true
  if stored then
    local stored_ts = tonumber(stored)
    if ts < stored_ts then
      write = false
    elseif ts == stored_ts then
      local current = current_string(k)
      if current and not bytes_greater(value, current) then write = false end
    end
  end
  if write then
    set_ex(k, value, ttl)
    set_ex(k + 1, ts_arg, ttl)
  else
    expire(k, ttl)
    expire(k + 1, ttl)
  end
end

-- Inserts ARGV[first .. first+n-1] after every element of ordinals <= ordinal.
local function apply_list(k, ttl, ordinal_arg, first, n_arg)
  local key, side = KEYS[k], KEYS[k + 1]
  local n = tonumber(n_arg)
  local ordinal = tonumber(ordinal_arg)
  local max = tonumber(redis.call('HGET', side, 'max'))
  local after = 0
  if max and ordinal < max then
    local counts = redis.call('HGETALL', side)
    for p = 1, #counts, 2 do
      local field = counts[p]
      if field ~= 'max' and tonumber(field) > ordinal then after = after + tonumber(counts[p + 1]) end
    end
  end
  if after == 0 then
    push_range('RPUSH', key, ARGV, first, n)
  else
    local len = redis.call('LLEN', key)
    local pos = len - after
    local tail = redis.call('LRANGE', key, pos, -1)
    if pos == 0 then redis.call('DEL', key) else redis.call('LTRIM', key, 0, pos - 1) end
    push_range('RPUSH', key, ARGV, first, n)
    push_range('RPUSH', key, tail, 1, #tail)
  end
  redis.call('HINCRBY', side, ordinal_arg, n_arg)
  if not max or ordinal > max then redis.call('HSET', side, 'max', ordinal_arg) end
  expire(k, ttl)
  expire(k + 1, ttl)
end

-- Walks the ops from ARGV[i], KEYS[k]; checks types when apply is false, writes when true.
local function run_ops(i, k, apply)
  local nargs = #ARGV
  while i <= nargs do
    local op, ttl = ARGV[i], ARGV[i + 1]
    local err
    if op == 'C' then
      if apply then
        -- INCRBY on an absent key stores the increment as given, which is a canonical integer.
        if fresh[k] then
          set_ex(k, ARGV[i + 2], ttl)
        else
          redis.call('INCRBY', KEYS[k], ARGV[i + 2])
          expire(k, ttl)
        end
      else
        err = check_counter(k)
      end
      i, k = i + 3, k + 1
    elseif op == 'H' then
      local n = tonumber(ARGV[i + 2])
      if apply then
        local key = KEYS[k]
        -- The fields of one op are distinct, so on an absent hash HSET writes what HINCRBY would.
        if fresh[k] then
          push_range('HSET', key, ARGV, i + 3, 2 * n)
        else
          for p = i + 3, i + 1 + 2 * n, 2 do redis.call('HINCRBY', key, ARGV[p], ARGV[p + 1]) end
        end
        expire(k, ttl)
      else
        err = check(k, 'hash')
      end
      i, k = i + 3 + 2 * n, k + 1
    elseif op == 'S' then
      local n = tonumber(ARGV[i + 2])
      if apply then
        push_range('SADD', KEYS[k], ARGV, i + 3, n)
        expire(k, ttl)
      else
        err = check(k, 'set')
      end
      i, k = i + 3 + n, k + 1
    elseif op == 'G' then
      if apply then
        apply_gauge(k, ttl, ARGV[i + 2], ARGV[i + 3])
      else
        err = check_string(k) or check_string(k + 1)
      end
      i, k = i + 4, k + 2
    elseif op == 'L' then
      local n = tonumber(ARGV[i + 3])
      if apply then
        apply_list(k, ttl, ARGV[i + 2], i + 4, ARGV[i + 3])
      else
        err = check(k, 'list') or check(k + 1, 'hash')
      end
      i, k = i + 4 + n, k + 2
    elseif op == 'R' then
      local n = tonumber(ARGV[i + 2])
      if apply then
        push_range('RPUSH', KEYS[k], ARGV, i + 3, n)
        expire(k, ttl)
      else
        err = check(k, 'list')
      end
      i, k = i + 3 + n, k + 1
    elseif op == 'T' then
      if apply then expire(k, ttl) end
      i, k = i + 2, k + 1
    else
      return 'SLUICE_BADOP ' .. tostring(op) .. ' at ' .. i
    end
    if err then return err end
  end
  if k ~= #KEYS + 1 then return 'SLUICE_BADOP keys ' .. #KEYS .. ' used ' .. (k - 1) end
  return nil
end

-- True when `id` is a live range that starts below its partition's floor (see the header).
local function below_floor(id)
  local stream, from = string.match(id, '^(.+)@(%d+)%-%d+$')
  if not stream then return false end
  local floor = redis.call('HGET', KEYS[1], stream .. '@floor')
  return floor ~= false and tonumber(from) < tonumber(floor)
end

local mode = ARGV[1]
if mode == 'U' then
  local err = run_ops(2, 1, false)
  if err then return redis.error_reply(err) end
  run_ops(2, 1, true)
  return {1, -1}
end

if mode ~= 'F' and mode ~= 'M' then return redis.error_reply('SLUICE_BADOP mode ' .. tostring(mode)) end
-- A run that a newer version marked for a higher protocol (see the header) is not this script's to
-- write, and neither is one whose mark it cannot read: before any other check, so nothing is.
-- Whole numbers only: tonumber would also read ' 2', '0x2' or 'nan' (and nan > 1 is false).
local required = redis.call('HGET', KEYS[1], '@protocol')
if required and not (string.match(required, '^[1-9]%d*$') and tonumber(required) <= PROTOCOL) then
  return redis.error_reply('SLUICE_OUTDATED ' .. PROTOCOL .. ' ' .. required)
end
-- A run whose fences were pruned (see the header) completed: every chunk of it is a duplicate.
if redis.call('HEXISTS', KEYS[1], '@pruned') == 1 then return {0, mode == 'M' and -2 or -4} end
local split, seq = ARGV[2], tonumber(ARGV[3])
local last = -1
local splits
if mode == 'M' then
  -- Several splits (newline-separated ids) in one chunk, all or nothing: only when none of them
  -- has a fence yet. Otherwise returns {0, -2} and writes nothing; the caller runs them one by one.
  splits = {}
  for id in string.gmatch(split, '[^\n]+') do
    if redis.call('HEXISTS', KEYS[1], id) == 1 or below_floor(id) then return {0, -2} end
    splits[#splits + 1] = id
  end
else
  local fence = redis.call('HGET', KEYS[1], split)
  local fenced_at
  if fence then
    last = tonumber(string.match(fence, '^(%d+)'))
    fenced_at = string.match(fence, ':(%d+)$')
  elseif below_floor(split) then
    return {0, -3}
  end
  if seq <= last then return {0, last} end
  if seq > last + 1 then return redis.error_reply('SLUICE_FENCE_GAP ' .. last) end
  -- The next chunk must start where the applied ones end: one cut elsewhere would overlap or skip.
  if fenced_at and ARGV[5] ~= '' and ARGV[5] ~= fenced_at then
    return redis.error_reply('SLUICE_FENCE_MOVED ' .. last .. ' ' .. fenced_at)
  end
  splits = {split}
end

local ndead = tonumber(ARGV[10])
local first_op = 11 + ndead
local err = check(1, 'hash') or check(2, 'hash') or check(3, 'list') or run_ops(first_op, 4, false)
if err then return redis.error_reply(err) end
run_ops(first_op, 4, true)

for n = 1, #splits do redis.call('HSET', KEYS[1], splits[n], ARGV[3] .. ':' .. ARGV[4]) end
redis.call('HINCRBY', KEYS[2], 'records', ARGV[6])
redis.call('HINCRBY', KEYS[2], 'badRecords', ARGV[7])
redis.call('HINCRBY', KEYS[2], 'bytes', ARGV[8])
redis.call('HINCRBY', KEYS[2], 'expired', ARGV[9])
redis.call('HINCRBY', KEYS[2], 'chunks', 1)
if ndead > 0 then push_range('RPUSH', KEYS[3], ARGV, 11, ndead) end
return {1, last}
