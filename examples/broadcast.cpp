// A fan-out broadcast: one node tells every listener, through the
// reference's SendMany tree, and learns of any it could not reach.
//
//   broadcast listen --mars 127.0.0.1:6789            prints what it hears, until SIGTERM
//   broadcast send   --mars 127.0.0.1:6789 TEXT LIMIT tells every listener

#include <csignal>
#include <cstdio>
#include <string>

#include <caf/all.hpp>

#include "examples/example_args.hpp"

#include <meshrt/meshrt.hpp>

constexpr uint16_t news = 200;

namespace {

int usage() {
  std::fprintf(stderr, "usage: broadcast listen --mars HOST:PORT [--port P] | "
                       "broadcast send --mars HOST:PORT [--port P] TEXT LIMIT\n");
  return 2;
}

int listen(caf::actor_system& sys, const meshrt::config& cfg, const sigset_t& stop) {
  meshrt::node_options opts;
  opts.type = "LISTENER";
  auto node = meshrt::start_node(sys, cfg, opts);
  auto me = example::mesh_address_of(sys, node);
  caf::scoped_actor self{sys};
  meshrt::handle(
    self, node, news,
    meshrt::spawn_handler(sys,
                          [me](const meshrt::byte_buffer& text, const std::string& from) {
                            std::printf("%s heard from %s: %s\n", me.c_str(), from.c_str(),
                                        std::string(text.begin(), text.end()).c_str());
                            std::fflush(stdout);
                            return caf::expected<meshrt::byte_buffer>{meshrt::byte_buffer{}};
                          }))
    .receive([] {}, [](caf::error&) {});
  std::printf("listener %s ready\n", me.c_str());
  std::fflush(stdout);
  example::leave_on_signal(sys, node, stop);
  return 0;
}

int send(caf::actor_system& sys, const meshrt::config& cfg, const std::string& text,
         uint16_t limit) {
  meshrt::node_options opts;
  opts.guest = true;
  auto node = meshrt::start_node(sys, cfg, opts);
  // WaitForLatestNodeData, then every listener the view holds.
  auto listeners = example::current_nodes_of_type(sys, node, "LISTENER");
  caf::scoped_actor self{sys};
  meshrt::send_many(self, node, news, listeners, meshrt::byte_buffer(text.begin(), text.end()),
                    limit);
  std::printf("sent to %zu listeners with limit %u\n", listeners.size(), limit);
  // Unreachable listeners are reported within retryTimeout per level.
  int missed = 0;
  bool quiet = false;
  self->receive_while([&] { return !quiet; })(
    [&](meshrt::transport::send_failed_atom, const std::string& addr, const caf::error& err) {
      ++missed;
      std::printf("missed %s: %s\n", addr.c_str(), meshrt::context_of(err).c_str());
    },
    caf::after(std::chrono::milliseconds{cfg.mesh.retry_timeout.count() * 2}) >>
      [&] { quiet = true; });
  self->send_exit(node.actor(), caf::exit_reason::user_shutdown);
  return missed == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  auto args = example::parse(argc, argv);
  if (!args.ok
      || !((args.mode == "listen" && args.rest.empty())
           || (args.mode == "send" && args.rest.size() == 2)))
    return usage();
  // Before CAF starts its threads: SIGTERM reaches sigwait only.
  auto stop = example::block_stop_signals();
  caf::actor_system_config sys_cfg;
  meshrt::apply_meshrt_defaults(sys_cfg);
  caf::actor_system sys{sys_cfg};
  if (args.mode == "listen")
    return listen(sys, args.cfg, stop);
  return send(sys, args.cfg, args.rest[0], static_cast<uint16_t>(std::stoi(args.rest[1])));
}
