-- Ask for phone checks: answer what the cache holds, queue the rest once (fleet-wide).
-- KEYS[1] pending zset (number -> when first asked), KEYS[2] in-flight zset (number -> when
-- taken), KEYS[3..] the cache key of each number; ARGV[1] in-flight TTL (s), ARGV[2..] numbers.
-- Returns one reply per number: "1" registered, "0" not, "" pending.
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local stale = now - tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV do
  local number = ARGV[i]
  local cached = redis.call('GET', KEYS[i + 1])
  if cached then
    out[i - 1] = cached
  else
    out[i - 1] = ''
    -- A number already on its way to the provider is not asked for twice, unless its answer
    -- is overdue (a lost callback): then it is queued again.
    local taken = redis.call('ZSCORE', KEYS[2], number)
    if not taken or tonumber(taken) < stale then
      redis.call('ZADD', KEYS[1], 'NX', now, number)
    end
  end
end
return out
