#include "actors/mesh_envelope.hpp"

#include <stdexcept>

#include "transport/byte_codec.hpp"

namespace meshrt {

using writer = transport::byte_writer;
using reader = transport::byte_reader;

std::optional<envelope_kind> kind_of(byte_view message) {
  if (message.empty())
    return std::nullopt;
  return static_cast<envelope_kind>(message[0]);
}

byte_buffer encode_message(uint16_t command, const byte_buffer& payload) {
  writer w{message_header_size + payload.size()};
  w.u8(static_cast<uint8_t>(envelope_kind::message));
  w.u16(command);
  w.bytes(payload);
  return w.take();
}

byte_buffer encode_envelope(const envelope& env) {
  return encode_envelope(env, env.payload);
}

byte_buffer encode_envelope(const envelope& env, const byte_buffer& payload) {
  switch (env.kind) {
    case envelope_kind::message:
      return encode_message(env.command, payload);
    case envelope_kind::request: {
      writer w{request_header_size + payload.size()};
      w.u8(static_cast<uint8_t>(env.kind));
      w.u16(env.command);
      w.u64(env.id);
      w.u32(env.timeout_ms);
      w.bytes(payload);
      return w.take();
    }
    case envelope_kind::response: {
      writer w{response_header_size + payload.size()};
      w.u8(static_cast<uint8_t>(env.kind));
      w.u8(static_cast<uint8_t>(env.status));
      w.u64(env.id);
      w.bytes(payload);
      return w.take();
    }
    case envelope_kind::fanout: {
      if (env.branch.size() > UINT16_MAX)
        throw std::invalid_argument("fan-out branch of more than 65535 nodes");
      size_t size = fanout_fixed_size + env.address.size() + payload.size();
      for (const auto& addr : env.branch)
        size += 1 + addr.size();
      writer w{size};
      w.u8(static_cast<uint8_t>(env.kind));
      w.u16(env.command);
      w.u8(env.reliable ? 1 : 0);
      w.u16(env.limit);
      w.u8(env.hops);
      w.u64(env.id);
      w.str8(env.address, "mesh address");
      w.u16(static_cast<uint16_t>(env.branch.size()));
      for (const auto& addr : env.branch)
        w.str8(addr, "mesh address");
      w.bytes(payload);
      return w.take();
    }
    case envelope_kind::fanout_report: {
      writer w{fanout_report_fixed_size + env.address.size()};
      w.u8(static_cast<uint8_t>(env.kind));
      w.u64(env.id);
      w.str8(env.address, "mesh address");
      return w.take();
    }
    case envelope_kind::mars:
      break; // not an envelope: mars_protocol.hpp encodes MARS records
  }
  throw std::invalid_argument("not a mesh envelope kind");
}

std::optional<envelope> decode_envelope(byte_view bytes, std::string& error) {
  reader r{bytes};
  envelope env;
  auto kind = r.u8();
  if (!r.ok()) {
    error = "empty mesh message";
    return std::nullopt;
  }
  switch (static_cast<envelope_kind>(kind)) {
    case envelope_kind::message:
      env.command = r.u16();
      break;
    case envelope_kind::request:
      env.command = r.u16();
      env.id = r.u64();
      env.timeout_ms = r.u32();
      break;
    case envelope_kind::response: {
      auto status = r.u8();
      if (r.ok() && status > static_cast<uint8_t>(response_status::invalid_data)) {
        error = "response with unknown status " + std::to_string(status);
        return std::nullopt;
      }
      env.status = static_cast<response_status>(status);
      env.id = r.u64();
      break;
    }
    case envelope_kind::fanout: {
      env.command = r.u16();
      auto flags = r.u8();
      env.reliable = (flags & 1) != 0;
      env.limit = r.u16();
      env.hops = r.u8();
      env.id = r.u64();
      env.address = r.str8();
      auto count = r.u16();
      // Each entry takes at least its length byte: a count the message
      // cannot hold is refused before anything is reserved.
      if (r.ok() && count > bytes.size()) {
        error = "fan-out branch of " + std::to_string(count) + " nodes in "
                + std::to_string(bytes.size()) + " bytes";
        return std::nullopt;
      }
      env.branch.reserve(count);
      for (uint16_t i = 0; i < count && r.ok(); ++i)
        env.branch.push_back(r.str8());
      if (r.ok() && env.limit == 0) {
        error = "fan-out with limit 0";
        return std::nullopt;
      }
      break;
    }
    case envelope_kind::fanout_report:
      env.id = r.u64();
      env.address = r.str8();
      if (r.ok() && !r.rest().empty()) {
        error = "fan-out report with trailing bytes";
        return std::nullopt;
      }
      break;
    default:
      error = "unknown mesh message kind " + std::to_string(kind);
      return std::nullopt;
  }
  if (!r.ok()) {
    error = "truncated mesh message (" + std::to_string(bytes.size()) + " bytes)";
    return std::nullopt;
  }
  env.kind = static_cast<envelope_kind>(kind);
  env.payload = r.rest();
  return env;
}

} // namespace meshrt
