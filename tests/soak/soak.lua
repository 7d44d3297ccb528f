-- tests/soak/soak.lua: the wrk script of `make soak` (see soak.py).
--
-- Mixes four kinds of request, in turn on every connection:
--   pf_ok      OPTIONS preflight from an allowed origin   -> 204 + CORS headers
--   pf_denied  OPTIONS preflight from a denied origin     -> 403, no CORS header
--   get_ok     GET from an allowed origin                 -> 200 + Allow-Origin
--   get_denied GET from a denied origin                   -> 200, no CORS header
-- Allowed origins are https://o<N>.example.net, N in [0, SOAK_ORIGINS); denied
-- ones https://o<N>.example.org.  GETs carry X-Kind, which the server echoes
-- (mod_headers "Header always echo"), so each 200 can be checked against
-- what was asked; preflights are told apart by their status.  Every response
-- that is not what its kind must get counts as "wrong".  done() prints one
-- line "SOAK {json}" with the counts per status, per kind, and wrk's errors.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   norigins = tonumber(os.getenv("SOAK_ORIGINS") or "10")
   path = os.getenv("SOAK_PATH") or "/api/data.json"
   math.randomseed(os.time() + id * 7919)
   n = 0
   sent = { pf_ok = 0, pf_denied = 0, get_ok = 0, get_denied = 0 }
   status = {}
   kinds = { pf_ok = 0, pf_denied = 0, get_ok = 0, get_denied = 0 }
   wrong = 0
   wrong_sample = ""
end

local function origin(ok)
   local i = math.random(0, norigins - 1)
   if ok then
      return "https://o" .. i .. ".example.net"
   end
   return "https://o" .. i .. ".example.org"
end

function request()
   n = n + 1
   local k = n % 4
   if k == 0 then
      sent.pf_ok = sent.pf_ok + 1
      return wrk.format("OPTIONS", path, {
         ["Origin"] = origin(true),
         ["Access-Control-Request-Method"] = "PUT",
         ["Access-Control-Request-Headers"] = "content-type, x-requested-with" })
   elseif k == 1 then
      sent.pf_denied = sent.pf_denied + 1
      return wrk.format("OPTIONS", path, {
         ["Origin"] = origin(false),
         ["Access-Control-Request-Method"] = "PUT" })
   elseif k == 2 then
      sent.get_ok = sent.get_ok + 1
      return wrk.format("GET", path, { ["Origin"] = origin(true), ["X-Kind"] = "get_ok" })
   else
      sent.get_denied = sent.get_denied + 1
      return wrk.format("GET", path, { ["Origin"] = origin(false), ["X-Kind"] = "get_denied" })
   end
end

local function bad(why, s, h)
   wrong = wrong + 1
   if wrong_sample == "" then
      wrong_sample = why .. " (status " .. s .. ", Allow-Origin "
         .. tostring(h["Access-Control-Allow-Origin"]) .. ")"
   end
end

function response(s, h, body)
   status[s] = (status[s] or 0) + 1
   local acao = h["Access-Control-Allow-Origin"]
   local vary = h["Vary"] or ""
   if s == 204 then
      kinds.pf_ok = kinds.pf_ok + 1
      if not acao or not acao:match("^https://o%d+%.example%.net$")
         or h["Access-Control-Allow-Methods"] ~= "PUT"
         or h["Access-Control-Allow-Headers"] ~= "content-type, x-requested-with"
         or not vary:find("Origin", 1, true) then
         bad("preflight 204 without its headers", s, h)
      end
   elseif s == 403 then
      kinds.pf_denied = kinds.pf_denied + 1
      if acao or h["Access-Control-Allow-Methods"] then
         bad("refused preflight with CORS headers", s, h)
      end
   elseif s == 200 then
      local kind = h["X-Kind"]
      if kind == "get_ok" then
         kinds.get_ok = kinds.get_ok + 1
         if not acao or not acao:match("^https://o%d+%.example%.net$")
            or not vary:find("Origin", 1, true) then
            bad("allowed GET without Allow-Origin", s, h)
         end
      elseif kind == "get_denied" then
         kinds.get_denied = kinds.get_denied + 1
         if acao or not vary:find("Origin", 1, true) then
            bad("denied GET with Allow-Origin", s, h)
         end
      else
         bad("200 without X-Kind", s, h)
      end
   else
      bad("unexpected status", s, h)
   end
end

local function merge(into, from)
   for k, v in pairs(from) do
      into[k] = (into[k] or 0) + v
   end
end

local function json(t)
   local parts = {}
   for k, v in pairs(t) do
      table.insert(parts, string.format("\"%s\": %s", tostring(k),
         type(v) == "table" and json(v)
         or type(v) == "string" and string.format("%q", v) or tostring(v)))
   end
   return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
   local all = { sent = {}, status = {}, kinds = {}, wrong = 0, wrong_sample = "" }
   for _, t in ipairs(threads) do
      merge(all.sent, t:get("sent"))
      merge(all.status, t:get("status"))
      merge(all.kinds, t:get("kinds"))
      all.wrong = all.wrong + t:get("wrong")
      if all.wrong_sample == "" then
         all.wrong_sample = t:get("wrong_sample")
      end
   end
   all.requests = summary.requests
   all.duration_us = summary.duration
   all.bytes = summary.bytes
   all.errors = { connect = summary.errors.connect, read = summary.errors.read,
                  write = summary.errors.write, status = summary.errors.status,
                  timeout = summary.errors.timeout }
   all.latency_us = { p50 = latency:percentile(50), p99 = latency:percentile(99),
                      max = latency.max }
   io.write("SOAK " .. json(all) .. "\n")
end
