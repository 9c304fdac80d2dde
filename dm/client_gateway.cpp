#include "dm/client_gateway.hpp"

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include <asio.hpp>
#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "dm/client.hpp"
#include "dm/client_protocol.hpp"
#include "dm/client_write_batch.hpp"
#include "dm/dm_atoms.hpp"
#include "dm/dm_error.hpp"
#include "dm/dm_wire.hpp"
#include "dm/login_token.hpp"
#include "dm/user_sink.hpp"
#include "transport/io_poller.hpp"
#include "transport/io_scheduler.hpp"
#include "transport/logger.hpp"

namespace meshrt {

namespace {

using gw_login_atom = caf::atom_constant<caf::atom("gwlogin")>;

using asio::ip::tcp;

/// How long a client's send may take, lookup and delivery together.
constexpr std::chrono::seconds send_timeout{5};
/// How long a closing connection has to write its last frame.
constexpr std::chrono::milliseconds linger{200};
/// The most one connection reads before the others get their turn.
constexpr size_t read_burst = size_t{64} * 1024;
/// A connection's frame buffer above this size is given back once empty
/// (an idle user keeps none of a large frame's memory).
constexpr size_t keep_buffer = 1024;
/// What a client's send or clear weighs toward clientPendingSendBytes:
/// its peer's id and message (`bytes`) and, roughly, what a node keeps of
/// it beside them.
constexpr size_t weight_of(size_t bytes) {
  return bytes + 128;
}
/// Open files the node keeps for itself beside its clients' sockets.
constexpr uint64_t own_files = 256;
/// Ports tried from the configured one upward.
constexpr uint16_t port_scan = 100;
/// After a failed accept (out of file descriptors), the listener waits
/// this long before it accepts again.
constexpr std::chrono::milliseconds accept_backoff{50};
/// A failed accept is logged at most once per this (a descriptor shortage
/// fails every accept).
constexpr std::chrono::seconds accept_warn_every{10};

const std::shared_ptr<spdlog::logger>& log() {
  static auto result = logger("gateway");
  return result;
}

class client_connection;

/// The gateway's TCP side: an asio io_context with the listener and every
/// client connection, run by one thread: the actor system's worker when it
/// is an I/O scheduler's (`shared`), else a thread of the gateway's own.
/// Connections live in that thread; sessions reach them through post().
class gateway_core : public std::enable_shared_from_this<gateway_core> {
public:
  gateway_core(client_gateway_config cfg, transport::io_poller* shared) :
    cfg_(std::move(cfg)), shared_(shared),
    own_io_(shared ? nullptr : std::make_unique<asio::io_context>(1)),
    io_(shared ? shared->context() : *own_io_), acceptor_(io_), retry_(io_), read_buf_(read_burst) {
    if (own_io_)
      guard_.emplace(asio::make_work_guard(io_));
  }

  ~gateway_core() {
    if (own_io_)
      stop();
  }

  gateway_core(const gateway_core&) = delete;
  gateway_core& operator=(const gateway_core&) = delete;

  /// Binds the listener (the configured port or one of the next ones); 0
  /// if none is free.
  uint16_t listen() {
    asio::error_code ec;
    auto address = asio::ip::make_address(cfg_.address, ec);
    if (ec)
      return 0;
    for (uint32_t p = cfg_.port; p <= 65535u && p < uint32_t{cfg_.port} + port_scan; ++p) {
      tcp::endpoint at{address, static_cast<uint16_t>(p)};
      acceptor_.open(at.protocol(), ec);
      // The gateway closes first when it refuses a client: its port is
      // then in TIME_WAIT for a while, which must not keep a restarted
      // node from listening on it again.
      if (!ec)
        acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec)
        acceptor_.bind(at, ec);
      if (!ec)
        acceptor_.listen(asio::socket_base::max_listen_connections, ec);
      if (!ec) {
        port_ = acceptor_.local_endpoint().port();
        return port_;
      }
      acceptor_.close();
      if (cfg_.port == 0)
        break;
    }
    return 0;
  }

  /// Starts accepting; logins go to `front`, the gateway's actor.
  void start(caf::actor front) {
    front_ = std::move(front);
    if (shared_) {
      asio::post(io_, [self = shared_from_this()] { self->accept(); });
      return;
    }
    accept();
    thread_ = std::thread{[this] { io_.run(); }};
  }

