#include "broker/stream_sequencing.hpp"

#include <openssl/sha.h>

#include "auth/encoding.hpp"

namespace peercable::broker {
namespace {

constexpr const char* kSequenceScript = R"lua(
local meta, log, index = KEYS[1], KEYS[2], KEYS[3]
local payload, stream, ns = ARGV[1], ARGV[7], ARGV[10]
local rails = ARGV[9] == ''
if rails then
  local holder = redis.call('GET', KEYS[4])
  if holder and holder ~= ARGV[11] then return 0 end
  redis.call('SET', KEYS[4], ARGV[11], 'PX', ARGV[12])
end
redis.call('HSETNX', meta, 'epoch', ARGV[2])
local epoch = redis.call('HGET', meta, 'epoch')
local offset = redis.call('HINCRBY', meta, 'offset', 1)
local now = redis.call('TIME')
redis.call('XADD', log, 'MAXLEN', ARGV[3], offset .. '-0', 't', now[1], 'd', payload)
redis.call('PEXPIRE', log, ARGV[4])
redis.call('PEXPIRE', meta, ARGV[5])
if redis.call('ZADD', index, now[1] + now[2] / 1000000, stream) == 1 then
  local extra = redis.call('ZCARD', index) - tonumber(ARGV[6])
  if extra > 0 then
    for _, old in ipairs(redis.call('ZRANGE', index, 0, extra)) do
      if extra > 0 and old ~= stream then
        redis.call('DEL', ns .. 'm:' .. old, ns .. 'l:' .. old, ns .. 'r:' .. old)
        redis.call('ZREM', index, old)
        extra = extra - 1
      end
    end
  end
end
redis.call('PEXPIRE', index, ARGV[5])
if rails then
  redis.call('PUBLISH', ARGV[8], '~r\n' .. epoch .. '\n' .. offset .. '\n' .. payload)
else
  redis.call('PUBLISH', ARGV[8], epoch .. '\n' .. offset .. '\n' .. payload)
  redis.call('PUBLISH', ARGV[9], payload)
end
return offset
)lua";

// KEYS: lease. ARGV: node. Gives the lease up if this node holds it.
constexpr const char* kReleaseScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
)lua";

// KEYS: meta, mark. ARGV: unix time, ttl ms, "always" | "if-sequenced".
constexpr const char* kMarkScript = R"lua(
local head = redis.call('HGET', KEYS[1], 'offset')
if not head then
  if ARGV[3] ~= 'always' then return 0 end
  head = '0'
end
redis.call('SET', KEYS[2], ARGV[1] .. ' ' .. head, 'PX', ARGV[2])
return 1
)lua";

}  // namespace

std::string_view mark_script() {
  return kMarkScript;
}

std::string_view release_lease_script() {
  return kReleaseScript;
}

std::string_view sequence_script() {
  return kSequenceScript;
}

std::string sequence_script_sha() {
  std::string_view text = kSequenceScript;
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), md);
  return auth::hex_encode(std::string_view(reinterpret_cast<const char*>(md), sizeof md));
}

bool TwinFilter::is_twin(std::string_view stream) {
  bool twin = !expected_.empty() && expected_ == stream;
  expected_.clear();
  return twin;
}

}  // namespace peercable::broker
