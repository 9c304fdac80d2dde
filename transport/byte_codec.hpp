#pragma once

// Writing and reading the integers and strings of a wire format in
// meshrt's byte order (byte_order.hpp). The mesh envelopes
// (actors/mesh_envelope.hpp) and the store's messages (dm/store_wire.hpp)
// are written and read with these.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "transport/byte_buffer.hpp"
#include "transport/byte_order.hpp"
#include "transport/byte_view.hpp"

namespace meshrt::transport {

/// Appends to a buffer it owns.
class byte_writer {
public:
  explicit byte_writer(size_t reserve = 0) {
    out_.reserve(reserve);
  }

  void u8(uint8_t x) {
    out_.push_back(x);
  }
  void u16(uint16_t x) {
    store16(grow(2), x);
  }
  void u32(uint32_t x) {
    store32(grow(4), x);
  }
  void u64(uint64_t x) {
    store64(grow(8), x);
  }
  /// A string with a u8 length; throws std::invalid_argument over 255
  /// bytes, naming `what`.
  void str8(std::string_view s, const char* what = "string") {
    if (s.size() > UINT8_MAX)
      throw std::invalid_argument(std::string{what}
                                  + " longer than 255 bytes: " + std::string{s.substr(0, 64)});
    u8(static_cast<uint8_t>(s.size()));
    raw(s);
  }
  /// A string with a u16 length (callers check the size).
  void str16(std::string_view s) {
    u16(static_cast<uint16_t>(s.size()));
    raw(s);
  }
  /// A string with a u32 length.
  void str32(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    raw(s);
  }
  void bytes(byte_view b) {
    out_.insert(out_.end(), b.begin(), b.end());
  }
  /// Bytes with a u32 length.
  void blob32(byte_view b) {
    u32(static_cast<uint32_t>(b.size()));
    bytes(b);
  }
  size_t size() const {
    return out_.size();
  }
  byte_buffer take() {
    return std::move(out_);
  }

private:
  void raw(std::string_view s) {
    out_.insert(out_.end(), s.begin(), s.end());
  }
  uint8_t* grow(size_t n) {
    out_.resize(out_.size() + n);
    return out_.data() + out_.size() - n;
  }

  byte_buffer out_;
};

/// Bounds-checked reads; the first read past the end marks the reader bad
/// and every later read returns zero or empty.
class byte_reader {
public:
  explicit byte_reader(byte_view in) : in_(in) {}

  bool ok() const {
    return ok_;
  }
  /// Whether every byte was read.
  bool at_end() const {
    return pos_ == in_.size();
  }
  uint8_t u8() {
    return room(1) ? in_[pos_++] : 0;
  }
  uint16_t u16() {
    return room(2) ? load16(take(2)) : 0;
  }
  uint32_t u32() {
    return room(4) ? load32(take(4)) : 0;
  }
  uint64_t u64() {
    return room(8) ? load64(take(8)) : 0;
  }
  std::string str8() {
    return str(u8());
  }
  std::string str16() {
    return str(u16());
  }
  std::string str32() {
    return str(u32());
  }
  /// Bytes with a u32 length (blob32).
  byte_buffer blob32() {
    auto n = u32();
    if (!room(n))
      return {};
    auto p = take(n);
    return byte_buffer(p, p + n);
  }
  /// Everything not read yet.
  byte_buffer rest() {
    byte_buffer b(in_.begin() + static_cast<ptrdiff_t>(pos_), in_.end());
    pos_ = in_.size();
    return b;
  }

private:
  std::string str(size_t n) {
    if (!room(n))
      return {};
    std::string s(reinterpret_cast<const char*>(take(n)), n);
    return s;
  }
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

} // namespace meshrt::transport
