-- The fleet-wide poll budget of one account: at most one poll start per interval, on the
-- Redis server's clock (a generic cell rate with no burst: polls are spread evenly between
-- the sends instead of arriving in clumps).
--
-- KEYS[1]  the account's budget key: the earliest time the next poll may start (µs)
-- ARGV[1]  interval between two polls, µs
-- ARGV[2]  key TTL, ms
--
-- Returns 0 when a poll may start now (and books it), else how many µs until one may.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat > now then
    return tat - now
end
redis.call('SET', KEYS[1], string.format('%.0f', now + tonumber(ARGV[1])), 'PX', ARGV[2])
return 0
