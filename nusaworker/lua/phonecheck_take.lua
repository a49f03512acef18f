-- Take the numbers due for checking, atomically: every full batch (oldest first, at most
-- ARGV[3] numbers), and the partial rest once its oldest number has waited ARGV[2] seconds.
-- KEYS[1] pending zset, KEYS[2] in-flight zset; ARGV[1] batch size, ARGV[2] linger (s),
-- ARGV[3] cap (a multiple of the batch size), ARGV[4] in-flight TTL (s).
-- Returns the numbers taken, oldest first; they are marked in flight in the same step.
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local size = tonumber(ARGV[1])
local linger = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[4]))
local count = redis.call('ZCARD', KEYS[1])
local full = count - count % size
local n = math.min(full, cap)
if n == full and n < cap and count > n then
  local rest = redis.call('ZRANGE', KEYS[1], n, n, 'WITHSCORES')
  if now - tonumber(rest[2]) >= linger then
    n = count
  end
end
if n == 0 then
  return {}
end
local popped = redis.call('ZPOPMIN', KEYS[1], n)
local taken = {}
for i = 1, #popped, 2 do
  taken[#taken + 1] = popped[i]
  redis.call('ZADD', KEYS[2], now, popped[i])
end
return taken
