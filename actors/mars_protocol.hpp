#pragma once

#include <optional>
#include <string>
#include <variant>

#include "actors/node_record.hpp"
#include "actors/view_delta.hpp"
#include "transport/byte_buffer.hpp"

namespace meshrt {

/// A node's heartbeat to MARS: its record, and the registry incarnation and
/// version its view is at, so that MARS answers with only what is new.
struct mars_announce {
  std::string app;
  node_record record;
  uint64_t epoch = 0;
  uint64_t version = 0;
};

/// A node leaving on purpose (after SIGTERM and draining).
struct mars_leave {
  std::string app;
  std::string mesh_address;
};

/// SetSharedData / RemoveSharedData.
struct mars_shared {
  std::string app;
  std::string key;
  int16_t value = 0;
  bool remove = false;
};

/// Everything that travels between nodes and MARS. MARS answers every
/// announce with a view_delta.
using mars_message = std::variant<mars_announce, mars_leave, mars_shared, view_delta>;

/// msgpack: an array whose first element names the kind.
byte_buffer encode(const mars_message& msg);

/// Decodes one message. Returns nullopt and sets `error` (one line) on any
/// malformed input; never throws.
std::optional<mars_message> decode_mars(const byte_buffer& bytes, std::string& error);

} // namespace meshrt
