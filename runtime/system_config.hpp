#pragma once

#include <chrono>
#include <string>

#include "transport/io_scheduler.hpp"

namespace caf {
class actor_system_config;
} // namespace caf

namespace meshrt {

/// How CAF's workers wait for work.
enum class scheduling {
  /// Poll ~130 us of CPU before sleeping: for nodes, whose conversations
  /// answer within a round trip.
  latency,
  /// One worker that also runs the sockets and polls only briefly, yielding
  /// the core (set_idle_spin()): for MARS, which answers independent
  /// heartbeats, and for nodes that share the cores with other processes.
  /// When its actors are idle (after the spin) it waits in epoll for the
  /// transport's socket and the client gateway's connections
  /// (transport/io_scheduler.hpp), so a datagram or a client's frame wakes
  /// one thread, not a reader that then wakes the worker. Measured with 128
  /// nodes (`meshrt bench membership`): MARS CPU 13% -> 7% with a short
  /// poll; with one worker instead of CAF's four, 5.6% -> 4.0-4.8%. Four DM
  /// nodes with 10,000 users (`meshrt bench dm`): 64-75 us of node CPU per
  /// message -> 51-64 us with one worker; the README has the I/O
  /// scheduler's figures.
  efficiency,
};

/// Applies meshrt's settings to a CAF configuration before the actor system
/// is built: the meshrt error category, and a scheduler tuned for latency.
/// Settings a caller wants otherwise go after this call.
///
/// In latency mode the scheduler gets one worker fewer than the machine has
/// cores (at least one): each node's receive thread needs the other.
/// Measured with `meshrt bench rpc` (two node processes, 2 cores): two
/// workers per process, RTT p50 212 us and 122k requests/s with 256
/// outstanding; one worker, 81 us and 168k requests/s.
///
/// CAF 0.17's workers poll 100 times, then nap in 50 us steps, then wait on a
/// condition variable. Each nap adds up to 50 us to a hop that finds its
/// worker idle, and a loopback round trip crosses four such hops. meshrt
/// polls 20,000 times (about 130 us of CPU per burst of activity) and then
/// waits on the condition variable at once. Measured on the 2-core machines
/// here: ping-pong p50 from ~170 us to ~90 us (raw UDP: ~90 us); an idle
/// node stays at 0.8% of a core; 100 requests/s cost 3.1% instead of 1.8%.
///
/// Without a mode, the machine's: scheduling_for_cores() of its cores.
void apply_meshrt_defaults(caf::actor_system_config& cfg);
void apply_meshrt_defaults(caf::actor_system_config& cfg, scheduling mode);

/// set_idle_spin()'s defaults: 50 us, growing to 200 us at most.
using transport::default_idle_spin;
using transport::default_idle_spin_max;

/// How long a worker in efficiency mode, out of work, keeps looking for
/// more (its sockets, jobs and timers), giving the core to other processes
/// with sched_yield() between looks, before it sleeps in epoll:
/// default_idle_spin unless set (after apply_meshrt_defaults(), before the
/// actor system starts); 0 sleeps at once. No effect in latency mode. On a
/// virtual machine whose idle vCPUs halt, waking a sleeping process costs
/// ~20 us more than reaching one that is still running, and a
/// conversation's next message usually comes within the spin. When work
/// keeps coming after the spin ended but within `max`, the spin doubles up
/// to `max`; when it comes later, it halves back to `spin` (the rule of
/// Linux's haltpoll governor, which polls before a guest's vCPU halts); a
/// `max` of `spin` keeps it fixed. Measured 2026-12-05 (2 vCPUs, AMD EPYC,
/// Firecracker guest; `meshrt bench dm`, four nodes and the driver of
/// 10,000 users on the same cores, three alternating pairs): a fixed 50 us
/// against none, RPC round trip p50 60-69 -> 35-47 us, next message
/// between nodes with quiet sends 106-108 -> 78-88 us, server CPU per
/// message under load 20.3-21.8 -> 18.5-19.5 us. Its cost is a spin that
/// finds nothing: messages 200 us apart, one pair of users, node CPU per
/// message 130 -> 220 us. Growing to 200 us against a fixed 50 (the same
/// bench): quiet next message 81-85 -> 64-68 us; messages 100 us apart
/// cost the nodes 55-59% -> 73-81% of a core, 1 ms apart 17-20% either
/// way. Without the yield, polling nodes took the cores from each other
/// and the driver (README, "tried and not kept").
void set_idle_spin(caf::actor_system_config& cfg, std::chrono::microseconds spin,
                   std::chrono::microseconds max = default_idle_spin_max);

/// The mode for a machine of `cores` cores (0: not known): efficiency on
/// two cores or fewer, latency above. On two cores latency mode leaves a
/// node one worker (the receive thread has the other core) and that worker
/// polls the core the node's own threads, and MARS, need; measured with
/// `meshrt ping` against one node (2 vCPUs, 2026-12-05, three alternating
/// pairs of 2,000 checks): p50 85-123 us in latency mode, 50-72 in
/// efficiency, p99 358-522 against 192-222.
scheduling scheduling_for_cores(unsigned cores);

/// Keeps glibc's allocator from giving the memory of large messages back to
/// the kernel after each one. By default glibc maps a buffer of 128 KB or
/// more on its own and unmaps it when freed, or, once it has raised that
/// limit, trims the heap whenever its free top exceeds twice the limit: either
/// way each 10 MB message (transport/wire.hpp: max_message_size) came in
/// ~2,400 fresh pages, and a page fault costs microseconds on a virtual
/// machine. This sets glibc's mmap threshold to its largest, 32 MiB, and its
/// trim threshold to 64 MiB, so such buffers come from the heap and reuse its
/// pages; the process keeps up to 64 MiB of freed memory. Measured with
/// `meshrt bench transport` (2026-12-04, 2 cores, AMD EPYC), three
/// alternating pairs without and with the call: 10 MB messages with at most
/// two unanswered 142-163 MB/s before, 1,191-1,627 after; page faults of a
/// `--only meshrt` run 212,000-240,000 before, 124,000-152,000 with the same
/// two settings given through GLIBC_TUNABLES.
///
/// Process-wide: call it once at start (the `meshrt` command does). Returns
/// whether the C library took the settings: false without glibc and under
/// AddressSanitizer, whose allocator refuses them (ThreadSanitizer's accepts
/// and ignores them).
bool tune_allocator();

/// "latency" or "efficiency", as the command line spells them.
const char* to_string(scheduling mode);

/// The mode named `name` ("latency" or "efficiency", or "auto": this
/// machine's, scheduling_for_cores()); throws std::invalid_argument for any
/// other name.
scheduling parse_scheduling(const std::string& name);

} // namespace meshrt
