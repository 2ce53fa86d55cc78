// The rate-limit arithmetic of stores/rate-limit.ts as one Lua script, so that each decision is
// one atomic round trip however many gateways share the counters. The clock is Redis's own
// (TIME), so gateways with skewed clocks still agree. KEYS[1] carries a hash tag ("{...}"): every
// key the script derives from it lands in the same cluster slot.
// ARGV: algorithm, limit, windowMs, burst, a unique member (sliding-log), maxDelayMs (token-bucket),
// the window's name (calendar), "1" for a dry run (answer without counting).
// Returns: allowed (0/1), remaining, resetMs, retryAfterMs, limit, delayMs.
export const RATE_LIMIT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local alg = ARGV[1]
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local base = KEYS[1]
local dry = ARGV[8] == '1'

if alg == 'fixed-window' then
  local w = math.floor(now / window)
  local reset = (w + 1) * window - now
  local k = base .. ':' .. w
  local count
  if dry then count = tonumber(redis.call('GET', k) or '0') + 1 else count = redis.call('INCR', k) end
  if count == 1 and not dry then redis.call('PEXPIRE', k, reset) end
  if count <= limit then return { 1, limit - count, reset, 0, limit } end
  return { 0, 0, reset, reset, limit }

elseif alg == 'sliding-window' then
  local w = math.floor(now / window)
  local elapsed = now - w * window
  local prev = tonumber(redis.call('GET', base .. ':' .. (w - 1)) or '0')
  local cur = tonumber(redis.call('GET', base .. ':' .. w) or '0')
  local weighted = prev * (window - elapsed) / window + cur
  local reset = window - elapsed
  if weighted + 1 > limit then
    local retry = reset
    if prev > 0 and cur < limit then retry = math.min(reset, math.ceil((weighted + 1 - limit) * window / prev)) end
    return { 0, 0, reset, math.max(1, retry), limit }
  end
  if not dry then
    local k = base .. ':' .. w
    redis.call('INCR', k)
    redis.call('PEXPIRE', k, 2 * window)
  end
  return { 1, math.max(0, math.floor(limit - weighted - 1)), reset, 0, limit }

elseif alg == 'sliding-log' then
  local k = base .. ':log'
  if not dry then redis.call('ZREMRANGEBYSCORE', k, '-inf', now - window) end
  local n = redis.call('ZCOUNT', k, '(' .. (now - window), '+inf')
  if n >= limit then
    local freeing = redis.call('ZRANGEBYSCORE', k, '(' .. (now - window), '+inf', 'WITHSCORES', 'LIMIT', n - limit, 1)
    local newest = redis.call('ZRANGE', k, -1, -1, 'WITHSCORES')
    return { 0, 0, tonumber(newest[2]) + window - now, math.max(1, tonumber(freeing[2]) + window - now), limit }
  end
  if dry then
    local oldest = redis.call('ZRANGEBYSCORE', k, '(' .. (now - window), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    return { 1, limit - n - 1, (tonumber(oldest[2]) or now) + window - now, 0, limit }
  end
  redis.call('ZADD', k, now, now .. ':' .. ARGV[5])
  redis.call('PEXPIRE', k, window)
  local first = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')
  return { 1, limit - n - 1, tonumber(first[2]) + window - now, 0, limit }

elseif alg == 'calendar' then
  local k = base .. ':' .. ARGV[7]
  local count
  if dry then count = tonumber(redis.call('GET', k) or '0') + 1 else count = redis.call('INCR', k) end
  if count == 1 and not dry then redis.call('PEXPIRE', k, window + 60000) end
  if count <= limit then return { 1, limit - count, window, 0, limit } end
  return { 0, 0, window, window, limit }

elseif alg == 'token-bucket' then
  local burst = tonumber(ARGV[4])
  local interval = window / limit
  local k = base .. ':tat'
  local tat = math.max(tonumber(redis.call('GET', k) or '0'), now)
  local nxt = tat + interval
  local allowAt = nxt - burst * interval
  local early = allowAt - now
  if early > tonumber(ARGV[6]) then return { 0, 0, math.ceil(tat - now), math.max(1, math.ceil(early)), burst, 0 } end
  if not dry then redis.call('SET', k, tostring(nxt), 'PX', math.max(1, math.ceil(nxt - now))) end
  return { 1, math.max(0, math.floor((now - allowAt) / interval)), math.ceil(nxt - now), 0, burst, math.max(0, math.ceil(early)) }
end
return redis.error_reply('unknown rate-limit algorithm ' .. tostring(alg))
`;

// Concurrency slots: a sorted set of holders scored by lease end. Expired leases are dropped
// before counting, so a gateway that died holding slots frees them when their leases run out.
// KEYS[1]: the slot set. ARGV: member, limit, leaseMs. Returns 1 when a slot was taken.
export const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
`;
