#include "benchmarks/pubsub_driver.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <iterator>
#include <stdexcept>
#include <type_traits>

#include "benchmarks/bench_util.hpp"

namespace meshrt::bench {

namespace {

using namespace std::chrono_literals;

constexpr size_t max_connecting = 256; // logins in flight while connecting
constexpr int max_attempts = 5;        // per user, while connecting
constexpr auto connect_limit = 120s;
constexpr auto message_limit = 10s; // then a message counts as lost

/// CPU time (user + system) of the calling thread, in seconds.
double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

/// What the driver keeps of every message: arrivals and refusals.
class ledger {
public:
  virtual ~ledger() = default;
  virtual void ready() = 0;
  virtual void arrived(uint64_t seq) = 0;
  virtual void refused(uint64_t seq) = 0;
};

/// One user's TCP connection and what its stream said so far.
struct connection final : pubsub_sink {
  ledger* owner = nullptr;
  size_t index = 0;
  int fd = -1;
  std::unique_ptr<pubsub_codec> codec;
  std::string out;
  bool writing = false; // waits for EPOLLOUT
  bool ready = false;
  bool broken = false;
  std::string error;
  int attempts = 0;

  void on_ready() override {
    if (!ready) {
      ready = true;
      owner->ready();
    }
  }
  void on_message(uint64_t seq) override {
    owner->arrived(seq);
  }
  void on_refused(uint64_t seq, const std::string&) override {
    owner->refused(seq);
  }
  void on_error(const std::string& why) override {
    broken = true;
    error = why;
  }
};

} // namespace

class pubsub_driver::impl final : public ledger {
public:
  impl(pubsub_system s, const pubsub_options& o) :
    system_(std::move(s)), opts_(o), conns_(o.users) {
    if (o.users < 2 || o.payload < 8)
      throw std::invalid_argument("pubsub_driver: at least 2 users and 8-byte payloads");
    ep_ = ::epoll_create1(0);
    if (ep_ < 0)
      throw std::runtime_error(std::string{"epoll_create1: "} + std::strerror(errno));
    for (size_t i = 0; i < conns_.size(); ++i) {
      conns_[i].owner = this;
      conns_[i].index = i;
    }
    // the latency passes, then the three throughput runs
    auto total
      = static_cast<size_t>(o.latency_warmup + std::size(latency_passes) * o.latency_samples
                            + size_t{2} * o.messages + o.pair_messages);
    sent_.resize(total);
    state_.resize(total, unsent);
  }

  ~impl() override {
    for (auto& c : conns_)
      if (c.fd >= 0)
        ::close(c.fd);
    ::close(ep_);
  }

  const pubsub_result& result() const {
    return result_;
  }

  void ready() override {
    ++ready_;
  }

  void arrived(uint64_t seq) override {
    if (seq >= state_.size() || state_[seq] == unsent)
      return;
    if (state_[seq] != 0) {
      ++result_.duplicated;
      return;
    }
    state_[seq] = 1;
    if (seq < run_base_)
      return; // late, from an earlier run: counted, not timed
    ++resolved_;
    ++arrived_;
    last_ = clock_type::now();
    record_->push_back(std::chrono::duration<double, std::micro>(last_ - sent_[seq]).count());
  }

  void refused(uint64_t seq) override {
    if (seq >= state_.size() || state_[seq] != 0)
      return;
    state_[seq] = 2;
    ++result_.refused;
    if (seq < run_base_)
      return;
    ++resolved_;
    last_ = clock_type::now();
  }

  void connect() {
    auto t0 = clock_type::now();
    std::deque<size_t> todo;
    for (size_t i = 0; i < conns_.size(); ++i)
      todo.push_back(i);
    auto deadline = clock_type::now() + connect_limit;
    size_t opened = 0;
    while (ready_ < conns_.size()) {
      if (clock_type::now() > deadline)
        throw std::runtime_error(system_.name + ": " + std::to_string(ready_) + " of "
                                 + std::to_string(conns_.size())
                                 + " users connected in 120 s; last error: " + last_error_);
      while (!todo.empty() && opened - ready_ < max_connecting) {
        open(conns_[todo.front()]);
        todo.pop_front();
        ++opened;
      }
      poll(10, [&](connection& c) {
        if (++c.attempts >= max_attempts)
          throw std::runtime_error(system_.name + ": user " + opts_.user_prefix
                                   + std::to_string(c.index) + " could not connect: " + c.error);
        --opened;
        todo.push_back(c.index);
      });
    }
    result_.connect_s = seconds_since(t0);
  }