  /// Closes the listener and every connection; with a thread of its own,
  /// waits for it. Nothing is posted afterwards.
  void stop() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (stopped_)
        return;
      stopped_ = true;
    }
    if (shared_) {
      // The worker runs the connections: close them there, and drop the
      // actor's handle there (on_frame reads it).
      auto close = [self = shared_from_this()] {
        self->close_all();
        self->front_ = nullptr;
      };
      if (shared_->in_polling_thread())
        close();
      else
        asio::post(io_, std::move(close));
      return;
    }
    asio::post(io_, [this] { close_all(); });
    guard_.reset();
    if (thread_.joinable())
      thread_.join();
    front_ = nullptr;
  }

  /// Runs `f` in the gateway's thread; false once the gateway stopped.
  template<class F>
  bool post(F&& f) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopped_)
      return false;
    asio::post(io_, std::forward<F>(f));
    return true;
  }

  const client_gateway_config& config() const {
    return cfg_;
  }

  /// The gateway's actor. It owns this core and this core holds it, until
  /// it ends (with the DM service) and stops the core: a gateway runs as
  /// long as its node, whoever holds its handle.
  const caf::actor& front() const {
    return front_;
  }

  /// A buffer for reads, shared by the connections (one thread reads).
  std::vector<char>& read_buffer() {
    return read_buf_;
  }

  // -- counters (any thread) -------------------------------------------------------

  void count_login() {
    ++logins_;
  }

  void count_send() {
    ++sends_;
  }

  /// A frame for a client was taken to be written.
  void count_frame_out() {
    ++frames_out_;
  }

  /// A write to a client's socket (a `send`, or an Asio write of what
  /// waited): with frames_out, how well frames share writes.
  void count_write() {
    ++writes_;
  }

  /// A connection stopped reading (+1) or went on (-1).
  void count_pause(int change) {
    if (change > 0)
      ++read_pauses_;
    paused_ += change;
  }

  /// A connection at the clientMaxConnections limit: the oldest connection
  /// that has not logged in makes room for it (a flood of silent sockets
  /// never locks users out); false if every open one is a user's.
  bool make_room();

  /// Forgets arrivals that logged in or closed, once they outnumber the
  /// open connections (a long-running gateway keeps no history).
  void prune_arrivals();

  /// A connection closed for `reason`; it leaves the gateway's set.
  void closed(const std::shared_ptr<client_connection>& c, const std::string& reason) {
    conns_.erase(c);
    --open_;
    std::lock_guard<std::mutex> guard{mtx_};
    ++closed_[reason];
  }

  std::string stats_json() {
    std::lock_guard<std::mutex> guard{mtx_};
    return nlohmann::json{{"port", port_},
                          {"accepted", accepted_.load()},
                          {"open", open_.load()},
                          {"logins", logins_.load()},
                          {"sends", sends_.load()},
                          {"frames_out", frames_out_.load()},
                          {"writes", writes_.load()},
                          {"read_pauses", read_pauses_.load()},
                          {"paused", paused_.load()},
                          {"closed", closed_}}
      .dump();
  }

private:
  void accept();
  void close_all();

  client_gateway_config cfg_;
  transport::io_poller* shared_;
  std::unique_ptr<asio::io_context> own_io_;
  asio::io_context& io_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
  caf::actor front_;
  uint16_t port_ = 0;
  std::vector<char> read_buf_;
  /// Open connections (the gateway's thread only).
  std::unordered_set<std::shared_ptr<client_connection>> conns_;
  /// Connections in the order accepted, for make_room (the gateway's
  /// thread only); those that logged in or closed are skipped and pruned.
  std::deque<std::weak_ptr<client_connection>> arrivals_;
  std::chrono::steady_clock::time_point accept_warned_{};
  uint64_t accept_failures_ = 0;
  std::mutex mtx_; // stopped_, closed_
  bool stopped_ = false;
  std::map<std::string, uint64_t> closed_;
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> open_{0};
  std::atomic<uint64_t> logins_{0};
  std::atomic<uint64_t> sends_{0};
  std::atomic<uint64_t> frames_out_{0};
  std::atomic<uint64_t> writes_{0};
  std::atomic<uint64_t> read_pauses_{0};
  std::atomic<int64_t> paused_{0}; // connections that read nothing now
};

