-- wrk script: a chat client's request mix against the sample app, as logged-in users.
--   40% a conversation's message history    GET  /api/conversations/<id>/messages/
--   20% the unread count                     GET  /api/unread/
--   15% the conversation list                GET  /api/conversations/
--   10% sending a message                    POST /api/conversations/<id>/messages/
--   15% a static file                        GET  /static/chat/app.css
-- Usage: wrk -s mix.lua URL -- USERS_LUA_FILE. done() prints one line starting with EFFECT.

local users
local counter = 0
local threads = {}
statuses = {}
local debug = os.getenv("EFFECT_DEBUG")
local shown = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  users = dofile(args[1])
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

local function cookie(u)
  return "sessionid=" .. u.session .. "; csrftoken=" .. u.csrf
end

function request()
  counter = counter + 1
  local u = users[math.random(#users)]
  local conversation = u.conversations[math.random(#u.conversations)]
  local headers = { ["Accept-Encoding"] = "gzip, deflate", ["Accept"] = "application/json" }
  local roll = math.random(100)
  if roll <= 85 then
    headers["Cookie"] = cookie(u)
  end
  if roll <= 40 then
    return wrk.format("GET", "/api/conversations/" .. conversation .. "/messages/", headers)
  elseif roll <= 60 then
    return wrk.format("GET", "/api/unread/", headers)
  elseif roll <= 75 then
    return wrk.format("GET", "/api/conversations/", headers)
  elseif roll <= 85 then
    headers["Content-Type"] = "application/json"
    headers["X-CSRFToken"] = u.csrf
    return wrk.format("POST", "/api/conversations/" .. conversation .. "/messages/", headers,
      '{"body": "load test message ' .. counter .. '"}')
  else
    headers["Accept"] = "text/css"
    return wrk.format("GET", "/static/chat/app.css", headers)
  end
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if debug and status >= 400 and shown < 3 then
    shown = shown + 1
    io.stderr:write("HTTP " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n")
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do
    table.insert(parts, string.format('"%s": %d', status, count))
  end
  table.sort(parts)
  io.write("STATUSES {" .. table.concat(parts, ", ") .. "}\n")
  local e = summary.errors
  io.write(string.format(
    'EFFECT {"requests": %d, "duration_us": %d, "bytes": %d, "errors_connect": %d, "errors_read": %d, ' ..
    '"errors_write": %d, "errors_status": %d, "errors_timeout": %d, "p50_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
end
