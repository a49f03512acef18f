-- The causal pacing turn of one provider account, shared by the whole fleet.
--
-- One hit of an account may leave only once the previous one is known to have been written,
-- and not before `interval` has passed since that report, on THIS server's clock (TIME). A
-- caller that is not granted the turn at once waits in a queue (OTP first, then FIFO) and is
-- woken by a push onto its own wake list when the turn is handed to it; it never polls.
--
-- The holder of a turn commits to it (`fire`) a few ms before its start: only then is the
-- turn spent. Until that moment a caller of a higher priority may take the turn over (the
-- holder goes back to the head of its own class), so an OTP never waits behind a bulk hit
-- that has not left yet. `fire` is refused earlier than `ahead_us` before not_before, and
-- after the lease (minus a guard covering the wait to the start and the write).
--
-- KEYS[1]  turn hash: holder, holder_rank, fired, not_before, lease_until, last,
--          penalty_until (µs, TIME); hits, sec, sec_hits, prev_hits: the reported hits, in
--          all and in the current and the previous second (for the status page's hits/s)
-- KEYS[2]  waiting queue (sorted set): token → rank * 1e13 + ms of arrival
-- KEYS[3]  waiter liveness (sorted set): token → µs until which the waiter is listening
-- ARGV[1]  op: enter | fire | done | cancel | penalize
-- ARGV[2]  the caller's token ('' for penalize)
-- ARGV[3]  interval_us  min interval + safety margin, from a report to the next hit
-- ARGV[4]  lease_us     how long after not_before the holder has to write and report
-- ARGV[5]  ttl_ms       how long the keys outlive the last call
-- ARGV[6]  wake prefix  the wake list of token T is ARGV[6] .. T
-- ARGV[7]  enter: priority rank (0 first); penalize: penalty_us; fire: guard_us
-- ARGV[8]  enter: µs the caller will listen for a wake-up before it asks again;
--          fire: ahead_us, how long before not_before the holder commits
--
-- Returns {code, not_before_us, now_us, lease_until_us, position, holder_lease_until_us}
--   code = 1: enter: the caller holds the turn; fire: write now; others: applied.
--   code = 0: enter: queued; fire: the turn is not the caller's any more (taken over, or its
--             lease ran out): enter again.
--   code = 2: fire: too early, not_before is more than ahead_us away (ask again then).
--   position:    enter, queued: the caller's place in the queue (0 = next).
--   holder_lease_until_us: enter, queued: when the current holder's lease runs out.
--
-- Keys are computed from ARGV[6] for the wake lists: fine on a single server (which the gate
-- needs anyway: one clock), not for a cluster.

if redis.replicate_commands then
  redis.replicate_commands()
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local op = ARGV[1]
local token = ARGV[2]
local interval = tonumber(ARGV[3])
local lease = tonumber(ARGV[4])
local ttl_ms = tonumber(ARGV[5])
local wake_prefix = ARGV[6]

local function num(v)
  return tonumber(v) or 0
end

local function fmt(v)
  -- Microsecond epochs exceed what Lua's tostring prints in full.
  return string.format('%.0f', v)
end

local h = redis.call('HMGET', KEYS[1], 'holder', 'not_before', 'lease_until', 'last',
  'penalty_until', 'holder_rank', 'fired')
local holder = h[1]
local not_before = num(h[2])
local lease_until = num(h[3])
local last = num(h[4])
local penalty = num(h[5])
local holder_rank = num(h[6])
local fired = h[7] == '1'

local expired = false
if holder and now >= lease_until then
  -- The holder neither reported nor gave its turn back within its lease (it died, or lost
  -- its connection). It cannot write after its lease ends (`fire` refuses a commit too close
  -- to it, and the holder looks at its clock once more before writing), so its hit, if any,
  -- counts as written at the end of the lease.
  if lease_until > last then
    last = lease_until
  end
  holder = false
  expired = true
end

