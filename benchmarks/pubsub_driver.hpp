#pragma once

// The user-to-user messaging load of `meshrt bench dm`, driven the same way
// against meshrt's client gateways, NATS and Redis pub/sub: thousands of
// TCP connections, one per user, each user subscribed to its own subject
// (or logged in, for meshrt) and publishing to other users. One thread and
// one epoll set drive them all, so the client side costs every system the
// same. What differs per system is its wire, behind a pubsub_codec.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace meshrt::bench {

/// What a connection's stream said, as the driver needs it.
class pubsub_sink {
public:
  virtual ~pubsub_sink() = default;
  /// The login or subscription is confirmed: the user can be messaged.
  virtual void on_ready() = 0;
  /// A message arrived for this connection's user; `seq` is the one
  /// publish() carried.
  virtual void on_message(uint64_t seq) = 0;
  /// The system refused message `seq` (meshrt answers each send).
  virtual void on_refused(uint64_t seq, const std::string& why) = 0;
  /// The connection is broken or refused its login: why.
  virtual void on_error(const std::string& why) = 0;
};

/// One connection's view of a system's wire: what it sends first, how it
/// publishes, how it reads what comes back. A new codec per connection.
class pubsub_codec {
public:
  virtual ~pubsub_codec() = default;
  /// Appends the bytes that make `user` reachable (login, subscribe).
  virtual void hello(std::string& out, const std::string& user) = 0;
  /// Appends the bytes that send message `seq` (its payload `size` bytes,
  /// at least 8) to user `to`.
  virtual void publish(std::string& out, const std::string& to, uint64_t seq, size_t size) = 0;
  /// Takes bytes read from the connection; reports to `sink`; appends to
  /// `reply` what the system expects back (NATS's PONG).
  virtual void feed(const char* data, size_t size, pubsub_sink& sink, std::string& reply) = 0;
};

/// A system under test: where user i connects and its codec.
struct pubsub_system {
  std::string name;
  /// "host:port" of the server user `i` connects to.
  std::function<std::string(size_t i)> endpoint;
  std::function<std::unique_ptr<pubsub_codec>()> codec;
  /// How many servers `endpoint` spreads the users over, round robin: users
  /// i and i + servers share one.
  size_t servers = 1;
};

struct pubsub_options {
  size_t users = 10000;
  size_t payload = 32;        // bytes per message, the same for every system
  int latency_samples = 2000; // one message at a time, between spread users
  /// The index of this driver's first latency sample, which picks its
  /// pairs: passes split over several drivers (bench dm's rounds) take
  /// other pairs in each.
  int latency_offset = 0;
  /// Messages one at a time before the latency passes, not recorded,
  /// between pairs the passes do not use: on this machine the kernel keeps
  /// a client and a server that just talked a lot (the logins) on one CPU
  /// for a while, where a wake-up costs a fifth of one on the other CPU,
  /// and moves them apart after ~2,000 messages; the warm-up measures every
  /// system past that.
  int latency_warmup = 0;
  int messages = 200000;         // messages of the throughput run
  int window = 1000;             // messages in flight in the throughput run
  int pair_messages = 20000;     // messages of the one-pair run
  std::string user_prefix = "u"; // user i is this and i
};

/// Who sends to whom in a throughput run.
enum class load_shape {
  /// Every user in turn, to the user half the users away (another server).
  spread,
  /// Every user in turn, to the next user of its server.
  near,
  /// One user to one other, on another server: a burst between two users.
  one_pair,
};

/// One throughput run: `messages` messages with `window` in flight.
struct throughput_run {
  double messages_per_s = 0;
  uint64_t delivered = 0;        // messages that arrived
  double driver_cpu_s = 0;       // CPU time of the driver's thread
  std::vector<double> loaded_us; // each message's latency
};

struct pubsub_result {
  double connect_s = 0;                // all users connected and reachable
  std::vector<double> latency_us;      // one message at a time, send to arrival
  std::vector<double> repeat_us;       // the same pairs again
  std::vector<double> near_us;         // one at a time, both users on one server
  std::vector<double> near_repeat_us;  // the same pairs again
  std::vector<double> conversation_us; // one at a time, the first far pair only
  throughput_run load;                 // user i to user i + users/2 + 1
  throughput_run near_load;            // user i to user i + servers
  throughput_run pair_load;            // user 0 to user users/2 + 1 only
  int lost = 0;                        // sent, never arrived nor refused
  int refused = 0;                     // refused by the system (meshrt's send results)
  int duplicated = 0;
  int connections_lost = 0; // closed by the system after the login
};

/// One pass of pubsub_driver::measure_latency(): the name a report gives
/// its latencies, where it records them, whether its pairs are on two
/// servers, and whether it repeats one pair (a conversation).
struct latency_pass {
  const char* name;
  std::vector<double> pubsub_result::*record;
  bool far;
  bool one_pair;
};

/// The passes in the order they run: far pairs, the same again, pairs on
/// one server, the same again, one conversation.
inline constexpr latency_pass latency_passes[] = {
  {"c2c", &pubsub_result::latency_us, true, false},
  {"c2c_again", &pubsub_result::repeat_us, true, false},
  {"c2c_near", &pubsub_result::near_us, false, false},
  {"c2c_near_again", &pubsub_result::near_repeat_us, false, false},
  {"c2c_pair", &pubsub_result::conversation_us, true, true},
};

/// Drives `opts.users` users of `system` (user i is "u<i>"); messages go
/// from user i to user i + users/2 + 1 (another node for meshrt's
/// round-robin placement), except the passes and the run between users of
/// one server. The connections stay open until the driver ends, so a
/// benchmark can look at the system in between the steps.
class pubsub_driver {
public:
  pubsub_driver(pubsub_system system, const pubsub_options& opts);
  ~pubsub_driver();

  pubsub_driver(const pubsub_driver&) = delete;
  pubsub_driver& operator=(const pubsub_driver&) = delete;

  /// Connects every user and waits until each is reachable; a login the
  /// system refuses is tried again. Throws std::runtime_error if the users
  /// cannot all connect within 120 s.
  void connect();

  /// `latency_warmup` messages, not recorded; then `latency_samples`
  /// messages, one at a time, each between two users that never talked;
  /// then the same pairs again. Then both passes once more between users of
  /// one server (user i and i + system.servers). Then `latency_samples`
  /// messages of the first pair alone: a conversation. One not there after
  /// 10 s counts as lost.
  void measure_latency();

  /// `messages` messages with `window` in flight, into result().load;
  /// stops when 10 s pass without an arrival. `near`: between users of one
  /// server (user i and i + system.servers), into result().near_load.
  /// `one_pair`: `pair_messages` from one user to one other, into
  /// result().pair_load. Each shape runs once per driver.
  void measure_throughput(load_shape shape = load_shape::spread);

  const pubsub_result& result() const;

private:
  class impl;
  std::unique_ptr<impl> impl_;
};

/// The codecs of the systems; meshrt's with `quiet` logs in with
/// login_quiet (a send answered only when it fails, as NATS's
/// verbose:false), else every send has its result.
std::unique_ptr<pubsub_codec> make_meshrt_codec(bool quiet = false);
std::unique_ptr<pubsub_codec> make_nats_codec();
std::unique_ptr<pubsub_codec> make_redis_codec();
/// The floor servers' (benchmarks/floor_server.hpp).
std::unique_ptr<pubsub_codec> make_floor_codec();

} // namespace meshrt::bench
