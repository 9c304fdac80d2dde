#include "dm/client.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace meshrt {

namespace {

using clock_type = std::chrono::steady_clock;

const char* dm_errc_name(uint8_t code) {
  switch (code) {
    case 1:
      return "reliable_timeout";
    case 2:
      return "message_nil";
    case 3:
      return "nodes_not_found";
    case 4:
      return "user_not_found";
    default:
      return "not_delivered";
  }
}

int millis_left(clock_type::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

/// A push frame as an event, and for a quiet client a failed send's
/// result; nullopt for any other frame.
std::optional<client_event> event_of(client_frame& f, bool quiet) {
  client_event e;
  switch (f.cmd) {
    case client_cmd::send_result:
      if (!quiet || f.code == 0)
        return std::nullopt; // the answer of a send() that gave up waiting
      e.what = client_event::kind::send_failed;
      e.seq = f.seq;
      e.error = {client_errc::not_delivered, f.code, std::move(f.user)};
      return e;
    case client_cmd::message:
      e.what = client_event::kind::message;
      e.ver = f.ver;
      e.cmd = f.dm_cmd;
      break;
    case client_cmd::peer_gone:
      e.what = client_event::kind::peer_gone;
      break;
    case client_cmd::closed:
      e.what = client_event::kind::closed;
      e.message = std::move(f.user);
      return e;
    default:
      return std::nullopt;
  }
  e.from = std::move(f.user);
  e.message.assign(f.message.begin(), f.message.end());
  return e;
}

client_error refused(const client_frame& f) {
  return client_error{client_errc::refused, f.code,
                      std::string{to_string(static_cast<gateway_errc>(f.code))} + ": " + f.user};
}

} // namespace

uint64_t raise_open_files_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  return lim.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(lim.rlim_cur);
}

const char* to_string(client_errc code) {
  switch (code) {
    case client_errc::none:
      return "none";
    case client_errc::connect_failed:
      return "connect_failed";
    case client_errc::closed:
      return "closed";
    case client_errc::timeout:
      return "timeout";
    case client_errc::protocol:
      return "protocol";
    case client_errc::refused:
      return "refused";
    case client_errc::not_delivered:
      return "not_delivered";
    case client_errc::usage:
      return "usage";
  }
  return "unknown";
}

std::string client_error::kind() const {
  if (code == client_errc::not_delivered)
    return dm_errc_name(detail);
  if (code == client_errc::refused)
    return to_string(static_cast<gateway_errc>(detail));
  return to_string(code);
}

dm_client::dm_client(dm_client&& other) noexcept :
  fd_(other.fd_), logged_in_(other.logged_in_), ask_quiet_(other.ask_quiet_), quiet_(other.quiet_),
  next_seq_(other.next_seq_), reader_(std::move(other.reader_)), events_(std::move(other.events_)) {
  other.fd_ = -1;
}

dm_client& dm_client::operator=(dm_client&& other) noexcept {
  if (this != &other) {
    disconnect();
    fd_ = other.fd_;
    logged_in_ = other.logged_in_;
    ask_quiet_ = other.ask_quiet_;
    quiet_ = other.quiet_;
    next_seq_ = other.next_seq_;
    reader_ = std::move(other.reader_);
    events_ = std::move(other.events_);
    other.fd_ = -1;
  }
  return *this;
}

dm_client::~dm_client() {
  disconnect();
}

void dm_client::disconnect() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
  logged_in_ = false;
}

client_error dm_client::fail_closed(const std::string& why) {
  disconnect();
  return client_error{client_errc::closed, 0, why};
}

client_error dm_client::connect(const std::string& host, uint16_t port, millis timeout) {
  disconnect();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    return {client_errc::connect_failed, 0, "not an IPv4 address: " + host};
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return {client_errc::connect_failed, 0, std::string{"socket: "} + std::strerror(errno)};
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  auto fail = [&](const std::string& what) {
    ::close(fd);
    return client_error{client_errc::connect_failed, 0,
                        what + " " + host + ":" + std::to_string(port)};
  };
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS)
      return fail(std::string{"cannot connect ("} + std::strerror(errno) + ") to");
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1)
      return fail("no answer in " + std::to_string(timeout.count()) + " ms from");
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0)
      return fail(std::string{"cannot connect ("} + std::strerror(err) + ") to");
  }
  fd_ = fd;
  reader_ = frame_reader{size_t{16} * 1024 * 1024};
  events_.clear();
  return {};
}

client_error dm_client::write_frame(const client_frame& f, clock_type::time_point deadline) {
  if (fd_ < 0)
    return {client_errc::closed, 0, "not connected"};
  auto bytes = encode(f);
  size_t done = 0;
  while (done < bytes.size()) {
    auto n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // The gateway reads no faster than the node takes the client's sends
      // (clientPendingSendBytes): wait for it, but not past the deadline.
      auto left = millis_left(deadline);
      if (left == 0 && done == 0)
        return {client_errc::timeout, 0,
                "the gateway took nothing of the frame within the timeout"};
      if (left == 0) // the rest of the frame can never follow another one
        return fail_closed("the gateway took only part of a frame within the timeout");
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, left);
      continue;
    }
    return fail_closed(std::string{"the connection broke: "} + std::strerror(errno));
  }
  return {};
}

