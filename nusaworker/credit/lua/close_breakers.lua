-- Close breakers, each only if it is open for one of the given reasons, atomically.
--
-- KEYS[1 … n]  breaker keys (a string of JSON while open; absent when closed)
-- ARGV[1]      the reasons that may be closed, space-separated ('*' for any)
--
-- Returns, for each key closed by this call, its index (1-based) followed by the JSON it held;
-- a key that was already closed, or open for another reason, is left alone and not returned.

local closed = {}
local any = ARGV[1] == '*'
for i, key in ipairs(KEYS) do
    local value = redis.call('GET', key)
    if value then
        local ok, state = pcall(cjson.decode, value)
        local reason = ok and type(state) == 'table' and state['reason'] or ''
        if any or string.find(' ' .. ARGV[1] .. ' ', ' ' .. tostring(reason) .. ' ', 1, true) then
            redis.call('DEL', key)
            table.insert(closed, i)
            table.insert(closed, value)
        end
    end
end
return closed
