#include "benchmarks/transport_bench.hpp"

#include <arpa/inet.h>
#include <enet/enet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/mesh_error.hpp"
#include "benchmarks/bench_util.hpp"
#include "runtime/system_config.hpp"
#include "transport/atoms.hpp"
#include "transport/session.hpp"
#include "transport/transport_actor.hpp"

namespace meshrt::bench {

namespace {

using namespace std::chrono_literals;

constexpr size_t ping_size = 64;
constexpr size_t big_size = 10'000'000;
constexpr size_t mid_size = 1'000'000;

/// MB/s for `count` messages of `size` bytes in `seconds` (0 if it failed).
double goodput_mbps(int count, size_t size, double seconds) {
  return seconds > 0 ? static_cast<double>(count) * static_cast<double>(size) / seconds / 1e6 : 0;
}

/// Messages per second (0 if it failed).
double rate(int count, double seconds) {
  return seconds > 0 ? count / seconds : 0;
}

// ---- raw UDP: the physical limit of loopback here ---------------------------------

void raw_udp(bench_report& r, int rounds) {
  add_raw_udp_rtts(r, rounds, ping_size);
}

// ---- ENet ---------------------------------------------------------------------------

struct enet_pair {
  ENetHost* server = nullptr;
  ENetHost* client = nullptr;
  ENetPeer* peer = nullptr; // client's view of the server
  std::atomic<bool> stop{false};
  std::thread server_thread;

  enet_pair() {
    ENetAddress addr{};
    enet_address_set_host(&addr, "127.0.0.1");
    addr.port = 0;
    server = enet_host_create(&addr, 4, 2, 0, 0);
    client = enet_host_create(nullptr, 1, 2, 0, 0);
    if (server == nullptr || client == nullptr)
      throw std::runtime_error("ENet baseline: cannot create hosts");
    ENetAddress bound{};
    enet_socket_get_address(server->socket, &bound);
    enet_address_set_host(&bound, "127.0.0.1");
    peer = enet_host_connect(client, &bound, 2, 0);
  }

  /// Runs the server: each received packet is handed to `on_packet`, which
  /// may answer through the given peer.
  template<class F>
  void serve(F on_packet) {
    server_thread = std::thread{[this, on_packet] {
      ENetEvent ev;
      while (!stop.load()) {
        if (enet_host_service(server, &ev, 1) > 0 && ev.type == ENET_EVENT_TYPE_RECEIVE) {
          on_packet(ev.peer, ev.packet);
          enet_packet_destroy(ev.packet);
          enet_host_flush(server);
        }
      }
    }};
    ENetEvent ev;
    auto deadline = clock_type::now() + 5s;
    while (clock_type::now() < deadline)
      if (enet_host_service(client, &ev, 10) > 0 && ev.type == ENET_EVENT_TYPE_CONNECT)
        return;
    throw std::runtime_error("ENet baseline: no connection");
  }

  /// Services the client until a packet arrives (or 10 s pass).
  bool await_packet(size_t* size = nullptr) {
    ENetEvent ev;
    auto deadline = clock_type::now() + 10s;
    while (clock_type::now() < deadline) {
      if (enet_host_service(client, &ev, 1) > 0 && ev.type == ENET_EVENT_TYPE_RECEIVE) {
        if (size != nullptr)
          *size = ev.packet->dataLength;
        enet_packet_destroy(ev.packet);
        return true;
      }
    }
    return false;
  }