std::optional<client_frame> dm_client::read_frame(clock_type::time_point deadline,
                                                  client_error& err) {
  uint8_t buf[64 * 1024];
  for (;;) {
    if (auto f = reader_.next())
      return f;
    if (auto e = reader_.error()) {
      err = {client_errc::protocol, static_cast<uint8_t>(*e), reader_.error_text()};
      disconnect();
      return std::nullopt;
    }
    if (fd_ < 0) {
      err = {client_errc::closed, 0, "not connected"};
      return std::nullopt;
    }
    pollfd p{fd_, POLLIN, 0};
    auto ready = ::poll(&p, 1, millis_left(deadline));
    if (ready == 0) {
      err = {client_errc::timeout, 0, "no answer in time"};
      return std::nullopt;
    }
    if (ready < 0 && errno == EINTR)
      continue;
    auto n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      reader_.feed(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
      continue;
    err = fail_closed(n == 0 ? "the gateway closed the connection"
                             : std::string{"the connection broke: "} + std::strerror(errno));
    return std::nullopt;
  }
}

std::optional<client_frame>
dm_client::await_answer(clock_type::time_point deadline,
                        const std::function<bool(const client_frame&)>& is_answer,
                        client_error& err) {
  for (;;) {
    auto f = read_frame(deadline, err);
    if (!f)
      return std::nullopt;
    if (is_answer(*f))
      return f;
    if (f->cmd == client_cmd::error) {
      disconnect();
      err = refused(*f);
      return std::nullopt;
    }
    if (auto e = event_of(*f, quiet_))
      events_.push_back(std::move(*e));
  }
}

client_error dm_client::open(const std::string& host, uint16_t port, const std::string& user,
                             millis retry_for) {
  return open(host, port, user, std::string{}, retry_for);
}

client_error dm_client::open(const std::string& host, uint16_t port, const std::string& user,
                             const std::string& token, millis retry_for) {
  auto deadline = std::chrono::steady_clock::now() + retry_for;
  for (;;) {
    if (auto err = connect(host, port))
      return err;
    auto err = login(user, token);
    if (err.kind() != "login_failed" || std::chrono::steady_clock::now() > deadline)
      return err;
    std::this_thread::sleep_for(millis{100});
  }
}

client_error dm_client::login(const std::string& user, millis timeout) {
  return login(user, std::string{}, timeout);
}

client_error dm_client::login(const std::string& user, const std::string& token, millis timeout) {
  if (logged_in_)
    return {client_errc::usage, 0, "already logged in"};
  client_frame f;
  f.cmd = client_cmd::login;
  quiet_ = ask_quiet_; // what this login asks for holds until the next
  f.flags = quiet_ ? login_quiet : 0;
  f.user = user;
  f.token = token;
  auto deadline = clock_type::now() + timeout;
  if (auto err = write_frame(f, deadline))
    return err;
  client_error err;
  if (await_answer(
        deadline, [](const client_frame& a) { return a.cmd == client_cmd::login_ok; }, err))
    logged_in_ = true;
  return err;
}

client_error dm_client::send(const std::string& to, uint8_t ver, uint16_t cmd,
                             const std::string& message, millis timeout) {
  if (!logged_in_)
    return {client_errc::usage, 0, "send before login"};
  client_frame f;
  f.cmd = client_cmd::send;
  f.seq = next_seq_++;
  f.user = to;
  f.ver = ver;
  f.dm_cmd = cmd;
  f.message.assign(message.begin(), message.end());
  auto deadline = clock_type::now() + timeout;
  if (auto err = write_frame(f, deadline); err || quiet_)
    return err;
  client_error err;
  auto answer = await_answer(
    deadline,
    [&](const client_frame& a) { return a.cmd == client_cmd::send_result && a.seq == f.seq; }, err);
  if (answer && answer->code != 0)
    return {client_errc::not_delivered, answer->code, std::move(answer->user)};
  return err;
}

client_error dm_client::clear(const std::string& peer, uint8_t ver, uint16_t cmd,
                              const std::string& message, millis timeout) {
  if (!logged_in_)
    return {client_errc::usage, 0, "clear before login"};
  client_frame f;
  f.cmd = client_cmd::clear;
  f.user = peer;
  f.ver = ver;
  f.dm_cmd = cmd;
  f.message.assign(message.begin(), message.end());
  return write_frame(f, clock_type::now() + timeout);
}

std::optional<client_event> dm_client::receive(millis timeout, client_error* err) {
  if (!events_.empty()) {
    auto e = std::move(events_.front());
    events_.pop_front();
    return e;
  }
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    client_error why;
    auto f = read_frame(deadline, why);
    if (!f) {
      if (err != nullptr)
        *err = std::move(why);
      return std::nullopt;
    }
    if (f->cmd == client_cmd::error) {
      disconnect();
      if (err != nullptr)
        *err = refused(*f);
      return std::nullopt;
    }
    if (auto e = event_of(*f, quiet_))
      return e;
  }
}

} // namespace meshrt
