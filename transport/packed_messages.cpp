#include "transport/packed_messages.hpp"

#include <utility>

namespace meshrt {

packed_messages::packed_messages(byte_buffer single) : buffer_(std::move(single)) {
  sizes_.push_back(static_cast<uint32_t>(buffer_.size()));
}

void packed_messages::add(byte_view message) {
  buffer_.insert(buffer_.end(), message.begin(), message.end());
  sizes_.push_back(static_cast<uint32_t>(message.size()));
}

void packed_messages::reserve(size_t messages, size_t bytes) {
  sizes_.reserve(messages);
  buffer_.reserve(bytes);
}

std::vector<byte_buffer> packed_messages::unpack() const {
  std::vector<byte_buffer> result;
  result.reserve(size());
  for (auto message : views())
    result.push_back(message.to_buffer());
  return result;
}

} // namespace meshrt
