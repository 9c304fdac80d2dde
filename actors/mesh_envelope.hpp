#pragma once

// The mesh layer's framing: what one RUDP message between two nodes, or
// between a node and MARS, holds, top to bottom. Integers are little-endian
// (transport/byte_order.hpp, as the packets below); a string is a u8 length
// and its bytes.
//
// The first byte of every message is its kind, so any message says what it
// is whoever sent it; the transport hands a node's responses straight to its
// request correlator by this byte (transport_actor.hpp, route_atom).
//
//   kind 1, message (Send / USend; no answer):
//     u8 kind | u16 command | payload
//   kind 2, request (SendRPC / SendRequest / typed commands):
//     u8 kind | u16 command | u64 request id | u32 timeout ms | payload
//     The timeout tells the answering node how long the caller waits: its
//     handlers get that long and a grace second, then it stops waiting.
//   kind 3, response:
//     u8 kind | u8 status | u64 request id | payload
//     status 0: payload is the handler's answer; otherwise payload is the
//     error text: 1 handler error, 2 no handler, 3 invalid data.
//   kind 4, fan-out (SendMany / USendMany):
//     u8 kind | u16 command | u8 flags | u16 limit | u8 hops | u64 fan-out id
//     | string origin | u16 branch count | branch count strings | payload
//     flags bit 0: reliable. The receiver delivers the payload and forwards
//     the message to at most `limit` nodes of its branch, each with its own
//     share of the rest; `hops` counts the hops from the origin.
//   kind 5, fan-out report (a forwarder could not reach a node):
//     u8 kind | u64 fan-out id | string unreachable address
//   kind 16, MARS record (heartbeats, views, shared data, status):
//     u8 kind | msgpack record (actors/mars_protocol.hpp)
//     A node takes MARS records only from MARS's address.
//
// A message that is truncated, has an unknown kind or status, or carries
// more than it declares where nothing may follow, is refused: the node
// drops it, counts it and logs one line.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "transport/byte_buffer.hpp"
#include "transport/byte_view.hpp"

namespace meshrt {

/// What a mesh message is for: its first byte.
enum class envelope_kind : uint8_t {
  message = 1,
  request = 2,
  response = 3,
  fanout = 4,
  fanout_report = 5,
  /// A MARS record follows (mars_protocol.hpp encodes and decodes it).
  mars = 16,
};

/// The bytes before the payload of each kind with a fixed header.
constexpr size_t message_header_size = 1 + 2;
constexpr size_t request_header_size = 1 + 2 + 8 + 4;
constexpr size_t response_header_size = 1 + 1 + 8;
/// A fan-out's fixed part; its origin and branch strings come on top.
constexpr size_t fanout_fixed_size = 1 + 2 + 1 + 2 + 1 + 8 + 1 + 2;
/// A fan-out report's fixed part; the unreachable address comes on top.
constexpr size_t fanout_report_fixed_size = 1 + 8 + 1;

/// The kind a message declares, its first byte; nullopt for an empty one.
/// Says nothing of whether the rest is well-formed.
std::optional<envelope_kind> kind_of(byte_view message);

/// How a request went, as the answering node reports it.
enum class response_status : uint8_t {
  ok = 0,
  handler_error = 1,
  no_handler = 2,
  invalid_data = 3,
};

/// The command id of the built-in health check (the reference's
/// MeshHealthCheck); applications cannot register a handler for it.
constexpr uint16_t health_check_command = 0xFFFF;

/// A decoded mesh message; which fields mean something depends on `kind`.
struct envelope {
  envelope_kind kind = envelope_kind::message;
  uint16_t command = 0;
  /// request, response: the request id; fanout, fanout_report: the fan-out id.
  uint64_t id = 0;
  /// request: ms the caller waits.
  uint32_t timeout_ms = 0;
  /// response.
  response_status status = response_status::ok;
  /// fanout.
  bool reliable = true;
  uint16_t limit = 0;
  uint8_t hops = 0;
  /// fanout: the node that called SendMany; fanout_report: the address
  /// that could not be reached.
  std::string address;
  /// fanout: the nodes this receiver forwards to.
  std::vector<std::string> branch;
  byte_buffer payload;
};

/// The wire bytes of `env` (only the fields of its kind are written).
byte_buffer encode_envelope(const envelope& env);

/// The wire bytes of `header` followed by `payload`; header.payload is not
/// read. Senders that hold the payload elsewhere copy it once, here.
byte_buffer encode_envelope(const envelope& header, const byte_buffer& payload);

/// A kind 1 message, without building an envelope first.
byte_buffer encode_message(uint16_t command, const byte_buffer& payload);

/// Decodes one mesh message; nullopt if it is malformed (see above), with
/// the reason in `error`.
std::optional<envelope> decode_envelope(byte_view bytes, std::string& error);

} // namespace meshrt
