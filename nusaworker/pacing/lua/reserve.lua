-- Reserve the next free pacing slot of one provider account, for the whole fleet.
--
-- The key holds the tail: the start of the account's next free slot, in microseconds on THIS
-- server's clock (TIME): one clock for every worker on every machine, so no two slots handed
-- out here start less than step_us apart, whoever asks.
--
-- KEYS[1]  pace key of the account
-- ARGV[1]  step_us     min interval + safety margin (µs): the distance between two slots
-- ARGV[2]  horizon_us  how far ahead of now this caller may reserve (µs); negative = no limit
-- ARGV[3]  ttl_ms      how long the key outlives the slot it records
-- ARGV[4]  release_us  0, or the tail this caller's previous grant set, for a slot it woke up
--                      too late to use: if nobody reserved after it, the slot is given back
--                      first (the caller never fired in it, so the slot before still ends a
--                      full step before anything handed out now).
--
-- Returns {granted, slot_start_us, now_us, wait_us, tail_us, released}
--   granted = 1: the slot starting at slot_start_us is the caller's; wait_us = start - now.
--   granted = 0: nothing was reserved; wait_us = how long until the tail comes within the
--                caller's horizon (ask again after that).
--   tail_us:     the tail after this call (for a grant: the caller's release token).
--   released:    1 if the caller's previous slot was given back.

-- Scripts that read TIME and then write must be replicated by effect (the only mode since
-- Redis 7; older servers need to be told).
if redis.replicate_commands then
  redis.replicate_commands()
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local step = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
local ttl_ms = tonumber(ARGV[3])
local release = tonumber(ARGV[4]) or 0

-- An absent key means the account is free now.
local tail = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local released = 0
if release > 0 and tail == release then
  tail = release - step
  released = 1
end

local start = math.max(now, tail)
local ahead = start - now

if horizon >= 0 and ahead > horizon then
  -- Nothing is written: a slot given back above stays reserved (only a zero horizon can
  -- refuse a caller whose own slot just started).
  return {0, start, now, ahead - horizon, tail, 0}
end

local next_free = start + step
-- Microsecond epochs exceed what Lua's tostring prints in full; write all digits.
redis.call('SET', KEYS[1], string.format('%.0f', next_free),
  'PX', math.floor((next_free - now) / 1000) + ttl_ms)
return {1, start, now, ahead, next_free, released}
