// The I/O scheduler: one CAF worker that runs the actors and, when they
// are idle or every few runs, the sockets.

#include "transport/io_scheduler.hpp"

#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support/eventually.hpp"
#include "support/test_system.hpp"
#include "support/threads.hpp"
#include "support/transport_port.hpp"
#include "transport/atoms.hpp"
#include "transport/deferred_flush.hpp"
#include "transport/io_poller.hpp"
#include "transport/transport_actor.hpp"

using namespace std::chrono_literals;
using namespace meshrt;
using namespace meshrt::transport;
using meshrt::test::eventually;

namespace {

using count_atom = caf::atom_constant<caf::atom("count")>;
using where_atom = caf::atom_constant<caf::atom("where")>;

/// Counts (count_atom) messages; answers the count and its thread's id.
caf::behavior counter(caf::event_based_actor* self, std::shared_ptr<std::atomic<int>> n) {
  return {
    [=](count_atom) { ++*n; },
    [=](where_atom) {
      return static_cast<uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id()));
    },
  };
}

uint64_t thread_hash() {
  return static_cast<uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id()));
}

/// Answers every message that arrives over a transport with a copy, through
/// the peer link that handed it over. (The int: CAF 0.17 spawns a function
/// without arguments through a null pointer, which UBSan reports.)
caf::behavior echo(caf::event_based_actor* self, int) {
  return {
    [=](received_atom, const std::string&, const packed_messages& batch, bool) {
      auto link = caf::actor_cast<caf::actor>(self->current_sender());
      for (const auto& m : batch.unpack())
        self->send(link, mesh_send_atom::value, m, true);
    },
  };
}

/// The same, but as a service with an outbox answers (the DM service): the
/// copies wait for the actor's own deferred flush and leave together.
caf::behavior batching_echo(caf::event_based_actor* self, int) {
  struct outbox {
    deferred_flush flush;
    std::vector<std::pair<caf::actor, byte_buffer>> waiting;
  };
  auto box = std::make_shared<outbox>();
  auto send_all = [=] {
    for (auto& [link, m] : box->waiting)
      self->send(link, mesh_send_atom::value, std::move(m), true);
    box->waiting.clear();
  };
  return {
    [=](received_atom, const std::string&, const packed_messages& batch, bool) {
      auto link = caf::actor_cast<caf::actor>(self->current_sender());
      for (const auto& m : batch.unpack())
        box->waiting.emplace_back(link, m);
      if (box->flush.now_or_later(self))
        send_all();
    },
    [=](flush_atom) {
      box->flush.arrived();
      send_all();
    },
  };
}

/// Sends `rounds` messages from a transport to one whose receiver is
/// `responder`, one at a time, each waiting for its copy; the datagrams
/// the responder's transport sent, or 0 if a copy did not come back.
uint64_t datagrams_for_answers(caf::actor_system& sys, caf::actor responder, uint32_t rounds) {
  caf::scoped_actor at_a{sys};
  transport_config cfg;
  cfg.port = 52220;
  auto a = spawn_transport(sys, cfg, at_a);
  auto b = spawn_transport(sys, cfg, responder);
  auto port_b = test::transport_port(at_a, b);
  REQUIRE(port_b != 0);
  auto addr_b = "127.0.0.1:" + std::to_string(port_b);
  uint32_t answered = 0;
  for (uint32_t i = 0; i < rounds; ++i) {
    byte_buffer m(16, static_cast<uint8_t>(i));
    at_a->send(a, mesh_send_atom::value, addr_b, std::move(m), true);
    bool got = false;
    at_a->receive(
      [&](received_atom, const std::string&, const packed_messages& batch, bool) {
        auto messages = batch.unpack();
        got = messages.size() == 1 && messages[0] == byte_buffer(16, static_cast<uint8_t>(i));
      },
      caf::after(5s) >> [] {});
    if (!got)
      break;
    ++answered;
  }
  CHECK_MESSAGE(answered == rounds, "copy " << answered << " did not come back");
  uint64_t datagrams = 0;
  if (answered == rounds) {
    nlohmann::json stats;
    at_a->request(b, 5s, stats_atom::value)
      .receive([&](const std::string& s) { stats = nlohmann::json::parse(s); }, [](caf::error&) {});
    REQUIRE(stats["peers"].size() == 1);
    datagrams = stats["peers"].begin()->at("datagrams_out").get<uint64_t>();
  }
  at_a->send_exit(a, caf::exit_reason::user_shutdown);
  at_a->send_exit(b, caf::exit_reason::user_shutdown);
  at_a->send_exit(responder, caf::exit_reason::user_shutdown);
  return datagrams;
}

} // namespace

