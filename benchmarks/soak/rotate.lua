-- benchmarks/soak/rotate.lua: the wrk script of benchmarks/soak/run.
--
-- Run with as many wrk threads as connections (-t N -c N): a wrk thread has one Lua state,
-- and request()/response() do not say which connection they serve, so one connection per
-- thread is what lets each connection walk its own chains.
--
-- Each connection takes its share of the tokens in $SOAK_TOKENS ("id secret" per line: line k
-- goes to connection k mod $SOAK_CONNECTIONS) and cycles through them. For the current token
-- of a chain it
--   1. rotates it (POST /api/index/v1/rotatetoken, no body): a 200 body's rawSecret becomes the
--      chain's current secret, the old one its parent;
--   2. calls a protected endpoint $SOAK_CALLS times with the new secret (expects 200 {});
--   3. every $SOAK_REPLAY_EVERY-th rotation, also rotates the parent again (expects 401
--      already-rotated: the server is in reject mode) and calls a protected endpoint with the
--      parent (expects 200: the clock is frozen, so the parent is still inside its buffer);
-- then moves to its next chain. A rotation of a current secret answered 401 is unexpected: it is
-- counted and the chain is dropped (the connection goes on with its other tokens).
--
-- done() writes $SOAK_LUA_OUT (JSON): totals, per-chain rotation counts (initial token id ->
-- 200 rotations seen), what was in flight when wrk stopped, and wrk's latency percentiles.

local rotate_path = "/api/index/v1/rotatetoken"
local protected_paths = { "/api/index/v1/projects", "/api/index/v1/indexes/demo/status" }

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Globals, not locals: done() reads them from each thread. wrk's thread:get copies flat tables
-- only (a nested one crashes wrk 4.1), hence these flat ones.
chain_counts = {}      -- initial token id -> 200 rotations seen on its chain
chain_dead = {}        -- initial token id -> true when the chain was dropped
inflight_kind = ""     -- the step awaiting its response ("" when none): in flight when wrk stops
inflight_chain = ""
c = {}                 -- counters
local chains = {}      -- { id = "tok_7", secret = ..., parent = nil|secret, count = 0, dead = false }
local pending = nil    -- the step whose response is awaited
local current = 0      -- index into chains
local plan = {}        -- steps left for the current chain
local calls, replay_every
local function count(name) c[name] = (c[name] or 0) + 1 end

function init(args)
  local nconn = tonumber(os.getenv("SOAK_CONNECTIONS") or "64")
  calls = tonumber(os.getenv("SOAK_CALLS") or "3")
  replay_every = tonumber(os.getenv("SOAK_REPLAY_EVERY") or "16")
  local f = assert(io.open(assert(os.getenv("SOAK_TOKENS"), "SOAK_TOKENS is not set"), "r"))
  local k = 0
  for line in f:lines() do
    local tid, secret = line:match("^(%S+) (%S+)$")
    if tid and k % nconn == id then
      table.insert(chains, { id = tid, secret = secret, count = 0, dead = false })
    end
    if tid then k = k + 1 end
  end
  f:close()
  assert(#chains > 0, "no token for connection " .. id)
end

local function next_chain()
  for _ = 1, #chains do
    current = current % #chains + 1
    if not chains[current].dead then return chains[current] end
  end
  return nil
end

local function header(secret)
  return { ["Authorization"] = "Bearer " .. secret }
end

request = function()
  if #plan == 0 then
    local chain = next_chain()
    if chain == nil then  -- every chain of this connection was dropped: only probe
      pending = { kind = "dead" }
      inflight_kind, inflight_chain = "dead", ""
      return wrk.format("GET", "/api/index/v1/projects")
    end
    plan = { { kind = "rotate", chain = chain } }
  end
  pending = table.remove(plan, 1)
  local chain = pending.chain
  inflight_kind, inflight_chain = pending.kind, chain.id
  if pending.kind == "rotate" then
    return wrk.format("POST", rotate_path, header(chain.secret))
  elseif pending.kind == "replay" then
    return wrk.format("POST", rotate_path, header(chain.parent))
  elseif pending.kind == "access-parent" then
    return wrk.format("GET", protected_paths[1], header(chain.parent))
  else  -- access
    return wrk.format("GET", protected_paths[(chain.count % 2) + 1], header(chain.secret))
  end
end

response = function(status, headers, body)
  local step = pending
  pending = nil
  inflight_kind, inflight_chain = "", ""
  if step == nil then count("orphan") return end
  local chain = step.chain
  if step.kind == "rotate" then
    if status == 200 then
      local secret = body:match('"rawSecret"%s*:%s*"([^"]+)"')
      if secret == nil then count("rotate_200_unparsable") chain.dead = true return end
      count("rotate_200")
      chain.parent = chain.secret
      chain.secret = secret
      chain.count = chain.count + 1
      chain_counts[chain.id] = chain.count
      for _ = 1, calls do table.insert(plan, { kind = "access", chain = chain }) end
      if replay_every > 0 and c.rotate_200 % replay_every == 0 then
        table.insert(plan, { kind = "replay", chain = chain })
        table.insert(plan, { kind = "access-parent", chain = chain })
      end
    elseif status == 401 then
      count("rotate_401_unexpected")
      chain.dead = true
      chain_dead[chain.id] = true
      plan = {}
    else
      count("rotate_" .. status)
      plan = {}
    end
  elseif step.kind == "replay" then
    if status == 401 and body:find('"already-rotated"', 1, true) then
      count("replay_401")
    else
      count("replay_" .. status .. "_unexpected")
    end
  elseif step.kind == "access" or step.kind == "access-parent" then
    if status == 200 then count(step.kind .. "_200") else count(step.kind .. "_" .. status .. "_unexpected") end
  else
    count("dead_" .. status)
  end
end

local function json_string(v) return '"' .. tostring(v) .. '"' end

function done(summary, latency, requests)
  local out = assert(io.open(assert(os.getenv("SOAK_LUA_OUT"), "SOAK_LUA_OUT is not set"), "w"))
  out:write('{"threads": [\n')
  for i, t in ipairs(threads) do
    local parts = {}
    local counts, dead = t:get("chain_counts") or {}, t:get("chain_dead") or {}
    for tid, n in pairs(counts) do
      table.insert(parts, string.format('%s: {"rotations": %d, "dead": %s}', json_string(tid), n, tostring(dead[tid] == true)))
    end
    for tid, _ in pairs(dead) do
      if counts[tid] == nil then table.insert(parts, string.format('%s: {"rotations": 0, "dead": true}', json_string(tid))) end
    end
    local counters = {}
    for k, v in pairs(t:get("c") or {}) do table.insert(counters, json_string(k) .. ": " .. v) end
    local kind, chain = t:get("inflight_kind") or "", t:get("inflight_chain") or ""
    local inflight = "null"
    if kind ~= "" then
      inflight = string.format('{"kind": "%s", "chain": %s}', kind, chain ~= "" and json_string(chain) or "null")
    end
    out:write(string.format('{"chains": {%s}, "counters": {%s}, "inflight": %s}%s\n', table.concat(parts, ", "),
      table.concat(counters, ", "), inflight, i < #threads and "," or ""))
  end
  out:write('],\n')
  out:write(string.format('"requests": %d, "durationUs": %d, "bytes": %d,\n',
    summary.requests, summary.duration, summary.bytes))
  out:write(string.format('"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d},\n',
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status,
    summary.errors.timeout))
  out:write(string.format('"latencyUs": {"mean": %.1f, "stdev": %.1f, "p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d}}\n',
    latency.mean, latency.stdev, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
  out:close()
end
