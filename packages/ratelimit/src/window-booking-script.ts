/**
 * The Redis script behind `upstashLimiter({ limit, intervalMs })`: a fixed-window budget in which an ask never
 * comes back empty-handed. Sends are booked in the earliest window that still has room, the current one or a
 * later one, so every round trip to Redis grants the sends it was made for, and a full window costs nobody an
 * extra round trip to learn that it is full.
 *
 * Windows are aligned to the epoch in Redis's own time (`TIME`), so every worker agrees on where a window starts
 * whatever its clock says; the answer carries times relative to that reading, which the caller adds to its own
 * clock. KEYS: 1 the window state (a hash: `window`, the latest window with bookings, and `used`, its bookings),
 * 2 the shared pause (epoch ms on the writers' clocks, compared with the caller's own clock).
 * ARGV: 1 limit, 2 interval ms, 3 margin ms (a send granted closer than this to its window's end goes to the
 * next window instead, so it cannot arrive after the window closed), 4 horizon ms (book nothing that starts
 * later than this from now), 5 sends wanted, 6 the caller's clock (epoch ms).
 * Answers `{1, booked, startsInMs, endsInMs}`, `{0, pausedUntil}` or `{-1, startsInMs}` (beyond the horizon).
 */
export const WINDOW_BOOKING_SCRIPT = `local limit = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local margin = tonumber(ARGV[3])
local horizon = tonumber(ARGV[4])
local wanted = tonumber(ARGV[5])
local pause = redis.call('GET', KEYS[2])
local pausedUntil = pause and tonumber(pause)
if pausedUntil and pausedUntil > tonumber(ARGV[6]) then return {0, pausedUntil} end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = math.floor(now / interval)
if now + margin >= (window + 1) * interval then window = window + 1 end
local state = redis.call('HMGET', KEYS[1], 'window', 'used')
local booked = tonumber(state[1])
local used = tonumber(state[2]) or 0
if booked == nil or booked < window then
  booked = window
  used = 0
end
if used >= limit then
  booked = booked + 1
  used = 0
end
local startsIn = math.max(0, booked * interval - now)
if startsIn > horizon then return {-1, startsIn} end
local granted = math.min(wanted, limit - used)
redis.call('HSET', KEYS[1], 'window', booked, 'used', used + granted)
redis.call('PEXPIRE', KEYS[1], (booked + 1) * interval - now + interval)
return {1, granted, startsIn, (booked + 1) * interval - now}
`;

/**
 * SHA-1 of `WINDOW_BOOKING_SCRIPT`, written out so the package needs no hashing at run time (and stays
 * browser-safe); a test recomputes it, so an edit to the script cannot leave it stale.
 */
export const WINDOW_BOOKING_SCRIPT_SHA1 = 'db1599ad00146b2cbc95db180148e6526e7af2d6';
