-- Push the next free pacing slot of one provider account to at least now + penalty.
--
-- Called after the provider answered 429: every worker of the fleet then waits, because every
-- worker reserves its slots from this same key (see reserve.lua). A later slot already
-- reserved is kept: a penalty never pulls the tail back.
--
-- KEYS[1]  pace key of the account
-- ARGV[1]  penalty_us  how long from now nobody may start a hit (µs)
-- ARGV[2]  ttl_ms      how long the key outlives the slot it records
--
-- Returns {next_free_us, now_us} after the call.

if redis.replicate_commands then
  redis.replicate_commands()
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local penalty = tonumber(ARGV[1])
local ttl_ms = tonumber(ARGV[2])

local tail = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local wanted = now + penalty
if wanted > tail then
  redis.call('SET', KEYS[1], string.format('%.0f', wanted),
    'PX', math.floor(penalty / 1000) + ttl_ms)
  tail = wanted
end
return {tail, now}
