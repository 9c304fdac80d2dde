#pragma once

// Raw bytes to a client gateway, as a broken or hostile client sends them:
// what the gateway's tests and the bad-input tour share.

#include <optional>
#include <string>
#include <vector>

#include "dm/client_protocol.hpp"

namespace meshrt::test {

/// A client's connection to the gateway at 127.0.0.1:`port`, byte by byte.
class raw_connection {
public:
  explicit raw_connection(uint16_t port);
  ~raw_connection();
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  void write(const byte_buffer& bytes);

  /// The frames that arrive within `wait_ms` (fewer if the gateway closes
  /// the connection: then `closed()`).
  std::vector<client_frame> read(int wait_ms);

  bool closed() const {
    return closed_;
  }

private:
  int fd_ = -1;
  bool closed_ = false;
  frame_reader reader_{1 << 20};
};

/// Writes `bytes` on a fresh connection to the gateway at 127.0.0.1:`port`
/// and reads what comes back until the gateway closes it (or `wait_ms`
/// pass): the first frame, decoded. `closed` says whether the gateway
/// closed the connection.
std::optional<client_frame> raw_exchange(uint16_t port, const byte_buffer& bytes, bool& closed,
                                         int wait_ms = 3000);

/// A frame of `cmd` for `user` with sequence number `seq` and message "hi".
byte_buffer frame_bytes(client_cmd cmd, std::string user, uint32_t seq = 0);

} // namespace meshrt::test