  ~enet_pair() {
    stop = true;
    if (server_thread.joinable())
      server_thread.join();
    enet_host_destroy(client);
    enet_host_destroy(server);
  }
};

void send_enet(ENetPeer* peer, const uint8_t* data, size_t size) {
  enet_peer_send(peer, 0, enet_packet_create(data, size, ENET_PACKET_FLAG_RELIABLE));
}

void enet(bench_report& r, const transport_bench_options& o) {
  if (enet_initialize() != 0)
    throw std::runtime_error("ENet baseline: enet_initialize failed");
  std::vector<uint8_t> payload(big_size, 0x42);
  { // ping-pong: the server echoes
    enet_pair p;
    p.serve([](ENetPeer* from, ENetPacket* pkt) { send_enet(from, pkt->data, pkt->dataLength); });
    std::vector<double> rtts;
    for (int i = 0; i < o.pingpong_rounds; ++i) {
      auto t0 = clock_type::now();
      send_enet(p.peer, payload.data(), ping_size);
      enet_host_flush(p.client);
      if (!p.await_packet())
        break;
      rtts.push_back(seconds_since(t0) * 1e6);
    }
    add_latencies(r, "enet", "rtt", rtts);
  }
  // Bulk and small-message rate: the server answers after every `batch`
  // packets with one byte, the client times until the last answer.
  auto one_way = [&](size_t size, int count, int batch) {
    enet_pair p;
    auto received = std::make_shared<int>(0);
    p.serve([received, batch](ENetPeer* from, ENetPacket*) {
      if (++*received % batch == 0) {
        uint8_t one = 1;
        send_enet(from, &one, 1);
      }
    });
    auto t0 = clock_type::now();
    for (int i = 0; i < count; ++i) {
      send_enet(p.peer, payload.data(), size);
      if (i % 64 == 63)
        enet_host_service(p.client, nullptr, 0);
    }
    enet_host_flush(p.client);
    for (int answers = 0; answers < count / batch; ++answers)
      if (!p.await_packet())
        return 0.0;
    return seconds_since(t0);
  };
  // Streamed bulk: at most `window` messages unanswered, as a sender that
  // paces itself keeps it; no backlog builds up on either side.
  auto streamed = [&](size_t size, int count, int window) {
    enet_pair p;
    p.serve([](ENetPeer* from, ENetPacket*) {
      uint8_t one = 1;
      send_enet(from, &one, 1);
    });
    auto t0 = clock_type::now();
    int sent = 0;
    for (int answers = 0; answers < count; ++answers) {
      for (; sent < count && sent - answers < window; ++sent)
        send_enet(p.peer, payload.data(), size);
      enet_host_flush(p.client);
      if (!p.await_packet())
        return 0.0;
    }
    return seconds_since(t0);
  };
  auto t = one_way(big_size, o.bulk_messages, 1);
  r.add("enet", "bulk_goodput_mbps", goodput_mbps(o.bulk_messages, big_size, t), "MB/s");
  t = streamed(big_size, o.streamed_messages, o.streamed_window);
  r.add("enet", "bulk_streamed_mbps", goodput_mbps(o.streamed_messages, big_size, t), "MB/s");
  t = one_way(mid_size, o.bulk_small_messages, 1);
  r.add("enet", "bulk1m_goodput_mbps", goodput_mbps(o.bulk_small_messages, mid_size, t), "MB/s");
  // Twice, as for meshrt: the first burst is the process's first, the
  // second the rate of a process that has run.
  t = one_way(ping_size, o.small_messages, o.small_messages);
  r.add("enet", "small_msg_rate_cold", rate(o.small_messages, t), "msg/s");
  t = one_way(ping_size, o.small_messages, o.small_messages);
  r.add("enet", "small_msg_rate", rate(o.small_messages, t), "msg/s");
  enet_deinitialize();
}

// ---- meshrt ---------------------------------------------------------------------------

/// The protocol alone: two sessions in this thread, packets handed from one
/// to the other in memory, `count` 64-byte reliable messages 256 at a time.
/// The ceiling of the small-message rate without sockets, threads or actors.
double session_core_rate(int count) {
  transport::session a{transport::session_options{}, 1};
  transport::session b{transport::session_options{}, 2};
  byte_buffer payload(ping_size, 0x42);
  std::vector<byte_buffer> to_b;
  std::vector<byte_buffer> to_a;
  uint64_t now = 1000;
  int sent = 0;
  int received = 0;
  auto t0 = clock_type::now();
  // Every pass moves data and its acks; a stalled pair ends the loop.
  for (int stalled = 0; received < count && stalled < 1000; now += 5) {
    for (int i = 0; i < 256 && sent < count; ++i, ++sent)
      a.send(payload, transport::reliability::reliable, now);
    a.flush(now, [&](const uint8_t* d, size_t n) { to_b.emplace_back(d, d + n); });
    for (const auto& p : to_b)
      b.input(p.data(), p.size(), now);
    to_b.clear();
    size_t got = 0;
    for (const auto& batch : b.take_batches())
      got += batch.messages.size();
    received += static_cast<int>(got);
    stalled = got == 0 ? stalled + 1 : 0;
    b.flush(now, [&](const uint8_t* d, size_t n) { to_a.emplace_back(d, d + n); });
    for (const auto& p : to_a)
      a.input(p.data(), p.size(), now);
    to_a.clear();
  }
  return received == count ? rate(count, seconds_since(t0)) : 0.0;
}

using transport::mesh_send_atom;
using transport::received_atom;
using setup_atom = caf::atom_constant<caf::atom("setup")>;
using start_atom = caf::atom_constant<caf::atom("start")>;

/// Server side: echoes, or answers one byte after every `batch` messages.
caf::behavior server_actor(caf::event_based_actor* self, int batch) {
  auto transport = std::make_shared<caf::actor>();
  auto received = std::make_shared<int>(0);
  return {
    [=](setup_atom, caf::actor t) { *transport = std::move(t); },
    [=](received_atom, std::string& peer, packed_messages& messages, bool reliable) {
      if (batch == 0) {
        self->send(*transport, mesh_send_atom::value, std::move(peer), std::move(messages),
                   reliable);
        return;
      }
      auto before = *received / batch;
      *received += static_cast<int>(messages.size());
      for (auto n = before; n < *received / batch; ++n)
        self->send(*transport, mesh_send_atom::value, peer, byte_buffer(1, 1), true);
    },
    [=](transport::unreachable_atom, const std::string&) {
      // the client's side closed first at the end of a run
    },
  };
}

/// Client side of the ping-pong: `rounds` round trips, then the RTTs go to
/// `report_to`.
caf::behavior pinger_actor(caf::event_based_actor* self, int rounds, const caf::actor& report_to) {
  struct state_t {
    caf::actor link;
    std::vector<double> rtts;
    clock_type::time_point t0;
  };
  auto st = std::make_shared<state_t>();
  auto ping = [=] {
    st->t0 = clock_type::now();
    self->send(st->link, mesh_send_atom::value, byte_buffer(ping_size, 7), true);
  };
  return {
    [=](start_atom, caf::actor link) {
      st->link = std::move(link);
      ping();
    },
    [=](received_atom, const std::string&, const packed_messages&, bool) {
      st->rtts.push_back(seconds_since(st->t0) * 1e6);
      if (static_cast<int>(st->rtts.size()) < rounds)
        ping();
      else
        self->send(report_to, std::move(st->rtts));
    },
    [=](transport::unreachable_atom, const std::string&) {
      // the server's side closed first at the end of a run
    },
  };
}

struct meshrt_pair {
  caf::actor_system& sys;
  caf::scoped_actor self{sys};
  caf::actor server;
  caf::actor client_receiver;
  caf::actor ta;
  caf::actor tb;
  caf::actor link; // client -> server

