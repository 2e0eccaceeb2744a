-- google.api.http `response_body` for Envoy, which supports it only for HttpBody.
--
-- The transcoder writes the whole response message, `{"tasks":[...],"total_size":2}`;
-- grpc-gateway writes only the rule's response_body field, `[...]`, and the frontend
-- reads that. The route of each such method (rendered from the descriptor set) carries
-- `response_body` (the field) and `absent` (the JSON for an omitted field) in its
-- metadata; this filter sits before the transcoder, so on the way out it sees the JSON
-- the transcoder produced and cuts that field's value out of it. The transcoder prints
-- compact JSON, but whitespace between tokens is tolerated anyway.

local function skip_string(s, i)
  -- s:sub(i, i) is the opening quote; returns the index after the closing one.
  local j = i + 1
  while true do
    local p = s:find('["\\]', j)
    if p == nil then return nil end
    if s:sub(p, p) == "\\" then j = p + 2 else return p + 1 end
  end
end

local function skip_value(s, i)
  local c = s:sub(i, i)
  if c == '"' then return skip_string(s, i) end
  if c ~= "{" and c ~= "[" then
    local p = s:find("[,}%]%s]", i)
    return p or (#s + 1)
  end
  local depth, j = 0, i
  while true do
    local p = s:find('[%[%]{}"]', j)
    if p == nil then return nil end
    local t = s:sub(p, p)
    if t == '"' then
      j = skip_string(s, p)
      if j == nil then return nil end
    else
      if t == "{" or t == "[" then depth = depth + 1 else depth = depth - 1 end
      j = p + 1
      if depth == 0 then return j end
    end
  end
end

-- The JSON text of top-level member `field` of the object `s`; nil when the object
-- has no such member, false when `s` is not a JSON object this scanner understands.
local function member(s, field)
  local i = s:find("%S")
  if i == nil or s:sub(i, i) ~= "{" then return false end
  i = s:find("%S", i + 1)
  if i ~= nil and s:sub(i, i) == "}" then return nil end
  while true do
    if i == nil or s:sub(i, i) ~= '"' then return false end
    local key_end = skip_string(s, i)
    if key_end == nil then return false end
    local key = s:sub(i + 1, key_end - 2)
    i = s:find("%S", key_end)
    if i == nil or s:sub(i, i) ~= ":" then return false end
    i = s:find("%S", i + 1)
    if i == nil then return false end
    local stop = skip_value(s, i)
    if stop == nil then return false end
    if key == field then return s:sub(i, stop - 1) end
    i = s:find("%S", stop)
    if i == nil then return false end
    local sep = s:sub(i, i)
    if sep == "}" then return nil end
    if sep ~= "," then return false end
    i = s:find("%S", i + 1)
  end
end

function envoy_on_response(handle)
  -- Read the metadata first: its handle is invalid once body() has waited for data.
  local meta = handle:metadata()
  local field = meta:get("response_body")
  local absent = meta:get("absent") or "null"
  if field == nil or handle:headers():get(":status") ~= "200" then return end
  local content_type = handle:headers():get("content-type") or ""
  if content_type:find("application/json", 1, true) ~= 1 then return end
  local body = handle:body()
  if body == nil then return end
  local text = body:getBytes(0, body:length())
  local value = member(text, field)
  if value == false then
    handle:logWarn("response_body: left a response alone that is not a JSON object")
    return
  end
  body:setBytes(value or absent)
end
