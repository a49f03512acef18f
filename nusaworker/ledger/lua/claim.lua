-- Claim a record for sending: accepted → sending with a fresh fencing token, atomically.
--
-- KEYS[1]  record hash
-- KEYS[2]  accepted index (sorted set)
-- KEYS[3]  lease index (hash: id → holder of a claim made by a heartbeating worker)
-- KEYS[4]  state counts (hash: state → records in it)
-- ARGV[1]  message id
-- ARGV[2]  the new fencing token
-- ARGV[3]  now (epoch seconds)
-- ARGV[4]  '1' to hand a token out even when the outcome is in doubt (resend policy), else '0'
-- ARGV[5]  the claiming worker's identity (its heartbeat names it), or '' for none
-- ARGV[6]  the campaign hash name prefix: a record of a campaign (its 'campaign' field) is
--          counted in, and controlled by, the hash ARGV[6] .. campaign
--
-- Returns {outcome, state, attempts[, token]} with outcome one of claimed, taken_over,
-- in_doubt, not_claimable, expired, paused, cancelled; or {'missing'}. A token is returned
-- only when one was handed out.

local v = redis.call('HMGET', KEYS[1], 'state', 'hit_started', 'ref_no', 'attempts',
    'expires_at', 'campaign')
local state, hit_started, ref_no = v[1], v[2], v[3]
local attempts = tonumber(v[4]) or 0
if not state then
    return {'missing'}
end

-- Past its validity a record is never handed out: sent now, it would arrive late. One not
-- sent yet (accepted, or sending with no hit started) is refused as 'expired' and its holder,
-- if any, fenced out (no token left to match its begin_hit), so that nobody can send it and
-- the caller may move it to expired. One whose hit started stays in doubt, never resent.
local expires_at = tonumber(v[5])
if expires_at and tonumber(ARGV[3]) >= expires_at and not ref_no then
    if state == 'accepted' or (state == 'sending' and hit_started ~= '1') then
        redis.call('HDEL', KEYS[1], 'token')
        return {'expired', state, attempts}
    elseif state == 'sending' then
        return {'in_doubt', state, attempts}
    end
end

-- A campaign's record not sent yet obeys its campaign's control word, read here so that a
-- pause or a cancel and a claim cannot interleave: paused, the record stays accepted and its
-- id goes back to the campaign's window (the resume enqueues it again); cancelled, nothing is
-- handed out and the caller aborts it. A record already sending is the holder's to finish.
local campaign = v[6] and (ARGV[6] .. v[6])
if campaign and state == 'accepted' then
    local control = redis.call('HGET', campaign, 'control')
    if control == 'pause' then
        redis.call('SADD', campaign .. ':window', ARGV[1])
        return {'paused', state, attempts}
    elseif control == 'cancel' then
        return {'cancelled', state, attempts}
    end
end

local outcome
if state == 'accepted' then
    outcome = 'claimed'
    redis.call('HINCRBY', KEYS[4], 'accepted', -1)
    redis.call('HINCRBY', KEYS[4], 'sending', 1)
    if campaign then
        redis.call('HINCRBY', campaign, 'n:accepted', -1)
        redis.call('HINCRBY', campaign, 'n:sending', 1)
    end
elseif state == 'sending' and not ref_no then
    if hit_started == '1' then
        -- The hit may have reached the provider: report it, the caller's policy decides.
        if ARGV[4] ~= '1' then
            return {'in_doubt', state, attempts}
        end
        outcome = 'in_doubt'
        -- Its account's hit may have gone: only that account may send it from now on.
        redis.call('HSET', KEYS[1], 'account_pinned', '1')
    else
        -- The holder never started its hit (died, or still waiting at the gate): taking over
        -- with a new token fences it out, so its begin_hit will fail and it will not send.
        outcome = 'taken_over'
    end
else
    return {'not_claimable', state, attempts}
end

attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'state', 'sending', 'token', ARGV[2], 'hit_started', '0',
    'claimed_at', ARGV[3], 'updated_at', ARGV[3])
redis.call('HDEL', KEYS[1], 'hit_started_at')
redis.call('ZREM', KEYS[2], ARGV[1])
-- The claim is a lease: it stays valid exactly as long as its holder's heartbeat key lives
-- (the worker process rewrites it every second or so; a running task needs to do nothing).
-- Once the key is gone, beat resolves the records the index names under that holder. Every
-- move out of sending (transition.lua, release included) takes the record off the index.
if ARGV[5] ~= '' then
    redis.call('HSET', KEYS[1], 'holder', ARGV[5])
    redis.call('HSET', KEYS[3], ARGV[1], ARGV[5])
else
    redis.call('HDEL', KEYS[1], 'holder')
    redis.call('HDEL', KEYS[3], ARGV[1])
end
return {outcome, 'sending', attempts, ARGV[2]}