/// One client's connection: frames in, frames out, and the user's sink.
/// Everything but the user_sink calls and end_batch() runs in the
/// gateway's thread.
class client_connection final : public user_sink,
                                public client_write_batch::writer,
                                public std::enable_shared_from_this<client_connection> {
public:
  client_connection(std::shared_ptr<gateway_core> gw, tcp::socket socket) :
    gw_(std::move(gw)), socket_(std::move(socket)), reader_(gw_->config().max_frame_size),
    fd_(socket_.native_handle()) {}

  void start() {
    asio::error_code ec;
    socket_.non_blocking(true, ec);
    socket_.set_option(tcp::no_delay(true), ec);
    arm_read();
    // a client that connects and does not log in is closed in time
    timer_
      = std::make_unique<asio::steady_timer>(socket_.get_executor(), gw_->config().login_timeout);
    timer_->async_wait([self = shared_from_this()](asio::error_code ec) {
      if (!ec && !self->closing_ && !self->session_ && !self->logging_in_)
        self->refuse(gateway_errc::login_timeout,
                     "no login within " + std::to_string(self->gw_->config().login_timeout.count())
                       + " ms (clientLoginTimeout)");
    });
  }

  /// Connected, not logged in, not logging in, not closing.
  bool silent() const {
    return !closing_ && !session_ && !logging_in_;
  }

  /// Closed with an error frame to make room, or refused for want of it.
  void crowded_out(const std::string& text) {
    refuse(gateway_errc::too_many_connections, text);
  }

  /// The gateway stops: close at once, without a word to the session (the
  /// DM service ends the sessions itself).
  void abort() {
    session_ = nullptr;
    closing_ = true;
    finish();
  }

  void logged_in(caf::actor session) {
    logging_in_ = false;
    if (closing_) { // the client left while it logged in
      caf::anon_send(session, dm_disconnect_atom::value);
      return;
    }
    session_ = std::move(session);
    timer_.reset(); // cancels the login timeout
    gw_->count_login();
    client_frame ok;
    ok.cmd = client_cmd::login_ok;
    write_frame(ok);
  }

  void login_failed(const std::string& text) {
    logging_in_ = false;
    refuse(gateway_errc::login_failed, text);
  }

  // -- user_sink: called in the DM service's thread ---------------------------------

  void message(const std::string& from, uint8_t ver, uint16_t cmd, byte_buffer message) override {
    client_frame f;
    f.cmd = client_cmd::message;
    f.user = from;
    f.ver = ver;
    f.dm_cmd = cmd;
    f.message = std::move(message);
    push(encode(f));
  }

  void peer_gone(const std::string& peer, byte_buffer message) override {
    client_frame f;
    f.cmd = client_cmd::peer_gone;
    f.user = peer;
    f.message = std::move(message);
    push(encode(f));
  }

  void closed(const std::string& why) override {
    gw_->post([self = shared_from_this(), why] {
      client_frame f;
      f.cmd = client_cmd::closed;
      f.user = why;
      self->write_frame(f);
      self->session_ = nullptr; // it ended: nothing to disconnect
      self->shut("replaced");
    });
  }

  void send_result(uint32_t seq, uint8_t code, const std::string& text, size_t bytes) override {
    answered(bytes);
    if (code == 0 && quiet_)
      return;
    client_frame f;
    f.cmd = client_cmd::send_result;
    f.seq = seq;
    f.code = code;
    f.user = text;
    // bounded as a push is: a client that sends and never reads is slow
    write_from_any_thread(encode(f), true);
  }

  void cleared(size_t bytes) override {
    answered(bytes);
  }

private:
  // -- reading ---------------------------------------------------------------------

  /// Calls on_readable() when the socket has data, unless a call is
  /// already on its way.
  void arm_read() {
    if (read_scheduled_)
      return;
    read_scheduled_ = true;
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](asio::error_code ec) {
      self->read_scheduled_ = false;
      if (!ec && !self->closing_)
        self->on_readable();
    });
  }

  void on_readable() {
    if (!take_frames())
      return; // resume() goes on from here
    auto& buf = gw_->read_buffer();
    for (size_t total = 0;;) {
      if (total >= read_burst) { // the others' turn, then on from here
        read_scheduled_ = true;
        asio::post(socket_.get_executor(), [self = shared_from_this()] {
          self->read_scheduled_ = false;
          if (!self->closing_)
            self->on_readable();
        });
        return;
      }
      asio::error_code ec;
      auto n = socket_.read_some(asio::buffer(buf), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again)
        break;
      if (ec)
        return shut("client_closed", true);
      reader_.feed(buf.data(), n);
      if (!take_frames())
        return;
      total += n;
      if (n < buf.size())
        break; // the socket had no more: asking again would only say so (a syscall per frame)
    }
    if (reader_.buffered() == 0)
      reader_.release(keep_buffer);
    arm_read();
  }

  /// Handles the frames the reader holds, until reading pauses; false if
  /// it paused or the connection closes (then the rest stays in the
  /// reader).
  bool take_frames() {
    while (!paused_.load()) {
      auto f = reader_.next();
      if (!f)
        break;
      on_frame(*f);
      if (closing_)
        return false;
    }
    if (paused_.load())
      return false;
    if (auto e = reader_.error()) {
      refuse(*e, reader_.error_text());
      return false;
    }
    return true;
  }

  // -- sends on their way (clientPendingSendBytes) ------------------------------------

  /// A send or clear of `bytes` (its peer's id and message) went to the
  /// session (the gateway's thread).
  void sending(size_t bytes) {
    auto weight = weight_of(bytes);
    auto limit = gw_->config().pending_send_bytes;
    if (pending_bytes_.fetch_add(weight) + weight < limit)
      return;
    // Too much on its way: no more frames until half of it is done with.
    // The answers may all have come meanwhile: then whoever sets paused_
    // back first goes on.
    paused_.store(true);
    gw_->count_pause(+1);
    if (pending_bytes_.load() <= limit / 2 && paused_.exchange(false))
      gw_->count_pause(-1);
  }

  /// A send of `bytes` had its outcome, or a clear left the session's
  /// queue (any thread).
  void answered(size_t bytes) {
    auto weight = weight_of(bytes);
    auto left = pending_bytes_.fetch_sub(weight) - weight;
    if (left > gw_->config().pending_send_bytes / 2 || !paused_.load() || !paused_.exchange(false))
      return;
    gw_->count_pause(-1);
    gw_->post([self = shared_from_this()] { self->resume(); });
  }

  /// Reading goes on after a pause: the frames the reader holds first
  /// (the gateway's thread).
  void resume() {
    if (closing_)
      return;
    if (!read_scheduled_)
      return on_readable();
    take_frames(); // the call on its way reads the socket
  }

  void on_frame(client_frame& f) {
    const auto& cfg = gw_->config();
    switch (f.cmd) {
      case client_cmd::login: {
        if (session_ || logging_in_)
          return refuse(gateway_errc::already_logged_in, "this connection is logged in");
        if (!valid_user_id(f.user))
          return refuse(gateway_errc::bad_user_id,
                        "a user id has 1 to 256 bytes, not " + std::to_string(f.user.size()));
        if (cfg.token_key) {
          auto check
            = check_login_token(f.token, f.user, std::chrono::system_clock::now(), *cfg.token_key);
          if (check != token_check::valid)
            return refuse(gateway_errc::bad_token,
                          std::string{"login token refused: "} + to_string(check));
        }
        logging_in_ = true;
        quiet_ = (f.flags & login_quiet) != 0;
        user_ = f.user;
        caf::anon_send(gw_->front(), gw_login_atom::value, std::move(f.user),
                       std::shared_ptr<user_sink>{shared_from_this()});
        return;
      }
      case client_cmd::send:
      case client_cmd::clear:
        if (!cfg.expose_commands)
          return refuse(gateway_errc::unknown_command,
                        "this gateway does not take DM commands (exposeCommands is off)");
        if (!session_)
          return refuse(gateway_errc::not_logged_in, "log in first");
        // counted before its end can come
        sending(f.user.size() + f.message.size());
        if (f.cmd == client_cmd::clear) {
          caf::anon_send(session_, dm_client_clear_atom::value, std::move(f.user), f.ver, f.dm_cmd,
                         std::move(f.message));
        } else {
          gw_->count_send();
          caf::anon_send(session_, dm_client_send_atom::value, f.seq, std::move(f.user), f.ver,
                         f.dm_cmd, std::move(f.message), caf::timespan{send_timeout});
        }
        return;
      default:
        return refuse(gateway_errc::unknown_command,
                      "frame cmd " + std::to_string(static_cast<int>(f.cmd))
                        + " goes from the gateway to clients, not back");
    }
  }

  // -- writing ---------------------------------------------------------------------

  // The frames for the client: those of the gateway's thread (login_ok,
  // error, closed) and those a session hands over from the DM service's
  // thread (messages, send results). A frame that finds nothing queued or
  // in flight is written at once, by the thread that has it, so a message
  // does not wait for the gateway's thread to wake up; inside a
  // client_write_batch of that thread it waits in `out_` with those after
  // it until the batch ends, and leaves with them. What the socket does not
  // take at once waits in `out_` for the gateway's thread. `out_mtx_`
  // guards the buffers and the socket's end.

  void write_frame(const client_frame& f) {
    if (closing_)
      return;
    write_from_any_thread(encode(f), false);
  }

  /// A push for the client, unless the client is too far behind: then it
  /// is cut off (its queue would grow without bound and stall nobody but
  /// itself).
  void push(byte_buffer bytes) {
    write_from_any_thread(std::move(bytes), true);
  }

  /// Writes `bytes` or queues them; a `bounded` frame (a push, a send
  /// result) that finds more than clientSendQueueBytes unread cuts the
  /// client off.
  void write_from_any_thread(byte_buffer bytes, bool bounded) {
    std::unique_lock<std::mutex> guard{out_mtx_};
    if (!taking_frames_)
      return;
    gw_->count_frame_out();
    size_t sent = 0;
    if (out_.empty() && writing_.empty() && !batched_) {
      if (auto* batch = client_write_batch::current()) {
        batched_ = true;
        batch->add(shared_from_this());
      } else {
        sent = send_now(guard, bytes);
        if (sent == bytes.size() || !taking_frames_)
          return;
      }
    }
    out_.insert(out_.end(), bytes.begin() + static_cast<ptrdiff_t>(sent), bytes.end());
    auto unsent = out_.size() + writing_.size();
    bool too_slow = bounded && unsent > gw_->config().send_queue_bytes;
    if (too_slow)
      taking_frames_ = false;
    else if (batched_)
      return; // end_batch() writes it
    guard.unlock();
    gw_->post([self = shared_from_this(), too_slow, unsent] {
      if (!too_slow)
        return self->flush();
      log()->warn("dropping client '{}': {} bytes unread (clientSendQueueBytes {})", self->user_,
                  unsent, self->gw_->config().send_queue_bytes);
      self->shut("slow_client", true);
    });
  }

  /// The batch that held this connection's frames closed (the thread that
  /// opened it): what the socket takes at once goes now, the rest waits
  /// for the gateway's thread.
  void end_batch() override {
    std::unique_lock<std::mutex> guard{out_mtx_};
    batched_ = false;
    if (out_.empty())
      return;
    if (taking_frames_ && writing_.empty()) {
      auto sent = send_now(guard, out_);
      if (!taking_frames_)
        return;
      out_.erase(out_.begin(), out_.begin() + static_cast<ptrdiff_t>(sent));
      if (out_.empty())
        return;
    }
    guard.unlock();
    gw_->post([self = shared_from_this()] { self->flush(); });
  }

  /// Sends what the socket takes of `bytes` at once (`guard` holds
  /// `out_mtx_`), nothing written before being in flight; the number of
  /// bytes it took. A connection that failed stops taking frames and
  /// closes (`guard` released).
  size_t send_now(std::unique_lock<std::mutex>& guard, const byte_buffer& bytes) {
    gw_->count_write();
    auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      taking_frames_ = false;
      guard.unlock();
      gw_->post([self = shared_from_this()] { self->shut("client_closed", true); });
      return 0;
    }
    return n > 0 ? static_cast<size_t>(n) : 0;
  }

  /// Writes what waits in `out_` (the gateway's thread).
  void flush() {
    {
      std::lock_guard<std::mutex> guard{out_mtx_};
      if (writing_.size() > 0 || out_.empty() || !socket_.is_open())
        return;
      writing_.swap(out_);
    }
    // Other threads only look at writing_'s size while it is in flight.
    gw_->count_write();
    asio::async_write(socket_, asio::buffer(writing_),
                      [self = shared_from_this()](asio::error_code ec, size_t) {
                        bool drained = false;
                        {
                          std::lock_guard<std::mutex> guard{self->out_mtx_};
                          self->writing_.clear();
                          if (self->writing_.capacity() > keep_buffer)
                            byte_buffer{}.swap(self->writing_);
                          drained = self->out_.empty();
                        }
                        if (ec)
                          return self->shut("client_closed", true);
                        if (self->closing_ && drained)
                          return self->finish();
                        self->flush();
                      });
  }

  // -- the end ---------------------------------------------------------------------

  void refuse(gateway_errc code, const std::string& text) {
    client_frame f;
    f.cmd = client_cmd::error;
    f.code = static_cast<uint8_t>(code);
    f.user = text;
    write_frame(f);
    shut(to_string(code));
  }

  /// Closes the connection once, counted by `reason`: at once when `cut`
  /// or nothing is left to write, else when the last frame is out (or
  /// after `linger`). The user's session disconnects.
  void shut(const std::string& reason, bool cut = false) {
    if (closing_)
      return;
    closing_ = true;
    // Counted before the session hears of it: what follows from the
    // disconnect (a peer's disconnect message, its user_not_found) must
    // not be seen before the close is in the gateway's stats.
    gw_->closed(shared_from_this(), reason);
    if (session_) {
      caf::anon_send(session_, dm_disconnect_atom::value);
      session_ = nullptr;
    }
    bool drained = false;
    {
      std::lock_guard<std::mutex> guard{out_mtx_};
      taking_frames_ = false; // the frames written so far still go out
      drained = writing_.empty() && out_.empty();
    }
    if (cut || drained)
      return finish();
    if (timer_)
      timer_->cancel();
    timer_ = std::make_unique<asio::steady_timer>(socket_.get_executor(), linger);
    timer_->async_wait([self = shared_from_this()](asio::error_code) { self->finish(); });
  }

  void finish() {
    if (paused_.exchange(false))
      gw_->count_pause(-1);
    asio::error_code ec;
    {
      // No thread writes to the descriptor once it may be another socket's.
      std::lock_guard<std::mutex> guard{out_mtx_};
      taking_frames_ = false;
      socket_.close(ec);
    }
    if (timer_)
      timer_->cancel();
  }

  std::shared_ptr<gateway_core> gw_;
  tcp::socket socket_;
  frame_reader reader_;
  caf::actor session_;
  std::string user_;
  /// The socket's descriptor, for writes from the DM service's thread.
  int fd_ = -1;
  std::mutex out_mtx_;
  byte_buffer out_;     // frames after the write in flight
  byte_buffer writing_; // the write in flight
  /// Until the connection shuts: frames are written.
  bool taking_frames_ = true;
  bool batched_ = false; // frames in out_ wait for a client_write_batch's end
  /// The login timeout, then the linger of a closing connection; none
  /// while a logged-in connection is open.
  std::unique_ptr<asio::steady_timer> timer_;
  bool logging_in_ = false;
  /// Logged in with login_quiet: no send result for a delivered message.
  /// Set before the session exists, read by whichever thread answers.
  bool quiet_ = false;
  bool closing_ = false;
  /// An on_readable() call is on its way (a wait armed, or posted).
  bool read_scheduled_ = false;
  /// The weight of the sends on their way (clientPendingSendBytes).
  std::atomic<size_t> pending_bytes_{0};
  /// Reading stopped until half of pending_bytes_ is done with.
  std::atomic<bool> paused_{false};
};

