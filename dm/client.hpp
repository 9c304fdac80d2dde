#pragma once

// A client of a node's client gateway (dm/client_gateway.hpp): what a game
// client or a test tool links to send and receive direct messages. Plain
// C++ and POSIX sockets, without CAF; blocking calls, each with a timeout.
// One client is one user's connection; use it from one thread.
//
//   meshrt::dm_client c;
//   if (auto err = c.connect("127.0.0.1", 7000); err) { ... err.text ... }
//   c.login("ann", token);                     // token: from the app's auth server
//   c.send("bob", 1, 7, "hello");              // waits for the send result
//   while (auto ev = c.receive(std::chrono::seconds{1})) { ... }

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>

#include "dm/client_protocol.hpp"

namespace meshrt {

/// Raises this process's open-files limit (RLIMIT_NOFILE) to its hard
/// limit, for processes that hold many connections (a gateway, a load
/// test); returns the soft limit now in force.
uint64_t raise_open_files_limit();

/// Why a client call failed.
enum class client_errc : uint8_t {
  none = 0,
  /// The TCP connection could not be made.
  connect_failed,
  /// The connection is closed (by the gateway, the network, or disconnect()).
  closed,
  /// No answer within the call's timeout.
  timeout,
  /// The gateway sent something this client does not understand.
  protocol,
  /// The gateway refused a frame with an error frame (`detail`: the
  /// gateway_errc) and closed the connection.
  refused,
  /// The message was not delivered (`detail`: the dm_errc: 1
  /// reliable_timeout, 2 message_nil, 3 nodes_not_found, 4 user_not_found).
  not_delivered,
  /// A call out of order (send before login, a second login).
  usage,
};

/// "none", "connect_failed", ...
const char* to_string(client_errc code);

/// A call's outcome: false when it succeeded.
struct client_error {
  client_errc code = client_errc::none;
  /// refused: a gateway_errc; not_delivered: a dm_errc.
  uint8_t detail = 0;
  std::string text;

  explicit operator bool() const {
    return code != client_errc::none;
  }

  /// The kind as one word: the dm_errc or gateway_errc name where there is
  /// one ("user_not_found", "bad_user_id"), else to_string(code).
  std::string kind() const;
};

/// What a client receives.
struct client_event {
  enum class kind : uint8_t {
    /// A direct message: from, ver, cmd, message.
    message,
    /// A peer disconnected: from is the peer, message its disconnect message.
    peer_gone,
    /// The session ended from the gateway's side (the user logged in again
    /// on that node): message holds why.
    closed,
    /// A send of a quiet client (set_quiet) failed: seq is the send's
    /// (last_seq() after it), error says why (not_delivered).
    send_failed,
  };
  kind what = kind::message;
  std::string from;
  uint8_t ver = 0;
  uint16_t cmd = 0;
  std::string message;
  uint32_t seq = 0;
  client_error error;
};

class dm_client {
public:
  using millis = std::chrono::milliseconds;

  dm_client() = default;
  dm_client(const dm_client&) = delete;
  dm_client& operator=(const dm_client&) = delete;
  dm_client(dm_client&& other) noexcept;
  dm_client& operator=(dm_client&& other) noexcept;
  ~dm_client();

  /// Connects to a gateway at an IPv4 address and port.
  client_error connect(const std::string& host, uint16_t port, millis timeout = millis{3000});

  /// Logs in as `user` (1 to 256 bytes) and waits for the gateway's answer.
  client_error login(const std::string& user, millis timeout = millis{5000});

  /// The same with a login token (dm/login_token.hpp), which a gateway with
  /// clientTokenKeyFile requires: refused with bad_token otherwise.
  client_error login(const std::string& user, const std::string& token,
                     millis timeout = millis{5000});

  /// connect() and login(), the login tried again (after a new connect)
  /// while the gateway answers login_failed, for up to `retry_for`: a node
  /// that has just started may not see a storage node yet.
  client_error open(const std::string& host, uint16_t port, const std::string& user,
                    millis retry_for = millis{5000});

  /// open() with a login token.
  client_error open(const std::string& host, uint16_t port, const std::string& user,
                    const std::string& token, millis retry_for = millis{5000});

  /// Asks for quiet sends at the next login (login_quiet): send() then
  /// returns once its frame is written, and only a send that fails is
  /// answered, as a send_failed event from receive(). For clients that do
  /// not wait for each message, as NATS's verbose:false.
  void set_quiet(bool quiet) {
    ask_quiet_ = quiet;
  }

  /// The seq of the last send(), which a send_failed event names.
  uint32_t last_seq() const {
    return next_seq_ - 1;
  }

  /// SendMessageByUserID: waits for the result (the gateway answers within
  /// 5 s); what arrives meanwhile is kept for receive(). Quiet: returns once
  /// the frame is written. A gateway that takes no more of this client's
  /// frames for now (its sends on their way weigh clientPendingSendBytes)
  /// is waited for, within `timeout`: a frame it took nothing of is a
  /// `timeout` (not sent), one cut short closes the connection.
  client_error send(const std::string& to, uint8_t ver, uint16_t cmd, const std::string& message,
                    millis timeout = millis{10000});

  /// ClearCacheByUserID (no answer); its frame written within `timeout`,
  /// as a send's.
  client_error clear(const std::string& peer, uint8_t ver, uint16_t cmd, const std::string& message,
                     millis timeout = millis{10000});

  /// The next event, waiting up to `timeout`; nullopt with `err` set to
  /// timeout or closed (or a protocol error) when there is none.
  std::optional<client_event> receive(millis timeout, client_error* err = nullptr);

  /// Closes the connection (the user disconnects).
  void disconnect();

  bool connected() const {
    return fd_ >= 0;
  }

private:
  /// Writes `f` whole, waiting for the socket until `deadline`.
  client_error write_frame(const client_frame& f, std::chrono::steady_clock::time_point deadline);
  /// The next frame, read as it arrives until the deadline; nullopt with
  /// `err` set when none came or the connection ended.
  std::optional<client_frame> read_frame(std::chrono::steady_clock::time_point deadline,
                                         client_error& err);
  /// Reads until a frame `is_answer` takes; pushes that come first are
  /// kept for receive(), an error frame closes the connection.
  std::optional<client_frame>
  await_answer(std::chrono::steady_clock::time_point deadline,
               const std::function<bool(const client_frame&)>& is_answer, client_error& err);
  client_error fail_closed(const std::string& why);

  int fd_ = -1;
  bool logged_in_ = false;
  bool ask_quiet_ = false; // set_quiet(): for the next login
  bool quiet_ = false;     // the login in effect asked for quiet sends
  uint32_t next_seq_ = 1;
  frame_reader reader_{size_t{16} * 1024 * 1024};
  std::deque<client_event> events_;
};

} // namespace meshrt
