-- The suppression list's layout, in one place (nusaworker.suppression). Not a script of its
-- own: a function that every script changing the list begins with — the list's own add and
-- remove (suppression_change.lua), and the inbox's store (tracking/lua/inbox.lua), so that an
-- inbound STOP is stored and applied in one atomic step and a repeated push applies nothing.
--
-- entries  hash: number -> JSON {source, note, at, channel}
-- index    sorted set: number, scored by when it was added (paging, newest first)
-- events   the events stream: one "suppression" entry per change, for the hooks
--
-- 'add' keeps the entry of a number already on the list (the first who/why/when stands);
-- 'remove' deletes it. Returns 1 when the list changed, else 0.
local function apply_suppression(entries, index, events, events_maxlen, op, number, meta, at)
    local changed
    if op == 'add' then
        changed = redis.call('HSETNX', entries, number, meta)
        if changed == 1 then
            redis.call('ZADD', index, at, number)
        end
    elseif op == 'remove' then
        changed = redis.call('HDEL', entries, number)
        redis.call('ZREM', index, number)
    else
        return 0
    end
    if changed == 1 then
        local event = cjson.decode(meta)
        event['action'] = op
        event['destination'] = number
        redis.call('XADD', events, 'MAXLEN', '~', events_maxlen, '*',
            'type', 'suppression', 'data', cjson.encode(event), 'at', at)
    end
    return changed
end
