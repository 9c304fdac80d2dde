#pragma once

#include <memory>
#include <vector>

namespace meshrt {

/// Frames for clients that a thread writes while a batch is open on it
/// wait and leave when it closes: one send per connection for all of them,
/// where each frame took a send (a system call, and on loopback the
/// client's side of TCP too) of its own. The DM service opens one around
/// each batch of datagrams it takes, which can hold many messages for one
/// recipient or many answers for one sender. A lone frame leaves at the
/// batch's end, a moment later than it would have. A batch opened inside
/// another ends the frames written while it is open.
class client_write_batch {
public:
  /// A connection whose frames wait for the batch's end.
  class writer {
  public:
    virtual ~writer() = default;

    /// The batch closed: write what waits.
    virtual void end_batch() = 0;
  };

  client_write_batch();
  ~client_write_batch();

  client_write_batch(const client_write_batch&) = delete;
  client_write_batch& operator=(const client_write_batch&) = delete;

  /// The batch open on the calling thread, or null.
  static client_write_batch* current();

  /// `w` holds frames for the batch's end (once per batch).
  void add(std::shared_ptr<writer> w) {
    writers_.push_back(std::move(w));
  }

private:
  std::vector<std::shared_ptr<writer>> writers_;
  client_write_batch* outer_;
};

} // namespace meshrt
