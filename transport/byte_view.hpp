#pragma once

#include <cstddef>
#include <cstdint>

#include "transport/byte_buffer.hpp"

namespace meshrt {

/// The bytes of one message without owning them: a buffer's, or one entry
/// of packed_messages. Valid while what it points into lives.
class byte_view {
public:
  byte_view() = default;
  byte_view(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  /// Views a whole buffer (implicit: a byte_buffer goes wherever a view does).
  byte_view(const byte_buffer& buffer) : data_(buffer.data()), size_(buffer.size()) {}

  const uint8_t* data() const {
    return data_;
  }
  size_t size() const {
    return size_;
  }
  bool empty() const {
    return size_ == 0;
  }
  const uint8_t* begin() const {
    return data_;
  }
  const uint8_t* end() const {
    return data_ + size_;
  }
  uint8_t operator[](size_t i) const {
    return data_[i];
  }

  /// A copy that owns its bytes.
  byte_buffer to_buffer() const {
    return {data_, data_ + size_};
  }

private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

} // namespace meshrt
