-- Move a record to a new state if the move is allowed from where it is, atomically.
-- Which moves are allowed is decided in Python (nusaworker/ledger/states.py) and passed in.
--
-- KEYS[1]  record hash
-- KEYS[2]  accepted index (sorted set)
-- KEYS[3]  sent index (sorted set)
-- KEYS[4]  OTP sent index (sorted set): the priority="otp" part of KEYS[3], polled first
-- KEYS[5]  events stream: every move (but a release back to accepted) is appended, atomically
-- KEYS[6]  lease index (hash): a record that leaves sending leaves it
-- KEYS[7]  dead-letter stream: a record that ends rejected, failed or unknown straight from
--          accepted or sending (never sent, or sent in doubt) is appended, atomically
-- KEYS[8]  state counts (hash: state → records in it)
-- KEYS[9]  ref_no → id key (optional; written when given)
-- ARGV[1]  message id
-- ARGV[2]  the new state
-- ARGV[3]  the states it may come from, space-separated
-- ARGV[4]  the caller's fencing token, or '' when the move is not fenced
-- ARGV[5]  record TTL in seconds once moved, or '0' for no TTL
-- ARGV[6]  score in the new state's index (accepted: eligible since; sent: next poll), or ''
-- ARGV[7]  ref key TTL, seconds
-- ARGV[8]  events stream length cap (approximate), or '0' to append no event
-- ARGV[9]  the campaign hash name prefix: a campaign's record (its 'campaign' field) is
--          counted there, one count per state (n:<state>)
-- ARGV[10] '1' when the move is to a final state: a campaign's record then also drops its
--          payload (the campaign's rows keep the text) and is rewritten, so that Redis can
--          store it compactly (a hash whose every value is short is a listpack: ~500 bytes
--          instead of ~1,900)
-- ARGV[11] dead-letter stream length cap (approximate), or '0' to append nothing
-- ARGV[12] dead-letter retention, ms: older entries are trimmed (exactly: by id, cheap) when
--          one is appended
-- ARGV[13] n, the number of fields to delete, then ARGV[14 … 13+n] their names,
--          then field, value, field, value … to set
--
-- Returns {verdict, state before the call, account, ref_no}: verdict is 'ok', 'fenced' (token
-- mismatch), 'illegal' (not allowed from the current state; nothing changed) or 'missing';
-- account and ref_no as the record holds them after the move ('' if none), for the log line
-- of the move (nusaworker.ledger.ledger).

-- TIME (the dead-letter trim) after writes needs effects replication (the default since
-- Redis 5; asked for on older servers).
if redis.replicate_commands then
    redis.replicate_commands()
end

local key, id, new_state = KEYS[1], ARGV[1], ARGV[2]

-- ``entry`` with each of the record's ``names`` appended as name, value (those it holds): a
-- stream entry that reads without the record.
local function with_fields(entry, names)
    local values = redis.call('HMGET', key, unpack(names))
    for i, name in ipairs(names) do
        if values[i] then
            entry[#entry + 1] = name
            entry[#entry + 1] = values[i]
        end
    end
    return entry
end
local v = redis.call('HMGET', key, 'state', 'token', 'campaign')
local state, token, campaign = v[1], v[2], v[3]
if not state then
    return {'missing', ''}
end
if ARGV[4] ~= '' and token ~= ARGV[4] then
    return {'fenced', state}
end
if not string.find(' ' .. ARGV[3] .. ' ', ' ' .. state .. ' ', 1, true) then
    return {'illegal', state}
end

local n_del = tonumber(ARGV[13])
if n_del > 0 then
    redis.call('HDEL', key, unpack(ARGV, 14, 13 + n_del))
end
redis.call('HSET', key, 'state', new_state, unpack(ARGV, 14 + n_del))
if ARGV[10] == '1' and campaign and redis.call('HEXISTS', key, 'payload') == 1 then
    redis.call('HDEL', key, 'payload')
    local all = redis.call('HGETALL', key)
    redis.call('DEL', key)
    redis.call('HSET', key, unpack(all))
end
-- A campaign counts its messages per state; once the campaign itself has expired (a read
-- receipt weeks later) there is nothing left to count in, and no key is made for it.
if campaign and redis.call('EXISTS', ARGV[9] .. campaign) == 1 then
    redis.call('HINCRBY', ARGV[9] .. campaign, 'n:' .. state, -1)
    redis.call('HINCRBY', ARGV[9] .. campaign, 'n:' .. new_state, 1)
end

redis.call('HINCRBY', KEYS[8], state, -1)
redis.call('HINCRBY', KEYS[8], new_state, 1)

-- Each index holds exactly the records in its state.
if new_state == 'accepted' and ARGV[6] ~= '' then
    redis.call('ZADD', KEYS[2], ARGV[6], id)
else
    redis.call('ZREM', KEYS[2], id)
end
if new_state == 'sent' and ARGV[6] ~= '' then
    redis.call('ZADD', KEYS[3], ARGV[6], id)
    if redis.call('HGET', key, 'priority') == 'otp' then
        redis.call('ZADD', KEYS[4], ARGV[6], id)
    end
else
    redis.call('ZREM', KEYS[3], id)
    redis.call('ZREM', KEYS[4], id)
end

if state == 'sending' then
    redis.call('HDEL', KEYS[6], id)
end

if KEYS[9] then
    redis.call('SET', KEYS[9], id, 'EX', ARGV[7])
end

-- A dead letter: the message ended without being sent (rejected, failed) or in doubt
-- (unknown), straight from the claim protocol's states. What an operator needs to see is
-- copied, so that the list reads without the records (and survives a record that cannot be
-- read); it is capped by length and by the records' retention.
if ARGV[11] ~= '0' and (state == 'accepted' or state == 'sending')
        and (new_state == 'rejected' or new_state == 'failed' or new_state == 'unknown') then
    local entry = with_fields({'id', id, 'state', new_state, 'previous', state},
        {'channel', 'destination', 'priority', 'error', 'account'})
    redis.call('XADD', KEYS[7], 'MAXLEN', '~', ARGV[11], '*', unpack(entry))
    local t = redis.call('TIME')
    local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    redis.call('XTRIM', KEYS[7], 'MINID', string.format('%.0f', now_ms - tonumber(ARGV[12])))
end

-- The hooks learn of the move from the stream, written in the same atomic step: no move is
-- ever missed or announced without having happened. A release (back to accepted, for a
-- retry) is claim bookkeeping, not news for the user's backend.
if ARGV[8] ~= '0' and new_state ~= 'accepted' then
    local event = with_fields(
        {'type', 'state', 'message_id', id, 'state', new_state, 'previous', state},
        {'channel', 'priority', 'ref_no', 'provider_status', 'error', 'updated_at', 'campaign'})
    redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[8], '*', unpack(event))
end
if ARGV[5] ~= '0' then
    redis.call('EXPIRE', key, ARGV[5])
else
    redis.call('PERSIST', key)
end
local said = redis.call('HMGET', key, 'account', 'ref_no')
return {'ok', state, said[1] or '', said[2] or ''}
