#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "transport/byte_buffer.hpp"
#include "transport/byte_view.hpp"

namespace meshrt {

/// Several messages back to back in one buffer, with each one's size: one
/// allocation for a burst instead of one per message. Peer links deliver
/// what arrived in this form, and it is the cheapest form to send many small
/// messages in. views() yields a byte_view per message, in order.
class packed_messages {
public:
  packed_messages() = default;

  /// Adopts a buffer holding exactly one message (no copy).
  explicit packed_messages(byte_buffer single);

  /// Appends a copy of one message.
  void add(byte_view message);

  /// Room for `messages` messages of `bytes` bytes in all.
  void reserve(size_t messages, size_t bytes);

  /// How many messages.
  size_t size() const {
    return sizes_.size();
  }
  bool empty() const {
    return sizes_.empty();
  }

  /// All messages' bytes together.
  size_t bytes() const {
    return buffer_.size();
  }

  /// Copies every message into a buffer of its own.
  std::vector<byte_buffer> unpack() const;

  /// Walks the messages in order, a byte_view each.
  class const_iterator {
  public:
    const_iterator(const packed_messages* owner, size_t index, size_t offset) :
      owner_(owner), index_(index), offset_(offset) {}
    byte_view operator*() const {
      return {owner_->buffer_.data() + offset_, owner_->sizes_[index_]};
    }
    const_iterator& operator++() {
      offset_ += owner_->sizes_[index_++];
      return *this;
    }
    bool operator==(const const_iterator& other) const {
      return index_ == other.index_;
    }
    bool operator!=(const const_iterator& other) const {
      return index_ != other.index_;
    }

  private:
    const packed_messages* owner_;
    size_t index_;
    size_t offset_;
  };

  /// The messages as a range: `for (byte_view m : batch.views())`. (No
  /// begin()/end() on the class itself: CAF would take it for a container
  /// and not use inspect().)
  struct view_range {
    const packed_messages* owner;
    const_iterator begin() const {
      return {owner, 0, 0};
    }
    const_iterator end() const {
      return {owner, owner->sizes_.size(), owner->buffer_.size()};
    }
  };

  view_range views() const {
    return {this};
  }

  template<class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, packed_messages& x) {
    return f(caf::meta::type_name("packed_messages"), x.buffer_, x.sizes_);
  }

private:
  byte_buffer buffer_;
  std::vector<uint32_t> sizes_;
};

} // namespace meshrt