-- Hand the free turn to the first live waiter; push the grant onto its wake list unless the
-- waiter is the caller itself (it gets the grant in this call's answer).
local function promote(caller)
  if holder then
    return
  end
  while true do
    local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    if #first == 0 then
      return
    end
    local waiter = first[1]
    local alive = tonumber(redis.call('ZSCORE', KEYS[3], waiter))
    redis.call('ZREM', KEYS[2], waiter)
    redis.call('ZREM', KEYS[3], waiter)
    if alive and alive >= now then
      holder = waiter
      holder_rank = math.floor(tonumber(first[2]) / 1e13)
      fired = false
      not_before = math.max(now, last + interval, penalty)
      lease_until = not_before + lease
      if waiter ~= caller then
        local wake = wake_prefix .. waiter
        redis.call('RPUSH', wake, fmt(not_before) .. ' ' .. fmt(now) .. ' ' .. fmt(lease_until))
        redis.call('PEXPIRE', wake, ttl_ms)
      end
      return
    end
    -- A waiter that stopped listening (its process died): skip it.
  end
end

local function save()
  if holder then
    redis.call('HSET', KEYS[1], 'holder', holder, 'holder_rank', holder_rank,
      'fired', fired and '1' or '0', 'not_before', fmt(not_before),
      'lease_until', fmt(lease_until), 'last', fmt(last), 'penalty_until', fmt(penalty))
  else
    redis.call('HSET', KEYS[1], 'last', fmt(last), 'penalty_until', fmt(penalty))
    redis.call('HDEL', KEYS[1], 'holder', 'holder_rank', 'fired', 'not_before', 'lease_until')
  end
  -- The hash must outlive a penalty still in the future, and the lease of its holder.
  local horizon = math.max(penalty, now)
  if holder then
    horizon = math.max(horizon, lease_until)
  end
  redis.call('PEXPIRE', KEYS[1], math.floor((horizon - now) / 1000) + ttl_ms)
end

-- A written hit, counted per second of this server's clock: what a reader needs for the
-- account's hits/s over the last second, in one HMGET (nusaworker.pacing.readout).
local function count_hit()
  local sec = math.floor(now / 1000000)
  local c = redis.call('HMGET', KEYS[1], 'sec', 'sec_hits')
  local cur, n = num(c[1]), num(c[2])
  if sec == cur then
    redis.call('HSET', KEYS[1], 'sec_hits', n + 1)
  else
    redis.call('HSET', KEYS[1], 'sec', sec, 'sec_hits', 1, 'prev_hits', sec == cur + 1 and n or 0)
  end
  redis.call('HINCRBY', KEYS[1], 'hits', 1)
end

-- The queue and the liveness set live as long as somebody joins them (only `enter` adds).
local function keep_queue()
  redis.call('PEXPIRE', KEYS[2], ttl_ms)
  redis.call('PEXPIRE', KEYS[3], ttl_ms)
end

if expired then
  promote('')
end

if op == 'enter' then
  if holder == token then
    -- The caller's wait for a wake-up timed out just as the turn was pushed to it.
    redis.call('DEL', wake_prefix .. token)
    save()
    return {1, not_before, now, lease_until, 0, lease_until}
  end
  local rank = tonumber(ARGV[7])
  local listen_until = fmt(now + tonumber(ARGV[8]))
  if holder and not fired and rank < holder_rank then
    -- Take the turn over from a lower priority that has not fired yet: it goes back to the
    -- head of its own class (and learns it at its `fire`); the start stays where it was.
    redis.call('ZADD', KEYS[2], fmt(holder_rank * 1e13), holder)
    redis.call('ZADD', KEYS[3], listen_until, holder)
    -- A grant pushed to it and not read yet is withdrawn: it keeps waiting.
    redis.call('DEL', wake_prefix .. holder)
    redis.call('ZREM', KEYS[2], token)
    redis.call('ZREM', KEYS[3], token)
    keep_queue()
    holder = token
    holder_rank = rank
    save()
    return {1, not_before, now, lease_until, 0, lease_until}
  end
  redis.call('ZADD', KEYS[2], 'NX', fmt(rank * 1e13 + math.floor(now / 1000)), token)
  redis.call('ZADD', KEYS[3], listen_until, token)
  keep_queue()
  promote(token)
  save()
  if holder == token then
    return {1, not_before, now, lease_until, 0, lease_until}
  end
  local position = redis.call('ZRANK', KEYS[2], token) or 0
  return {0, 0, now, 0, position, holder and lease_until or 0}
elseif op == 'fire' then
  if holder ~= token then
    save()
    return {0, 0, now, 0, 0, 0}
  end
  if penalty > not_before then
    -- A 429 came back since this turn was granted: its start moves behind the penalty.
    not_before = penalty
    lease_until = penalty + lease
    save()
  end
  if now < not_before - tonumber(ARGV[8]) then
    return {2, not_before, now, lease_until, 0, 0}
  end
  if now > lease_until - tonumber(ARGV[7]) then
    -- Too late to write inside the lease: give the turn up (nothing was written).
    holder = false
    promote('')
    save()
    return {0, 0, now, 0, 0, 0}
  end
  -- Nothing else changes (the hash's TTL already covers the lease): one field.
  redis.call('HSET', KEYS[1], 'fired', '1')
  return {1, not_before, now, lease_until, 0, 0}
elseif op == 'done' or op == 'cancel' then
  if holder == token then
    if op == 'done' and now > last then
      last = now
    end
    holder = false
  elseif op == 'done' and now > last then
    -- A holder whose lease had run out reports a write after all: keep the next ones behind
    -- it (the turn already handed out cannot be taken back).
    last = now
  end
  if op == 'done' then
    count_hit()
  end
  redis.call('ZREM', KEYS[2], token)
  redis.call('ZREM', KEYS[3], token)
  promote('')
  save()
  return {1, 0, now, 0, 0, 0}
elseif op == 'penalize' then
  local wanted = now + tonumber(ARGV[7])
  if wanted > penalty then
    penalty = wanted
  end
  save()
  return {1, penalty, now, 0, 0, 0}
end
return redis.error_reply('unknown op ' .. tostring(op))
