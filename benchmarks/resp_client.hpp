#pragma once

// A minimal Redis client for the store benchmark's baseline: RESP2 over one
// TCP connection, pipelined, blocking, bounded by a receive timeout.

#include <cstdint>
#include <string>
#include <vector>

namespace meshrt::bench {

/// One reply: a status, an error, an integer, a bulk string or nil.
struct resp_reply {
  enum class kind { status, error, integer, bulk, nil, array } what = kind::nil;
  std::string text;
  int64_t number = 0;
};

class resp_client {
public:
  /// Connects to 127.0.0.1:`port`; throws std::runtime_error if it cannot.
  explicit resp_client(uint16_t port);
  ~resp_client();

  resp_client(const resp_client&) = delete;
  resp_client& operator=(const resp_client&) = delete;

  /// Queues one command (sent by flush or read).
  void queue(const std::vector<std::string>& args);

  /// Sends what is queued.
  void flush();

  /// Sends what is queued and reads one reply; throws std::runtime_error on
  /// a closed connection, a timeout or a reply it does not parse.
  resp_reply read();

  /// Whether a reply has arrived beyond the ones read (no read() blocks).
  bool buffered() const {
    return pos_ < in_.size();
  }

  /// queue + read.
  resp_reply call(const std::vector<std::string>& args);

private:
  bool fill();
  std::string line();

  int fd_ = -1;
  std::string out_;
  std::string in_;
  size_t pos_ = 0;
};

} // namespace meshrt::bench
