#pragma once

#include <chrono>
#include <cstdint>

namespace caf {
class abstract_actor;
class actor_system;
class actor_system_config;
} // namespace caf

namespace meshrt::transport {

class io_poller;

/// How long an I/O scheduler's worker looks for work before it sleeps,
/// unless told otherwise (use_io_scheduler()), and the longest that grows
/// to while work keeps coming just after it.
constexpr std::chrono::microseconds default_idle_spin{50};
constexpr std::chrono::microseconds default_idle_spin_max{200};

/// Makes the actor system built from `cfg` run its actors and its sockets'
/// reads in one thread: a CAF scheduler with one worker that, whenever no
/// actor has work, waits in an io_poller (epoll) instead of on a condition
/// variable. A transport in such a system reads its socket in that worker
/// (receive_loop.hpp) rather than in a receive thread of its own, so a
/// datagram costs one thread wake-up, not two, and its batch reaches the
/// peer link without a hand-over between threads. When it wakes, it runs
/// every socket handler that is ready before any actor, so that what a
/// burst of frames asks for is there at once and leaves together. Under
/// load the worker looks at its sockets after every few actor runs, so
/// that neither side waits for the other. It keeps CAF's timers itself
/// (delayed messages, timeouts) and waits in epoll only until the next is
/// due, so arming a timer wakes no clock thread; they fire in whole
/// milliseconds (epoll's resolution), up to 1 ms late.
///
/// When it runs out of work it keeps looking for `idle_spin` (sockets,
/// jobs, timers) before it sleeps, and gives the core away with
/// sched_yield() between looks, so other processes on the core run first.
/// A sleeping worker on a virtual machine's halted vCPU is costly to wake:
/// the next message of a conversation usually arrives within that time and
/// finds the worker awake. After that time, or with 0, it sleeps. When work
/// keeps coming soon after the spin ended, the spin doubles, up to
/// `idle_spin_max`, and when work comes later than that it halves back
/// (idle_spin_window.hpp: the rule of Linux's haltpoll governor).
///
/// For processes that share the cores with others (scheduling::efficiency):
/// one thread does the work of two.
void use_io_scheduler(caf::actor_system_config& cfg,
                      std::chrono::microseconds idle_spin = default_idle_spin,
                      std::chrono::microseconds idle_spin_max = default_idle_spin_max);

/// Sets the idle spin of the I/O scheduler that `cfg` will build and the
/// longest it grows to (after use_io_scheduler(), before the actor system
/// starts; negative: 0; a maximum below `idle_spin`: `idle_spin`, which
/// keeps the spin fixed).
void set_idle_spin(caf::actor_system_config& cfg, std::chrono::microseconds idle_spin,
                   std::chrono::microseconds idle_spin_max = default_idle_spin_max);

/// Called by an actor running in an I/O scheduler's worker: (flush_atom)
/// goes to `self` once the worker has run the jobs waiting, or after a few
/// dozen runs if jobs keep coming. What those jobs produce joins one flush:
/// a peer link hands a datagram's messages to their receivers before it
/// asks, so a reply to them leaves in the same packet as the datagram's
/// acknowledgement. Of several actors waiting, the one that asked last
/// flushes first, alone, and the next when the jobs that flush made have
/// run: a service that answers through an outbox of its own asks after the
/// peer link, and its answer reaches the peer link before that flushes.
/// False, and nothing arranged, when no other job waits (flush now:
/// nothing would join) or in any other thread.
bool flush_when_idle(caf::abstract_actor* self);

/// The poller of `sys`'s worker if `sys` runs the I/O scheduler, else
/// nullptr (then sockets need threads of their own).
io_poller* io_poller_of(caf::actor_system& sys);

/// How many times the worker of `sys` ran out of work and, its idle spin
/// over, went to sleep in the poller: with the spin suited to the traffic,
/// few (a worker woken from sleep costs a wake-up; on a virtual machine's
/// halted vCPU, tens of us). -1 if `sys` does not run the I/O scheduler.
int64_t io_worker_sleeps(caf::actor_system& sys);

} // namespace meshrt::transport
