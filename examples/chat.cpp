// Direct messages between players, as a game writes them: chat servers are
// mesh nodes whose client gateways players log in to, and the servers' DM
// hooks apply the game's rules; a player's program uses the client library
// only (no CAF) and reaches any player by user id, whichever server each
// one is on.
//
//   chat serve  --mars 127.0.0.1:6789 --client-port 7000   a chat server, until SIGTERM
//   chat client 127.0.0.1:7000 ann [SECONDS]              ann's client
//
// The client reads lines from stdin: "bob good game" sends "good game" to
// bob, "/leave bob" closes the chat with bob. It prints what it receives.
// At the end of its input it keeps listening SECONDS (default 0), then
// disconnects, and the players it talked with hear that it went offline.
//
// The server's rules, one hook each (dm-api.txt's SetOn* functions):
//   on_message           "darn" reaches the recipient as "****"
//   on_receive_message   a guest (user id "guest-...") may message guests
//                        only; a player it writes to declines, and the
//                        guest hears user_not_found
//   on_user_disconnect   the message a player's chat partners get when
//                        the player goes offline
//   on_clear_cache       logs the chats a partner closed without a word

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>

#include <caf/all.hpp>

#include "dm/client.hpp"
#include "examples/example_args.hpp"

#include <meshrt/meshrt.hpp>

using namespace std::chrono_literals;

/// ver and cmd of a chat line (and of a /leave, which carries no words).
constexpr uint8_t chat_ver = 1;
constexpr uint16_t chat_line = 1;

