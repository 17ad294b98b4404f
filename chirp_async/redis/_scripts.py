"""The Lua scripts that keep one key's shared budget atomic, on the store's clock.

Each script reads the store's clock with ``TIME`` and does its read-modify-write in one
step, so no two processes can take the same slot and no machine's clock decides a slot.
Times are integer microseconds of the store's Unix clock (about 1.8e15 today, exact in
a Lua double up to 9e15), written with ``string.format('%d')`` because Redis would
otherwise turn a large Lua number into a string in exponent notation.

The state is one hash per API key: ``tat`` (when the next slot is free), ``pause`` (until
when the server asked every process to wait) and ``why`` (the reason of that pause). It
expires a little after both have passed, when it would mean nothing anyway.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, final

if TYPE_CHECKING:
    import redis.asyncio

__all__ = ["ACQUIRE", "ACQUIRE_MANY", "PAUSE", "LuaScript", "run_script"]


@final
@dataclass(frozen=True, slots=True)
class LuaScript:
    """A Lua script and its SHA1, run with EVALSHA (EVAL once when the store lacks it).

    Attributes:
        text: The Lua source.
        sha: Its SHA1 in hex, as EVALSHA wants it.
    """

    text: str
    sha: str

    @classmethod
    def of(cls, text: str) -> LuaScript:
        """Return the script for ``text``, its SHA1 computed once.

        Args:
            text: The Lua source.

        Returns:
            The script.
        """
        return cls(text, hashlib.sha1(text.encode()).hexdigest())


async def run_script(
    client: redis.asyncio.Redis, script: LuaScript, keys: list[str], args: list[str | int]
) -> list[object]:
    """Run ``script`` by its SHA1; on NOSCRIPT (a new or restarted store), send its text once.

    EVAL caches the script in the store, so later calls are one EVALSHA round trip again.

    Args:
        client: The store client.
        script: The script.
        keys: Its KEYS.
        args: Its ARGV.

    Returns:
        The script's reply (a list).
    """
    from redis.exceptions import NoScriptError

    try:
        reply = await client.evalsha(script.sha, len(keys), *keys, *args)
    except NoScriptError:
        reply = await client.eval(script.text, len(keys), *keys, *args)
    if not isinstance(reply, list):
        raise TypeError(f"the store answered {reply!r} to a script that returns a list")
    return reply


ACQUIRE: Final = LuaScript.of(
    """
-- Reserve the next slot of one key's shared budget: GCRA without burst, on the store's clock.
-- KEYS[1]: the key's hash {tat, pause, why}.
-- ARGV[1]: emission interval (us). ARGV[2]: longest wait the caller accepts (us), -1 for any.
-- ARGV[3]: ms the hash outlives its last slot or pause.
-- Returns {granted 1|0, wait us, store now us, pause end us, pause reason}; when the wait is
-- longer than the caller accepts, nothing is reserved.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tat', 'pause', 'why')
local tat = tonumber(state[1]) or 0
local pause = tonumber(state[2]) or 0
local why = state[3] or ''
local slot = math.max(now, tat, pause)
local wait = slot - now
local max_wait = tonumber(ARGV[2])
if max_wait >= 0 and wait > max_wait then
  return {0, wait, now, pause, why}
end
tat = slot + tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'tat', string.format('%d', tat))
redis.call('PEXPIREAT', KEYS[1],
  string.format('%d', math.floor(math.max(tat, pause) / 1000) + tonumber(ARGV[3])))
return {1, wait, now, pause, why}
"""
)
"""Reserve a slot (or refuse, reserving nothing, when it is further away than allowed)."""

ACQUIRE_MANY: Final = LuaScript.of(
    """
-- Reserve the next slots of one key's shared budget for several waiters at once, in order:
-- the same GCRA as ACQUIRE, one round trip for all of them.
-- KEYS[1]: the key's hash {tat, pause, why}.
-- ARGV[1]: emission interval (us). ARGV[2]: ms the hash outlives its last slot or pause.
-- ARGV[3..]: per waiter, the longest wait it accepts (us), -1 for any.
-- Returns {store now us, pause end us, pause reason, granted 1|0, wait us, ...}: a pair per
-- waiter. A waiter whose slot is further away than it accepts is refused and reserves
-- nothing; the next one is offered the same slot.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tat', 'pause', 'why')
local tat = tonumber(state[1]) or 0
local pause = tonumber(state[2]) or 0
local interval = tonumber(ARGV[1])
local out = {now, pause, state[3] or ''}
local granted = false
for i = 3, #ARGV do
  local slot = math.max(now, tat, pause)
  local wait = slot - now
  local max_wait = tonumber(ARGV[i])
  if max_wait >= 0 and wait > max_wait then
    out[#out + 1] = 0
  else
    out[#out + 1] = 1
    tat = slot + interval
    granted = true
  end
  out[#out + 1] = wait
end
if granted then
  redis.call('HSET', KEYS[1], 'tat', string.format('%d', tat))
  redis.call('PEXPIREAT', KEYS[1],
    string.format('%d', math.floor(math.max(tat, pause) / 1000) + tonumber(ARGV[2])))
end
return out
"""
)
"""Reserve slots for a batch of waiters (`AcquireBatcher`), in the order they asked."""

PAUSE: Final = LuaScript.of(
    """
-- Hold every process's next slot back until the server's pause is over, on the store's clock.
-- KEYS[1]: the key's hash. ARGV[1]: 'after' (ARGV[2] = us from now) or 'until'
-- (ARGV[2] = Unix us). ARGV[3]: latest accepted end, us after now (an end further away
-- comes from a skewed clock and is ignored). ARGV[4]: the reason. ARGV[5]: ms the hash
-- outlives its last slot or pause.
-- Returns {moved 1|0, store now us, pause end us, pause reason}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tat', 'pause', 'why')
local tat = tonumber(state[1]) or 0
local pause = tonumber(state[2]) or 0
local ends = tonumber(ARGV[2])
if ARGV[1] == 'after' then
  ends = now + ends
end
if ends <= now or ends - now > tonumber(ARGV[3]) or ends <= pause then
  return {0, now, pause, state[3] or ''}
end
redis.call('HSET', KEYS[1], 'pause', string.format('%d', ends), 'why', ARGV[4])
redis.call('PEXPIREAT', KEYS[1],
  string.format('%d', math.floor(math.max(tat, ends) / 1000) + tonumber(ARGV[5])))
return {1, now, ends, ARGV[4]}
"""
)
"""Move the shared pause forward (never back)."""