TEST_SUITE("transport.io_scheduler") {
  TEST_CASE("only a system built with the I/O scheduler has a poller, and one worker") {
    caf::actor_system plain{test::test_system_config()};
    CHECK(io_poller_of(plain) == nullptr);
    caf::actor_system_config cfg;
    use_io_scheduler(cfg);
    cfg.set("scheduler.max-threads", 4); // the poller has one waiting thread
    caf::actor_system sys{cfg};
    CHECK(io_poller_of(sys) != nullptr);
    CHECK(sys.scheduler().num_workers() == 1);
  }

  TEST_CASE("actors answer, delayed messages arrive, and other threads' messages wake it") {
    caf::actor_system sys{test::io_system_config()};
    auto n = std::make_shared<std::atomic<int>>(0);
    auto c = sys.spawn(counter, n);
    caf::scoped_actor self{sys};
    // a delayed message: the clock's thread wakes the worker in its poller
    self->delayed_send(c, 30ms, count_atom::value);
    REQUIRE(eventually([&] { return n->load() == 1; }, 5s));
    // four threads at once, each message maybe while the worker falls asleep
    std::vector<std::thread> senders;
    for (int t = 0; t < 4; ++t)
      senders.emplace_back([&] {
        for (int i = 0; i < 2000; ++i) {
          caf::anon_send(c, count_atom::value);
          if (i % 100 == 0)
            std::this_thread::sleep_for(1ms);
        }
      });
    for (auto& t : senders)
      t.join();
    CHECK(eventually([&] { return n->load() == 1 + 4 * 2000; }, 10s));
    caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  }

  TEST_CASE("out of work the worker keeps looking for its idle spin, yielding, then sleeps") {
    // The worker's CPU time tells: a thread asleep in epoll gains none.
    auto worker_clock = [](caf::actor_system& sys) {
      caf::scoped_actor self{sys};
      auto probe = sys.spawn(
        [](caf::event_based_actor*, int) -> caf::behavior {
          return {[](where_atom) {
            clockid_t id{};
            REQUIRE(pthread_getcpuclockid(pthread_self(), &id) == 0);
            return static_cast<int>(id);
          }};
        },
        0);
      int id = 0;
      self->request(probe, 5s, where_atom::value)
        .receive([&](int i) { id = i; }, [](caf::error&) {});
      caf::anon_send_exit(probe, caf::exit_reason::user_shutdown);
      return static_cast<clockid_t>(id);
    };
    auto cpu_ms = [](clockid_t id) {
      timespec ts{};
      REQUIRE(clock_gettime(id, &ts) == 0);
      return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
    };
    SUBCASE("a long spin: it keeps the core's spare time, and sees work, timers, sockets") {
      caf::actor_system_config cfg;
      use_io_scheduler(cfg, 10s);
      caf::actor_system sys{cfg};
      auto clock = worker_clock(sys);
      auto before = cpu_ms(clock);
      std::this_thread::sleep_for(300ms);
      // Yielding to every other thread, it still gets a share of the core.
      CHECK(cpu_ms(clock) - before > 10);
      auto n = std::make_shared<std::atomic<int>>(0);
      auto c = sys.spawn(counter, n);
      caf::anon_send(c, count_atom::value); // another thread's message
      caf::scoped_actor self{sys};
      self->delayed_send(c, 30ms, count_atom::value); // a timer due mid-spin
      CHECK(eventually([&] { return n->load() == 2; }, 5s));
      int fds[2];
      REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, fds) == 0);
      std::atomic<int> read{0};
      io_poller_of(sys)->watch(fds[0], [&] {
        char ch;
        while (::recv(fds[0], &ch, 1, 0) == 1)
          ++read;
      });
      char ch = 'x';
      REQUIRE(::send(fds[1], &ch, 1, 0) == 1);
      CHECK(eventually([&] { return read.load() == 1; }, 5s));
      io_poller_of(sys)->unwatch(fds[0]);
      ::close(fds[0]);
      ::close(fds[1]);
      caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    }
    SUBCASE("a short spin, then asleep: no CPU until the next work") {
      caf::actor_system_config cfg;
      use_io_scheduler(cfg, 20ms);
      caf::actor_system sys{cfg};
      auto clock = worker_clock(sys);
      std::this_thread::sleep_for(100ms); // the spin after the probe ends
      auto before = cpu_ms(clock);
      std::this_thread::sleep_for(300ms);
      CHECK(cpu_ms(clock) - before < 5);
      // and a sleeping worker still gets other threads' messages
      auto n = std::make_shared<std::atomic<int>>(0);
      auto c = sys.spawn(counter, n);
      caf::anon_send(c, count_atom::value);
      CHECK(eventually([&] { return n->load() == 1; }, 5s));
      caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
    }
  }

  TEST_CASE("work that keeps coming just after the idle spin grows it, then it sleeps again") {
    // Work every 10 ms, a spin of 1 ms: fixed, the worker sleeps in each
    // gap; allowed to grow to 50 ms, it stays awake through them. Its count
    // of sleeps tells (its CPU time would too, but a spinning thread yields
    // and gains little of it on a loaded machine); and once the work stops,
    // its thread's CPU time, that it sleeps again.
    struct outcome {
      int64_t sleeps_during = 0;
      double cpu_ms_during = 0;
      double cpu_ms_after = 0;
    };
    auto run_gaps = [](std::chrono::microseconds max) {
      caf::actor_system_config cfg;
      use_io_scheduler(cfg, 1ms, max);
      caf::actor_system sys{cfg};
      auto n = std::make_shared<std::atomic<int>>(0);
      auto id = std::make_shared<std::atomic<int>>(-1);
      auto c = sys.spawn(
        [](caf::event_based_actor*, std::shared_ptr<std::atomic<int>> n,
           std::shared_ptr<std::atomic<int>> id) -> caf::behavior {
          return {[=](count_atom) {
            clockid_t clock{};
            if (pthread_getcpuclockid(pthread_self(), &clock) == 0)
              *id = static_cast<int>(clock);
            ++*n;
          }};
        },
        n, id);
      auto cpu_ms = [&] {
        timespec ts{};
        clock_gettime(static_cast<clockid_t>(id->load()), &ts);
        return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
      };
      caf::anon_send(c, count_atom::value);
      REQUIRE(eventually([&] { return n->load() == 1; }, 5s));
      for (int i = 0; i < 10; ++i) { // the window grows: 2, 4, ... 16 ms
        std::this_thread::sleep_for(10ms);
        caf::anon_send(c, count_atom::value);
      }
      outcome result;
      auto before = cpu_ms();
      auto slept = io_worker_sleeps(sys);
      for (int i = 0; i < 30; ++i) {
        std::this_thread::sleep_for(10ms);
        caf::anon_send(c, count_atom::value);
      }
      REQUIRE(eventually([&] { return n->load() == 41; }, 5s));
      result.sleeps_during = io_worker_sleeps(sys) - slept;
      result.cpu_ms_during = cpu_ms() - before;
      // No more work: after its window, and however grown, it sleeps.
      std::this_thread::sleep_for(200ms);
      before = cpu_ms();
      std::this_thread::sleep_for(300ms);
      result.cpu_ms_after = cpu_ms() - before;
      caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
      return result;
    };
    auto fixed = run_gaps(1ms);
    auto grown = run_gaps(50ms);
    INFO("during 30 gaps of 10 ms, sleeps and CPU ms: fixed ", fixed.sleeps_during, ", ",
         fixed.cpu_ms_during, "; growing ", grown.sleeps_during, ", ", grown.cpu_ms_during);
    CHECK(fixed.sleeps_during >= 20);
    CHECK(grown.sleeps_during <= 5);
    CHECK(fixed.cpu_ms_after < 5);
    CHECK(grown.cpu_ms_after < 5);
  }

  TEST_CASE("the worker keeps the timers: its own and other threads' fire when due, in order") {
    caf::actor_system sys{test::io_system_config()};
    auto fired = std::make_shared<std::vector<int>>();
    auto mtx = std::make_shared<std::mutex>();
    auto t0 = std::chrono::steady_clock::now();
    auto elapsed = std::make_shared<std::atomic<int64_t>>(0);
    // An actor arms timers from the worker itself (no wake-up: the worker
    // waits only until the first is due), later ones before earlier ones.
    // (Each spawned function takes an argument: CAF 0.17 spawning one of
    // none binds a null reference, which UBSan reports.)
    auto timers = sys.spawn(
      [=](caf::event_based_actor* self, int) -> caf::behavior {
        for (int ms : {120, 40, 80})
          self->delayed_send(self, std::chrono::milliseconds{ms}, ms);
        return {
          [=](int ms) {
            std::lock_guard<std::mutex> guard{*mtx};
            fired->push_back(ms);
            if (ms == 120)
              *elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - t0)
                           .count();
          },
        };
      },
      0);
    // a request that nobody answers times out on the worker's clock
    auto silent = sys.spawn(
      [](caf::event_based_actor*, int) -> caf::behavior {
        return {[](count_atom) -> caf::result<int> { return caf::delegated<int>{}; }};
      },
      0);
    caf::scoped_actor self{sys};
    caf::error timeout;
    self->request(silent, 100ms, count_atom::value)
      .receive([](int) {}, [&](caf::error& e) { timeout = e; });
    CHECK(timeout == caf::sec::request_timeout);
    REQUIRE(eventually(
      [&] {
        std::lock_guard<std::mutex> guard{*mtx};
        return fired->size() == 3;
      },
      5s));
    CHECK(*fired == std::vector<int>{40, 80, 120});
    CHECK(elapsed->load() >= 120);
    CHECK(elapsed->load() < 2000);
    caf::anon_send_exit(timers, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
  }

  TEST_CASE(
    "a flush asked for in the worker comes after the jobs waiting, even if they never end") {
    caf::actor_system sys{test::io_system_config()};
    auto log = std::make_shared<std::vector<std::string>>();
    auto mtx = std::make_shared<std::mutex>();
    auto note = [=](std::string what) {
      std::lock_guard<std::mutex> guard{*mtx};
      log->push_back(std::move(what));
    };
    auto recorder = [=](caf::event_based_actor*, std::string name) -> caf::behavior {
      return {[=](count_atom) { note(name); }};
    };
    std::vector<caf::actor> others{sys.spawn(recorder, "a"), sys.spawn(recorder, "b")};
    // Two actors pass a ball back and forth 100,000 times: the queue is
    // never empty while they play, one run per pass.
    auto passes = std::make_shared<std::atomic<int>>(0);
    auto player = [=](caf::event_based_actor* self, int) -> caf::behavior {
      return {
        [=](int left, caf::actor& other) {
          ++*passes;
          if (left > 0)
            self->send(other, left - 1, caf::actor_cast<caf::actor>(self));
        },
      };
    };
    auto p1 = sys.spawn(player, 0);
    auto p2 = sys.spawn(player, 0);
    auto flusher = sys.spawn(
      [=](caf::event_based_actor* self, int) -> caf::behavior {
        return {
          [=](count_atom) { // others get work first, then the flush is asked for
            for (auto& o : others)
              self->send(o, count_atom::value);
            note(flush_when_idle(self) ? "asked" : "refused");
          },
          [=](where_atom) { // nothing else waits: flush at once, nothing arranged
            return flush_when_idle(self) ? std::string{"asked"} : std::string{"refused"};
          },
          [=](int) { // during the game
            auto at = passes->load();
            note(flush_when_idle(self) ? std::to_string(at) : "refused in game");
          },
          [=](flush_atom) { note("flush after " + std::to_string(passes->load()) + " passes"); },
        };
      },
      0);
    // not a worker's thread: nothing arranged
    CHECK_FALSE(flush_when_idle(caf::actor_cast<caf::abstract_actor*>(flusher)));
    caf::scoped_actor self{sys};
    std::string lone;
    self->request(flusher, 5s, where_atom::value)
      .receive([&](std::string& s) { lone = s; }, [](caf::error&) {});
    CHECK(lone == "refused");
    caf::anon_send(flusher, count_atom::value);
    auto entries = [&] {
      std::lock_guard<std::mutex> guard{*mtx};
      return *log;
    };
    REQUIRE(eventually([&] { return entries().size() == 4; }, 5s));
    CHECK(entries() == std::vector<std::string>{"asked", "a", "b", "flush after 0 passes"});
    // the game starts; the flush is asked for during it and does not wait for its end
    caf::anon_send(p1, 100000, p2);
    REQUIRE(eventually([&] { return passes->load() > 100; }, 5s));
    caf::anon_send(flusher, 0);
    REQUIRE(eventually([&] { return entries().size() == 6; }, 10s));
    auto after = entries();
    REQUIRE(after[4] != "refused in game");
    auto asked_at = std::stoi(after[4]);
    auto flushed_at = std::stoi(after[5].substr(std::string{"flush after "}.size()));
    CHECK(flushed_at >= asked_at);
    CHECK(flushed_at - asked_at <= 64); // a few dozen runs, not the game's end
    CHECK(eventually([&] { return passes->load() == 100001; }, 20s));
    for (auto& a : {p1, p2, flusher, others[0], others[1]})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  TEST_CASE("what arrives on many sockets at once is handled before any actor: one flush") {
    caf::actor_system sys{test::io_system_config()};
    auto* poller = io_poller_of(sys);
    REQUIRE(poller != nullptr);
    // As in a gateway: each socket's handler hands its frame to an actor of
    // its own (a user's session), which passes it on to one actor that
    // sends in batches (the peer link).
    auto items = std::make_shared<std::atomic<int>>(0);
    auto flushes = std::make_shared<std::atomic<int>>(0);
    auto batcher = sys.spawn(
      [=](caf::event_based_actor* self, int) -> caf::behavior {
        auto flush = std::make_shared<deferred_flush>();
        return {
          [=](count_atom) {
            ++*items;
            if (flush->now_or_later(self))
              ++*flushes;
          },
          [=](flush_atom) {
            flush->arrived();
            ++*flushes;
          },
        };
      },
      0);
    auto relay = [](caf::event_based_actor* self, caf::actor to) -> caf::behavior {
      return {[=](count_atom) { self->send(to, count_atom::value); }};
    };
    constexpr int sockets = 16;
    std::vector<std::array<int, 2>> pairs(sockets);
    std::vector<caf::actor> relays;
    for (auto& p : pairs) {
      REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, p.data()) == 0);
      auto r = sys.spawn(relay, batcher);
      relays.push_back(r);
      poller->watch(p[0], [fd = p[0], r] {
        char c;
        while (::recv(fd, &c, 1, 0) == 1)
          caf::anon_send(r, count_atom::value);
      });
    }
    // The worker is held in a job while every socket gets its datagram, so
    // that one wake-up finds them all ready.
    std::promise<void> written;
    auto held = std::make_shared<std::shared_future<void>>(written.get_future().share());
    auto holder
      = sys.spawn([=](caf::event_based_actor*,
                      int) -> caf::behavior { return {[=](count_atom) { held->wait(); }}; },
                  0);
    caf::anon_send(holder, count_atom::value);
    std::this_thread::sleep_for(20ms);
    for (auto& p : pairs) {
      char c = 'x';
      REQUIRE(::send(p[1], &c, 1, 0) == 1);
    }
    written.set_value();
    REQUIRE(eventually([&] { return items->load() == sockets && flushes->load() > 0; }, 5s));
    std::this_thread::sleep_for(20ms);
    CHECK(flushes->load() == 1);
    for (auto& p : pairs) {
      poller->unwatch(p[0]);
      ::close(p[0]);
      ::close(p[1]);
    }
    for (auto& a : relays)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    for (auto& a : {batcher, holder})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  TEST_CASE("a watched socket's handler runs in the thread that runs the actors") {
    caf::actor_system sys{test::io_system_config()};
    auto* poller = io_poller_of(sys);
    REQUIRE(poller != nullptr);
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, fds) == 0);
    std::atomic<uint64_t> handler_thread{0};
    poller->watch(fds[0], [&] {
      char c;
      while (::recv(fds[0], &c, 1, 0) == 1) {
      }
      handler_thread = thread_hash();
    });
    char c = 'x';
    REQUIRE(::send(fds[1], &c, 1, 0) == 1);
    REQUIRE(eventually([&] { return handler_thread.load() != 0; }, 5s));
    auto a = sys.spawn(counter, std::make_shared<std::atomic<int>>(0));
    caf::scoped_actor self{sys};
    uint64_t actor_thread = 0;
    self->request(a, 5s, where_atom::value)
      .receive([&](uint64_t h) { actor_thread = h; }, [](caf::error&) {});
    CHECK(actor_thread == handler_thread.load());
    CHECK(actor_thread != thread_hash());
    poller->unwatch(fds[0]);
    ::close(fds[0]);
    ::close(fds[1]);
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  TEST_CASE("transports read their sockets in the worker: no thread of their own, all arrives") {
    caf::actor_system sys{test::io_system_config()};
    caf::scoped_actor at_a{sys};
    caf::scoped_actor at_b{sys};
    auto threads = test::thread_ids();
    transport_config cfg;
    cfg.port = 52200;
    auto a = spawn_transport(sys, cfg, at_a);
    auto b = spawn_transport(sys, cfg, at_b);
    auto port_b = test::transport_port(at_a, b);
    REQUIRE(port_b != 0);
    CHECK(test::threads_started_since(threads) == ""); // both have started by now
    // 5,000 reliable messages in a burst: many datagrams per look at the
    // socket, while the peer links run in the same thread
    constexpr uint32_t count = 5000;
    for (uint32_t i = 0; i < count; ++i) {
      byte_buffer m(64, static_cast<uint8_t>(i));
      std::memcpy(m.data(), &i, sizeof(i));
      at_a->send(a, mesh_send_atom::value, "127.0.0.1:" + std::to_string(port_b), std::move(m),
                 true);
    }
    uint32_t expected = 0;
    bool timed_out = false;
    while (expected < count && !timed_out)
      at_b->receive(
        [&](received_atom, const std::string&, const packed_messages& batch, bool) {
          for (const auto& m : batch.unpack()) {
            uint32_t i = 0;
            std::memcpy(&i, m.data(), sizeof(i));
            REQUIRE(i == expected);
            ++expected;
          }
        },
        caf::after(10s) >> [&] { timed_out = true; });
    CHECK(expected == count);
    at_a->send_exit(a, caf::exit_reason::user_shutdown);
    at_a->send_exit(b, caf::exit_reason::user_shutdown);
  }

  // One request at a time: each reaches an idle B, whose peer link would
  // otherwise acknowledge it at once and then send the answer on its own.
  // One packet per request is the goal (a lost race with a timer may add a
  // probe).
  TEST_CASE("an answer to a received message leaves in the packet that acknowledges it") {
    caf::actor_system sys{test::io_system_config()};
    constexpr uint32_t rounds = 200;
    auto datagrams = datagrams_for_answers(sys, sys.spawn(echo, 0), rounds);
    CHECK(datagrams >= rounds);
    CHECK(datagrams <= rounds + rounds / 10);
  }

  TEST_CASE("an answer that waits for its service's own flush still joins the acknowledgement") {
    // The peer link asks for its flush before the service does; flushing in
    // that order sent each ack alone and the answer after it (2 per request)
    caf::actor_system sys{test::io_system_config()};
    constexpr uint32_t rounds = 200;
    auto datagrams = datagrams_for_answers(sys, sys.spawn(batching_echo, 0), rounds);
    CHECK(datagrams >= rounds);
    CHECK(datagrams <= rounds + rounds / 10);
  }
}