namespace {

int usage() {
  std::fprintf(stderr, "usage: chat serve --mars HOST:PORT [--port P] --client-port C | "
                       "chat client HOST:CLIENT_PORT USER [SECONDS]\n");
  return 2;
}

// -- the server -------------------------------------------------------------------

bool is_guest(const std::string& user) {
  return user.rfind("guest-", 0) == 0;
}

/// on_message: the word filter. nullopt leaves a message as it is.
std::optional<meshrt::byte_buffer> filter(const meshrt::byte_buffer& message) {
  static const std::string word = "darn";
  std::string text(message.begin(), message.end());
  bool changed = false;
  for (auto pos = text.find(word); pos != std::string::npos; pos = text.find(word, pos)) {
    text.replace(pos, word.size(), std::string(word.size(), '*'));
    changed = true;
  }
  if (!changed)
    return std::nullopt;
  return meshrt::byte_buffer(text.begin(), text.end());
}

void set_rules(caf::scoped_actor& self, const meshrt::node& node) {
  meshrt::set_on_message(self, node,
                         [](uint8_t, uint16_t, const meshrt::byte_buffer& message,
                            const std::string&, const std::string&) { return filter(message); });
  meshrt::set_on_receive_message(
    self, node,
    [](uint8_t, uint16_t, const meshrt::byte_buffer&, const std::string& sender,
       const std::string& receiver) { return !is_guest(sender) || is_guest(receiver); });
  meshrt::set_on_user_disconnect(self, node, [](const std::string& gone, const std::string&) {
    auto text = gone + " went offline";
    return meshrt::byte_buffer(text.begin(), text.end());
  });
  meshrt::set_on_clear_cache(self, node, [](const std::string& cleared, const std::string& stayed) {
    std::printf("%s closed the chat with %s\n", cleared.c_str(), stayed.c_str());
    std::fflush(stdout);
  });
}

int serve(caf::actor_system& sys, meshrt::config cfg, uint16_t client_port, const sigset_t& stop) {
  // Every chat server also holds a part of the user locations.
  cfg.dm.storage_target_node_type = "CHAT";
  cfg.dm.gateway.port = client_port;
  meshrt::node_options opts;
  opts.type = "CHAT";
  auto node = meshrt::start_node(sys, cfg, opts);
  caf::scoped_actor self{sys};
  set_rules(self, node); // they reach the DM service before any player does
  auto me = example::mesh_address_of(sys, node);
  auto host = me.substr(0, me.rfind(':'));
  std::printf("chat-server %s ready (clients: %s:%u)\n", me.c_str(), host.c_str(),
              static_cast<unsigned>(node.client_port()));
  std::fflush(stdout);
  example::leave_on_signal(sys, node, stop);
  return 0;
}

// -- the client -------------------------------------------------------------------

void print(const meshrt::client_event& ev) {
  using kind = meshrt::client_event::kind;
  switch (ev.what) {
    case kind::message:
      std::printf("%s: %s\n", ev.from.c_str(), ev.message.c_str());
      break;
    case kind::peer_gone:
      std::printf("%s is gone: %s\n", ev.from.c_str(), ev.message.c_str());
      break;
    case kind::closed:
      std::printf("closed: %s\n", ev.message.c_str());
      break;
    case kind::send_failed: // quiet sends only; this client waits for each
      break;
  }
  std::fflush(stdout);
}

/// One line of input: "PEER TEXT" or "/leave PEER".
void act(meshrt::dm_client& c, const std::string& line) {
  auto space = line.find(' ');
  if (space == std::string::npos || space == 0 || space + 1 == line.size()) {
    std::printf("? \"PEER TEXT\" or \"/leave PEER\"\n");
  } else if (line.compare(0, space, "/leave") == 0) {
    auto peer = line.substr(space + 1);
    c.clear(peer, chat_ver, chat_line, ""); // no last words: on_clear_cache runs
    std::printf("left the chat with %s\n", peer.c_str());
  } else {
    auto peer = line.substr(0, space);
    auto err = c.send(peer, chat_ver, chat_line, line.substr(space + 1));
    std::printf("to %s: %s\n", peer.c_str(), err ? err.kind().c_str() : "delivered");
  }
  std::fflush(stdout);
}

int client(const std::string& gateway, const std::string& user, int linger_s) {
  auto colon = gateway.rfind(':');
  if (colon == std::string::npos)
    return usage();
  meshrt::dm_client c;
  // open(): connect and log in, again while a just-started server cannot
  // store the location yet.
  auto port = static_cast<uint16_t>(std::stoi(gateway.substr(colon + 1)));
  if (auto err = c.open(gateway.substr(0, colon), port, user)) {
    std::fprintf(stderr, "chat: %s: %s\n", err.kind().c_str(), err.text.c_str());
    return 1;
  }
  std::printf("logged in as %s\n", user.c_str());
  std::fflush(stdout);
  // Waits for input and messages in turn: the client library is
  // blocking, one call at a time, each with a timeout.
  bool input = true;
  std::string pending; // input read but not yet a whole line
  auto until = std::chrono::steady_clock::time_point::max();
  while (c.connected() && std::chrono::steady_clock::now() < until) {
    pollfd in{STDIN_FILENO, POLLIN, 0};
    if (input && ::poll(&in, 1, 0) > 0) {
      char buf[4096];
      auto n = ::read(STDIN_FILENO, buf, sizeof(buf));
      if (n > 0) {
        pending.append(buf, static_cast<size_t>(n));
        for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
          act(c, pending.substr(0, nl));
          pending.erase(0, nl + 1);
        }
        continue;
      }
      if (!pending.empty()) // a last line without its newline
        act(c, pending);
      input = false; // the end of the input (or none to read)
      until = std::chrono::steady_clock::now() + std::chrono::seconds{linger_s};
    }
    meshrt::client_error err;
    if (auto ev = c.receive(50ms, &err))
      print(*ev);
    else if (err.code == meshrt::client_errc::closed)
      break;
  }
  c.disconnect();
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && argc <= 5 && std::string{argv[1]} == "client") {
    try {
      return client(argv[2], argv[3], argc == 5 ? std::stoi(argv[4]) : 0);
    } catch (const std::exception&) { // a port or SECONDS that is not a number
      return usage();
    }
  }
  auto args = example::parse(argc, argv);
  if (!args.ok || args.mode != "serve" || args.rest.size() != 2 || args.rest[0] != "--client-port")
    return usage();
  uint16_t client_port = 0;
  try {
    client_port = static_cast<uint16_t>(std::stoi(args.rest[1]));
  } catch (const std::exception&) {
    return usage();
  }
  auto stop = example::block_stop_signals(); // before CAF's threads start
  caf::actor_system_config sys_cfg;
  meshrt::apply_meshrt_defaults(sys_cfg);
  caf::actor_system sys{sys_cfg};
  return serve(sys, args.cfg, client_port, stop);
}