void gateway_core::accept() {
  acceptor_.async_accept([self = shared_from_this()](asio::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor_.is_open())
      return;
    if (ec) {
      ++self->accept_failures_;
      auto now = std::chrono::steady_clock::now();
      if (now - self->accept_warned_ >= accept_warn_every) {
        self->accept_warned_ = now;
        log()->warn("client gateway: accept failed: {} ({} failures so far; retrying every {} ms)",
                    ec.message(), self->accept_failures_, accept_backoff.count());
      }
      self->retry_.expires_after(accept_backoff);
      self->retry_.async_wait([self](asio::error_code e) {
        if (!e)
          self->accept();
      });
      return;
    }
    ++self->accepted_;
    ++self->open_;
    auto c = std::make_shared<client_connection>(self, std::move(socket));
    self->conns_.insert(c);
    if (self->open_ > self->cfg_.max_connections && !self->make_room()) {
      c->crowded_out("all " + std::to_string(self->cfg_.max_connections)
                     + " connections are logged-in users (clientMaxConnections)");
    } else {
      self->arrivals_.push_back(c);
      c->start();
      self->prune_arrivals();
    }
    self->accept();
  });
}

void gateway_core::prune_arrivals() {
  // Users who logged in never go back to silence: only the silent stay.
  if (arrivals_.size() <= 2 * conns_.size() + 64)
    return;
  std::deque<std::weak_ptr<client_connection>> kept;
  for (auto& w : arrivals_)
    if (auto c = w.lock(); c && c->silent())
      kept.push_back(std::move(w));
  arrivals_.swap(kept);
}