  meshrt_pair(caf::actor_system& sys, caf::actor server_actor, caf::actor client_receiver,
              const std::optional<secret_key>& key, transport::fault_options faults = {}) :
    sys(sys),
    server(std::move(server_actor)), client_receiver(std::move(client_receiver)) {
    transport::transport_config cfg;
    cfg.port = 47500;
    cfg.faults = faults;
    cfg.cluster_key = key;
    ta = transport::spawn_transport(sys, cfg, this->client_receiver);
    tb = transport::spawn_transport(sys, cfg, server);
    self->send(server, setup_atom::value, tb);
    uint16_t port = 0;
    self->request(tb, 5s, transport::port_atom::value)
      .receive([&](uint16_t p) { port = p; }, [](caf::error&) {});
    self->request(ta, 5s, transport::peer_atom::value, "127.0.0.1:" + std::to_string(port))
      .receive([&](caf::actor& l) { link = l; }, [](caf::error&) {});
    if (!link)
      throw std::runtime_error("meshrt: no peer link");
  }

  ~meshrt_pair() {
    self->send_exit(ta, caf::exit_reason::user_shutdown);
    self->send_exit(tb, caf::exit_reason::user_shutdown);
    self->send_exit(server, caf::exit_reason::user_shutdown);
  }
};

/// meshrt's figures as `system`; with a cluster key (every datagram sealed
/// and checked: "meshrt_keyed") only those the key can change: round trip,
/// goodput, small messages.
void meshrt(bench_report& r, const transport_bench_options& o, const std::string& system,
            const std::optional<secret_key>& key) {
  caf::actor_system_config cfg;
  apply_meshrt_defaults(cfg, o.mode);
  if (o.mode == scheduling::latency)
    cfg.set("scheduler.max-threads", 2); // the README's figures of this mode were measured so
  caf::actor_system sys{cfg};
  { // ping-pong between event-based actors
    caf::scoped_actor self{sys};
    auto pinger = sys.spawn(pinger_actor, o.pingpong_rounds, caf::actor{self});
    meshrt_pair p{sys, sys.spawn(server_actor, 0), pinger, key};
    self->send(pinger, start_atom::value, p.link);
    std::vector<double> rtts;
    self->receive([&](std::vector<double>& v) { rtts = std::move(v); }, caf::after(30s) >> [] {});
    self->send_exit(pinger, caf::exit_reason::user_shutdown);
    add_latencies(r, system, "rtt", rtts);
  }
  // Waits for the next answers of the server (at most 20 s) and counts them;
  // false if none came.
  auto await_answers = [](caf::scoped_actor& self, int& answers) {
    bool late = false;
    self->receive([&](received_atom, const std::string&, const packed_messages& m,
                      bool) { answers += static_cast<int>(m.size()); },
                  caf::after(20s) >> [&] { late = true; });
    return !late;
  };
  // How the sender hands messages over: one actor message each, `per_send`
  // of them as a vector of buffers, or `per_send` packed into one buffer.
  enum class sending { single, vector, packed };
  auto one_way = [&](size_t size, int count, int batch, transport::fault_options faults,
                     sending how = sending::single, int per_send = 256) {
    caf::scoped_actor self{sys};
    meshrt_pair p{sys, sys.spawn(server_actor, batch), self, key, faults};
    byte_buffer payload(size, 0x42);
    auto t0 = clock_type::now();
    for (int i = 0; i < count; i += how == sending::single ? 1 : per_send) {
      auto n = std::min(per_send, count - i);
      if (how == sending::single) {
        self->send(p.link, mesh_send_atom::value, payload, true);
      } else if (how == sending::vector) {
        self->send(p.link, mesh_send_atom::value, std::vector<byte_buffer>(n, payload), true);
      } else {
        packed_messages packed;
        packed.reserve(n, static_cast<size_t>(n) * size);
        for (int k = 0; k < n; ++k)
          packed.add(payload);
        self->send(p.link, mesh_send_atom::value, std::move(packed), true);
      }
    }
    int answers = 0;
    while (answers < count / batch)
      if (!await_answers(self, answers)) {
        std::fprintf(stderr, "meshrt bench transport: %d of %d answers missing after 20 s\n",
                     count / batch - answers, count / batch);
        return 0.0;
      }
    return seconds_since(t0);
  };
  auto streamed = [&](size_t size, int count, int window) {
    caf::scoped_actor self{sys};
    meshrt_pair p{sys, sys.spawn(server_actor, 1), self, key};
    byte_buffer payload(size, 0x42);
    auto t0 = clock_type::now();
    int sent = 0;
    int answers = 0;
    while (answers < count) {
      for (; sent < count && sent - answers < window; ++sent)
        self->send(p.link, mesh_send_atom::value, payload, true);
      if (!await_answers(self, answers))
        return 0.0;
    }
    return seconds_since(t0);
  };
  auto t = one_way(big_size, o.bulk_messages, 1, {});
  r.add(system, "bulk_goodput_mbps", goodput_mbps(o.bulk_messages, big_size, t), "MB/s");
  t = streamed(big_size, o.streamed_messages, o.streamed_window);
  r.add(system, "bulk_streamed_mbps", goodput_mbps(o.streamed_messages, big_size, t), "MB/s");
  // Twice: the first burst fills the peer link's mailbox and session with
  // hundreds of MB the process never touched before, and on this project's
  // virtual machines their page faults took most of its time (2.2-3.5
  // million messages a second, 12.7-13.8 for the second burst); the second
  // reuses that memory, as a node that has run does.
  t = one_way(ping_size, o.small_messages, o.small_messages, {}, sending::packed);
  r.add(system, "small_msg_rate_cold", rate(o.small_messages, t), "msg/s");
  t = one_way(ping_size, o.small_messages, o.small_messages, {}, sending::packed);
  r.add(system, "small_msg_rate", rate(o.small_messages, t), "msg/s");
  if (key)
    return;
  t = one_way(mid_size, o.bulk_small_messages, 1, {});
  r.add("meshrt", "bulk1m_goodput_mbps", goodput_mbps(o.bulk_small_messages, mid_size, t), "MB/s");
  t = one_way(ping_size, o.small_messages, o.small_messages, {}, sending::vector);
  r.add("meshrt", "small_msg_rate_vector", rate(o.small_messages, t), "msg/s");
  // A third as many: one actor message each queues at the peer link longer
  // than retryTimeout (3 s) allows where they go at under a million a second.
  auto singles = o.small_messages / 3;
  t = one_way(ping_size, singles, singles, {});
  r.add("meshrt", "small_msg_rate_single", rate(singles, t), "msg/s");
  r.add("meshrt", "core_msg_rate", session_core_rate(o.small_messages), "msg/s");
  t = one_way(big_size, o.lossy_messages, 1, {10, 0, 0, 11});
  r.add("meshrt", "lossy_goodput_mbps", goodput_mbps(o.lossy_messages, big_size, t), "MB/s");
  // Goodput against loss (bench report draws it, 0% being bulk_goodput_mbps).
  for (int loss : {1, 5, 20}) {
    t = one_way(big_size, o.lossy_messages, 1, {static_cast<double>(loss), 0, 0, 11});
    r.add("meshrt", "lossy_goodput_mbps_" + std::to_string(loss),
          goodput_mbps(o.lossy_messages, big_size, t), "MB/s");
  }
}

} // namespace

bench_report run_transport_bench(const transport_bench_options& opts) {
  auto wanted
    = system_filter("transport", opts.only, {"meshrt", "meshrt_keyed", "raw_udp", "enet"});
  bench_report report{"transport"};
  if (wanted("raw_udp"))
    raw_udp(report, opts.pingpong_rounds);
  if (wanted("enet"))
    enet(report, opts);
  if (wanted("meshrt"))
    meshrt(report, opts, "meshrt", std::nullopt);
  if (wanted("meshrt_keyed"))
    meshrt(report, opts, "meshrt_keyed", random_secret_key());
  return report;
}

} // namespace meshrt::bench
