#pragma once

// What every `meshrt bench` scenario measures with: clocks, percentiles, the
// raw UDP floor, the path of the meshrt program for child processes.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "benchmarks/bench_report.hpp"

namespace meshrt::bench {

class child_process;

using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

inline double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

/// The p-quantile (0..1) of `v`, 0 when empty.
double percentile(std::vector<double> v, double p);

/// Adds PREFIX_p50_us and PREFIX_p99_us of `us` (latencies in
/// microseconds) for `system`, and their histogram as PREFIX_us.
void add_latencies(bench_report& r, const std::string& system, const std::string& prefix,
                   const std::vector<double>& us);

/// Where the two threads of the raw UDP ping-pong run.
enum class placement {
  /// On two different cores, as two node processes on a machine with idle
  /// cores run: each round trip wakes a thread on the other core. This is
  /// the floor the benchmarks' ratios are taken against.
  cross_core,
  /// Both on one core: the kernel hands each datagram straight to the
  /// waiting thread without waking another core (a few microseconds here).
  /// Left alone, the scheduler picks this or cross_core from run to run,
  /// which is why the threads are pinned.
  same_core,
};

/// `rounds` ping-pongs of `size` bytes between two plain UDP sockets on
/// loopback, an echo thread answering: the round trips in microseconds,
/// the physical limit here. Every wait is bounded. With fewer than two
/// cores available, cross_core runs unpinned.
std::vector<double> raw_udp_pingpong(int rounds, size_t size,
                                     placement where = placement::cross_core);

/// Both raw UDP floors of `rounds` `size`-byte ping-pongs for the report:
/// rtt_p50_us and rtt_p99_us across cores (the baseline of the ratios),
/// rtt_p50_us_same_core on one core.
void add_raw_udp_rtts(bench_report& r, int rounds, size_t size);

/// A UDP socket bound to an ephemeral loopback port, receives bounded by
/// `timeout_ms`.
int bound_udp_socket(int timeout_ms = 2000);

/// The systems a scenario's `--only` selects: all when `only` is empty,
/// else those it names, separated by commas ("meshrt,nats"). An unknown
/// name is an std::invalid_argument that lists the scenario's `systems`.
std::function<bool(const char*)> system_filter(const std::string& scenario, const std::string& only,
                                               const std::vector<std::string>& systems);

/// A loopback port nothing listens on now (the kernel's choice for port 0),
/// for SOCK_DGRAM or SOCK_STREAM, and never one this process was given
/// before: the kernel picks port 0's at random and may pick a port again
/// once its socket is closed, so a bench that picks a server's ports one by
/// one before starting it could give two of them the same (a NATS cluster
/// of four takes twelve). Throws std::runtime_error if none.
uint16_t free_port(int type);

/// Resident memory of a process, in bytes (0 if it is gone).
double rss_bytes(int pid);

/// Resident memory of all of `procs`, in bytes.
double rss_bytes(const std::vector<std::unique_ptr<child_process>>& procs);

/// CPU time (user + system) all of `procs` used so far, in seconds.
double cpu_seconds(const std::vector<std::unique_ptr<child_process>>& procs);

/// Calls `pred` every 20 ms until it holds (true) or `limit` passes
/// (false).
template<class Predicate>
bool wait_until(Predicate pred, std::chrono::milliseconds limit) {
  auto t0 = clock_type::now();
  while (!pred()) {
    if (clock_type::now() - t0 > limit)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return true;
}

/// Starts a server program (`args`, its output to `log_path`) and waits
/// until it accepts TCP connections on 127.0.0.1:`port`; throws
/// std::runtime_error with its log if that takes over 10 s or it ends.
std::unique_ptr<child_process> start_tcp_server(const std::vector<std::string>& args,
                                                const std::string& log_path, uint16_t port);

/// The nats-server program: Debian installs it to /usr/sbin, which a
/// user's PATH may lack.
std::string nats_server_program();

/// A redis-server of Debian's on 127.0.0.1:`port` for a baseline: no
/// persistence, `extra` arguments appended, up and accepting.
std::unique_ptr<child_process> start_redis(uint16_t port,
                                           const std::vector<std::string>& extra = {});

/// The path of the running meshrt program (/proc/self/exe).
std::string self_exe();

} // namespace meshrt::bench