  /// Two passes over the same pairs: the first messages between them, then
  /// the same pairs again (meshrt's channels are cached by then); then two
  /// such passes between users of one server; then as many messages of the
  /// first pair only, a conversation.
  void measure_latency() {
    auto n = conns_.size();
    auto samples = static_cast<uint64_t>(opts_.latency_samples);
    auto warmup = static_cast<uint64_t>(opts_.latency_warmup);
    // the warm-up's pairs: user i and i + users/2 + 2, which the passes
    // never pair (theirs are i + users/2 + 1 and i + servers)
    std::vector<double> warmup_us;
    record_ = &warmup_us;
    for (uint64_t s = 0; s < warmup; ++s) {
      run_base_ = s;
      auto from = static_cast<size_t>(s * 7919 % n);
      one_message(from, (from + n / 2 + 2) % n, s);
    }
    for (uint64_t pass = 0; pass < std::size(latency_passes); ++pass) {
      const auto& p = latency_passes[pass];
      record_ = &(result_.*p.record);
      run_base_ = warmup + pass * samples;
      for (uint64_t s = 0; s < samples; ++s) {
        auto i = p.one_pair ? 0 : s;
        auto from
          = static_cast<size_t>((i + static_cast<uint64_t>(opts_.latency_offset)) * 7919 % n);
        one_message(from, p.far ? far_from(from) : near_of(from), run_base_ + s);
      }
    }
    tally();
  }

  /// Each arrival or refusal lets the next message go, from user k mod n
  /// for the k-th (user 0 for every one, one_pair).
  void measure_throughput(load_shape shape) {
    bool near = shape == load_shape::near;
    bool pair = shape == load_shape::one_pair;
    auto& run = pair ? result_.pair_load : near ? result_.near_load : result_.load;
    record_ = &run.loaded_us;
    auto messages = static_cast<uint64_t>(opts_.messages);
    auto total = pair ? static_cast<uint64_t>(opts_.pair_messages) : messages;
    auto base = static_cast<uint64_t>(opts_.latency_warmup
                                      + std::size(latency_passes) * opts_.latency_samples)
                + (pair   ? 2 * messages
                   : near ? messages
                          : 0);
    auto n = conns_.size();
    run_base_ = base;
    resolved_ = 0;
    arrived_ = 0;
    uint64_t sent = 0;
    auto cpu0 = thread_cpu_seconds();
    auto t0 = clock_type::now();
    last_ = t0;
    auto progress = t0;
    auto seen = resolved_;
    while (resolved_ < total) {
      while (sent < total && sent - resolved_ < static_cast<uint64_t>(opts_.window)) {
        auto from = pair ? size_t{0} : static_cast<size_t>(sent % n);
        if (!send(from, near ? near_of(from) : far_from(from), base + sent))
          ++resolved_; // a sender or recipient whose connection broke
        ++sent;
      }
      poll(1, nullptr);
      if (resolved_ != seen) {
        seen = resolved_;
        progress = clock_type::now();
      } else if (clock_type::now() - progress > message_limit) {
        break;
      }
    }
    auto elapsed = std::chrono::duration<double>(last_ - t0).count();
    run.messages_per_s = elapsed > 0 ? static_cast<double>(arrived_) / elapsed : 0;
    run.delivered = arrived_;
    run.driver_cpu_s = thread_cpu_seconds() - cpu0;
    tally();
  }

private:
  void tally() {
    result_.lost = static_cast<int>(std::count(state_.begin(), state_.end(), 0)) + skipped_;
  }

  /// The user that `from` sends to but in the passes between users of one
  /// server: half the users away, on another server for meshrt's
  /// round-robin placement.
  size_t far_from(size_t from) const {
    return (from + conns_.size() / 2 + 1) % conns_.size();
  }

  /// The user that `from` sends to in the passes between users of one
  /// server: the next one that server has.
  size_t near_of(size_t from) const {
    return (from + system_.servers) % conns_.size();
  }

  /// Message `seq` from `from` to `to`, waiting until it arrives (at most
  /// message_limit).
  void one_message(size_t from, size_t to, uint64_t seq) {
    if (!send(from, to, seq))
      return;
    auto deadline = clock_type::now() + message_limit;
    while (state_[seq] == 0 && clock_type::now() < deadline)
      poll(1, nullptr);
  }

  /// Message `seq` from user `from` to user `to`; false if either is not
  /// connected.
  bool send(size_t from, size_t to, uint64_t seq) {
    auto& c = conns_[from];
    if (c.fd < 0 || !c.ready || conns_[to].fd < 0) {
      ++skipped_;
      return false;
    }
    c.codec->publish(c.out, opts_.user_prefix + std::to_string(to), seq, opts_.payload);
    sent_[seq] = clock_type::now();
    state_[seq] = 0;
    flush(c);
    return true;
  }

