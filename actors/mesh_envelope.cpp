#include "actors/mesh_envelope.hpp"

#include <stdexcept>

#include "transport/byte_order.hpp"

namespace meshrt {

namespace {

class writer {
public:
  explicit writer(size_t reserve) {
    out_.reserve(reserve);
  }

  void u8(uint8_t x) {
    out_.push_back(x);
  }
  void u16(uint16_t x) {
    transport::store16(grow(2), x);
  }
  void u32(uint32_t x) {
    transport::store32(grow(4), x);
  }
  void u64(uint64_t x) {
    transport::store64(grow(8), x);
  }
  void str(const std::string& s) {
    if (s.size() > UINT8_MAX)
      throw std::invalid_argument("mesh address longer than 255 bytes: " + s.substr(0, 64));
    u8(static_cast<uint8_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void bytes(const byte_buffer& b) {
    out_.insert(out_.end(), b.begin(), b.end());
  }
  byte_buffer take() {
    return std::move(out_);
  }

private:
  uint8_t* grow(size_t n) {
    out_.resize(out_.size() + n);
    return out_.data() + out_.size() - n;
  }

  byte_buffer out_;
};

/// Bounds-checked reads; the first read past the end marks the reader bad
/// and every later read returns zero.
class reader {
public:
  explicit reader(byte_view in) : in_(in) {}

  bool ok() const {
    return ok_;
  }
  uint8_t u8() {
    return room(1) ? in_[pos_++] : 0;
  }
  uint16_t u16() {
    return room(2) ? transport::load16(take(2)) : 0;
  }
  uint32_t u32() {
    return room(4) ? transport::load32(take(4)) : 0;
  }
  uint64_t u64() {
    return room(8) ? transport::load64(take(8)) : 0;
  }
  std::string str() {
    auto n = u8();
    if (!room(n))
      return {};
    std::string s(in_.begin() + static_cast<ptrdiff_t>(pos_),
                  in_.begin() + static_cast<ptrdiff_t>(pos_ + n));
    pos_ += n;
    return s;
  }
  byte_buffer rest() {
    byte_buffer b(in_.begin() + static_cast<ptrdiff_t>(pos_), in_.end());
    pos_ = in_.size();
    return b;
  }

private:
  bool room(size_t n) {
    if (ok_ && in_.size() - pos_ >= n)
      return true;
    ok_ = false;
    return false;
  }
  const uint8_t* take(size_t n) {
    const uint8_t* p = in_.data() + pos_;
    pos_ += n;
    return p;
  }

  byte_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

} // namespace

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
      w.str(env.address);
      w.u16(static_cast<uint16_t>(env.branch.size()));
      for (const auto& addr : env.branch)
        w.str(addr);
      w.bytes(payload);
      return w.take();
    }
    case envelope_kind::fanout_report: {
      writer w{fanout_report_fixed_size + env.address.size()};
      w.u8(static_cast<uint8_t>(env.kind));
      w.u64(env.id);
      w.str(env.address);
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
      env.address = r.str();
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
        env.branch.push_back(r.str());
      if (r.ok() && env.limit == 0) {
        error = "fan-out with limit 0";
        return std::nullopt;
      }
      break;
    }
    case envelope_kind::fanout_report:
      env.id = r.u64();
      env.address = r.str();
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
