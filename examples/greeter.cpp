// A greeter between mesh nodes: the smallest useful meshrt program.
//
//   greeter serve --mars 127.0.0.1:6789            a node that greets, until SIGTERM
//   greeter call  --mars 127.0.0.1:6789 NAME       asks every greeter in the cluster
//
// The request and response are plain structs; the command binds them to an
// id. Errors come back as caf::error in the meshrt category.

#include <csignal>
#include <cstdio>
#include <string>

#include <caf/all.hpp>

#include "examples/example_args.hpp"

#include <meshrt/meshrt.hpp>

using namespace std::chrono_literals;

struct greet_request {
  std::string name;
  MSGPACK_DEFINE(name);
};

struct greet_response {
  std::string text;
  MSGPACK_DEFINE(text);
};

constexpr meshrt::command<greet_request, greet_response> greet{100};

namespace {

int usage() {
  std::fprintf(stderr, "usage: greeter serve --mars HOST:PORT [--port P] | "
                       "greeter call --mars HOST:PORT [--port P] NAME\n");
  return 2;
}

int serve(caf::actor_system& sys, const meshrt::config& cfg, const sigset_t& stop) {
  meshrt::node_options opts;
  opts.type = "GREETER";
  auto node = meshrt::start_node(sys, cfg, opts);
  auto me = example::mesh_address_of(sys, node);
  caf::scoped_actor self{sys};
  meshrt::handle(self, node, greet.id,
                 meshrt::spawn_command_handler(sys, greet,
                                               [me](const greet_request& req, const std::string&) {
                                                 return greet_response{"hello, " + req.name
                                                                       + " (from " + me + ")"};
                                               }))
    .receive([] {}, [](caf::error&) {});
  std::printf("greeter %s ready\n", me.c_str());
  std::fflush(stdout);
  example::leave_on_signal(sys, node, stop);
  return 0;
}

int call(caf::actor_system& sys, const meshrt::config& cfg, const std::string& name) {
  meshrt::node_options opts;
  opts.guest = true; // asks, is not asked
  auto node = meshrt::start_node(sys, cfg, opts);
  // WaitForLatestNodeData: the view is current, then ask every greeter in it.
  auto greeters = example::current_nodes_of_type(sys, node, "GREETER");
  caf::scoped_actor self{sys};
  if (greeters.empty()) {
    std::fprintf(stderr, "greeter: no greeter in the cluster\n");
    return 1;
  }
  int failures = 0;
  for (const auto& addr : greeters)
    meshrt::request(self, node, greet, addr, greet_request{name}, 2s)
      .receive([](greet_response& r) { std::printf("%s\n", r.text.c_str()); },
               [&](caf::error& e) {
                 ++failures;
                 std::fprintf(stderr, "greeter: %s: %s\n", addr.c_str(),
                              meshrt::context_of(e).c_str());
               });
  self->send_exit(node.actor(), caf::exit_reason::user_shutdown);
  return failures == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  auto args = example::parse(argc, argv);
  if (!args.ok
      || !((args.mode == "serve" && args.rest.empty())
           || (args.mode == "call" && args.rest.size() == 1)))
    return usage();
  // Before CAF starts its threads: SIGTERM reaches sigwait only.
  auto stop = example::block_stop_signals();
  caf::actor_system_config sys_cfg;
  meshrt::apply_meshrt_defaults(sys_cfg);
  caf::actor_system sys{sys_cfg};
  if (args.mode == "serve")
    return serve(sys, args.cfg, stop);
  return call(sys, args.cfg, args.rest[0]);
}