bool gateway_core::make_room() {
  while (!arrivals_.empty()) {
    auto c = arrivals_.front().lock();
    arrivals_.pop_front();
    if (c && c->silent()) {
      c->crowded_out("closed to make room: not logged in, and the gateway is at "
                     + std::to_string(cfg_.max_connections)
                     + " connections (clientMaxConnections)");
      return true;
    }
  }
  return false;
}

void gateway_core::close_all() {
  asio::error_code ec;
  acceptor_.close(ec);
  retry_.cancel();
  arrivals_.clear();
  auto conns = std::move(conns_);
  conns_.clear();
  for (auto& c : conns)
    c->abort();
}

/// The gateway's actor: logs users in at the DM service for the
/// connections, answers stats, and stops the TCP side when it ends (with
/// the DM service, to which it is linked).
caf::behavior gateway(caf::event_based_actor* self, const caf::actor& dm,
                      const std::shared_ptr<gateway_core>& core) {
  self->link_to(dm);
  self->attach_functor([core] { core->stop(); });
  return {
    [=](gw_login_atom, std::string& user, std::shared_ptr<user_sink>& sink) {
      // The sink is the connection that asked (on_frame).
      auto conn = std::static_pointer_cast<client_connection>(sink);
      self->request(dm, caf::infinite, dm_connect_atom::value, std::move(user), std::move(sink))
        .then(
          [=](caf::actor& session) {
            if (!core->post([conn, session] { conn->logged_in(session); }))
              caf::anon_send(session, dm_disconnect_atom::value);
          },
          [=](caf::error& err) {
            core->post([conn, text = self->system().render(err)] { conn->login_failed(text); });
          });
    },
    [=](gateway_stats_atom) { return core->stats_json(); },
  };
}

} // namespace

std::pair<caf::actor, uint16_t> spawn_client_gateway(caf::actor_system& sys, caf::actor dm_service,
                                                     const client_gateway_config& cfg) {
  // Each client holds a socket: take every file descriptor the system allows.
  auto files = raise_open_files_limit();
  if (files < uint64_t{cfg.max_connections} + own_files)
    log()->warn("the open-files limit is {} (its hard limit): about {} clients can connect, "
                "not clientMaxConnections ({}); further accepts fail until some leave",
                files, files > own_files ? files - own_files : 0, cfg.max_connections);
  auto core = std::make_shared<gateway_core>(cfg, transport::io_poller_of(sys));
  auto port = core->listen();
  if (port == 0)
    throw std::runtime_error("the client gateway found no free port on " + cfg.address + " from "
                             + std::to_string(cfg.port));
  auto gw = sys.spawn(gateway, std::move(dm_service), core);
  core->start(gw);
  log()->info("client gateway listening on {}:{}", cfg.address, port);
  if (!cfg.token_key)
    log()->warn("client gateway {}:{} runs open: any client may log in as any user "
                "(clientTokenKeyFile makes it take only tokens the application issued)",
                cfg.address, port);
  return {gw, port};
}

} // namespace meshrt