  void open(connection& c) {
    auto endpoint = system_.endpoint(c.index);
    auto colon = endpoint.rfind(':');
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(endpoint.substr(colon + 1))));
    if (::inet_pton(AF_INET, endpoint.substr(0, colon).c_str(), &addr.sin_addr) != 1)
      throw std::runtime_error(system_.name + ": not an IPv4 endpoint: " + endpoint);
    c.fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (c.fd < 0)
      throw std::runtime_error(system_.name + ": socket: " + std::strerror(errno));
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
      throw std::runtime_error(system_.name + ": connect to " + endpoint + ": "
                               + std::strerror(errno));
    int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = c.index;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    c.codec = system_.codec();
    c.out.clear();
    c.writing = false;
    c.ready = false;
    c.broken = false;
    c.codec->hello(c.out, opts_.user_prefix + std::to_string(c.index));
    flush(c);
  }

  void close(connection& c) {
    ::epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    c.fd = -1;
    if (c.ready) {
      --ready_;
      c.ready = false;
    }
  }

  void watch_writes(connection& c, bool on) {
    if (c.writing == on)
      return;
    c.writing = on;
    epoll_event ev{};
    ev.events = on ? EPOLLIN | EPOLLOUT : EPOLLIN;
    ev.data.u64 = c.index;
    ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void flush(connection& c) {
    size_t done = 0;
    while (done < c.out.size()) {
      auto n = ::send(c.fd, c.out.data() + done, c.out.size() - done, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      if (n <= 0) {
        c.on_error(std::string{"send: "} + std::strerror(errno));
        break;
      }
      done += static_cast<size_t>(n);
    }
    c.out.erase(0, done);
    watch_writes(c, !c.out.empty() && !c.broken);
  }

  void read(connection& c) {
    char buf[65536];
    for (;;) {
      auto n = ::recv(c.fd, buf, sizeof(buf), 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
      if (n <= 0) {
        c.on_error(n == 0 ? "closed by the server" : std::strerror(errno));
        return;
      }
      std::string reply;
      c.codec->feed(buf, static_cast<size_t>(n), c, reply);
      if (!reply.empty()) {
        c.out += reply;
        flush(c);
      }
      if (c.broken)
        return;
      // The socket had no more: asking again would only say so, a syscall
      // per message (epoll is level-triggered: what comes later is reported).
      if (static_cast<size_t>(n) < sizeof(buf))
        return;
    }
  }

  /// One epoll round; a connection that broke is closed and, if given,
  /// handed to `on_broken`.
  template<class F>
  void poll(int timeout_ms, F on_broken) {
    epoll_event events[256];
    auto n = ::epoll_wait(ep_, events, 256, timeout_ms);
    for (int i = 0; i < n; ++i) {
      auto& c = conns_[events[i].data.u64];
      if (c.fd < 0)
        continue;
      if (events[i].events & EPOLLOUT)
        flush(c);
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        read(c);
      if (c.broken) {
        last_error_ = opts_.user_prefix + std::to_string(c.index) + ": " + c.error;
        if (c.ready)
          ++result_.connections_lost;
        close(c);
        if constexpr (!std::is_same_v<F, std::nullptr_t>)
          on_broken(c);
      }
    }
  }

  pubsub_system system_;
  pubsub_options opts_;
  std::vector<connection> conns_;
  int ep_ = -1;
  size_t ready_ = 0;
  std::string last_error_;
  std::vector<clock_type::time_point> sent_;
  static constexpr uint8_t unsent = 3;
  std::vector<uint8_t> state_; // per seq: 0 in flight, 1 arrived, 2 refused, 3 unsent
  int skipped_ = 0;            // not sent: a connection broke (counted as lost)
  uint64_t run_base_ = 0;      // the first seq of the run under way
  uint64_t resolved_ = 0;
  uint64_t arrived_ = 0;
  clock_type::time_point last_;
  std::vector<double>* record_ = nullptr;
  pubsub_result result_;
};

pubsub_driver::pubsub_driver(pubsub_system system, const pubsub_options& opts) :
  impl_(std::make_unique<impl>(std::move(system), opts)) {
  // nop
}

pubsub_driver::~pubsub_driver() = default;

void pubsub_driver::connect() {
  impl_->connect();
}

void pubsub_driver::measure_latency() {
  impl_->measure_latency();
}

void pubsub_driver::measure_throughput(load_shape shape) {
  impl_->measure_throughput(shape);
}

const pubsub_result& pubsub_driver::result() const {
  return impl_->result();
}

} // namespace meshrt::bench
