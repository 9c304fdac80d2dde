#include "dm/client_gateway.hpp"

#include <sys/socket.h>

#include <map>
#include <stdexcept>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "dm/client.hpp"
#include "dm/client_protocol.hpp"
#include "dm/dm_atoms.hpp"
#include "dm/dm_error.hpp"
#include "transport/logger.hpp"

namespace meshrt {

namespace {

using gw_closed_atom = caf::atom_constant<caf::atom("gwclosed")>;
using gw_port_atom = caf::atom_constant<caf::atom("gwport")>;
using gw_quit_atom = caf::atom_constant<caf::atom("gwquit")>;
using gw_login_atom = caf::atom_constant<caf::atom("gwlogin")>;

/// How long a client's send may take, lookup and delivery together.
constexpr std::chrono::seconds send_timeout{5};
/// How long a closing connection has to write its last frame.
constexpr std::chrono::milliseconds linger{200};
/// The most a connection reads at once: CAF keeps a buffer of this size
/// per connection, so it is what an idle user costs in reads (64 KB made
/// a user cost about 70 KB). Larger frames arrive in several reads.
constexpr size_t read_chunk = 512;
/// Open files below which the gateway warns that few clients can connect.
constexpr uint64_t min_open_files = 4096;
/// Ports tried from the configured one upward.
constexpr uint16_t port_scan = 100;

const std::shared_ptr<spdlog::logger>& log() {
  static auto result = logger("gateway");
  return result;
}

// -- one connection ------------------------------------------------------------------

struct connection_state {
  caf::io::connection_handle hdl;
  caf::actor dm;
  caf::actor gateway;
  /// One copy for all connections.
  std::shared_ptr<const client_gateway_config> cfg;
  frame_reader reader{0};
  caf::actor session;
  std::string user;
  bool logging_in = false;
  bool closing = false;
  /// Bytes written to the client and not yet taken by its socket.
  uint64_t unsent = 0;

  static inline const char* name = "meshrt.gateway_connection";
};

using connection_broker = caf::io::stateful_broker<connection_state>;

void write_frame(connection_broker* self, const client_frame& f) {
  auto& st = self->state;
  if (st.closing)
    return;
  auto bytes = encode(f);
  self->write(st.hdl, bytes.size(), bytes.data());
  self->flush(st.hdl);
  st.unsent += bytes.size();
}

/// Closes the connection once, counted by `reason` at the gateway; the
/// broker ends when the socket is closed (or after `linger`), and with it
/// the user's session.
void shut(connection_broker* self, const std::string& reason) {
  auto& st = self->state;
  if (st.closing)
    return;
  st.closing = true;
  self->send(st.gateway, gw_closed_atom::value, reason);
  self->close(st.hdl);
  self->delayed_send(self, linger, gw_quit_atom::value);
}

void refuse(connection_broker* self, gateway_errc code, const std::string& text) {
  client_frame f;
  f.cmd = client_cmd::error;
  f.code = static_cast<uint8_t>(code);
  f.user = text;
  write_frame(self, f);
  shut(self, to_string(code));
}

/// A push for the client, unless the client is too far behind: then it is
/// dropped (its queue would grow without bound and stall nobody but itself).
void push(connection_broker* self, const client_frame& f) {
  write_frame(self, f);
  auto& st = self->state;
  if (!st.closing && st.unsent > st.cfg->send_queue_bytes) {
    log()->warn("dropping client '{}': {} bytes unread (clientSendQueueBytes {})", st.user,
                st.unsent, st.cfg->send_queue_bytes);
    shut(self, "slow_client");
    // A graceful close would wait for a client that does not read, holding
    // the connection (and, at exit, its broker) for good: cut it. CAF 0.17's
    // multiplexer names a connection by its socket.
    ::shutdown(static_cast<int>(st.hdl.id()), SHUT_RDWR);
  }
}

void on_frame(connection_broker* self, client_frame& f) {
  auto& st = self->state;
  switch (f.cmd) {
    case client_cmd::login: {
      if (st.session || st.logging_in)
        return refuse(self, gateway_errc::already_logged_in, "this connection is logged in");
      if (f.user.empty() || f.user.size() > 256)
        return refuse(self, gateway_errc::bad_user_id,
                      "a user id has 1 to 256 bytes, not " + std::to_string(f.user.size()));
      st.logging_in = true;
      auto user = f.user;
      self
        ->request(st.dm, caf::infinite, dm_connect_atom::value, user,
                  caf::actor_cast<caf::actor>(self))
        .then(
          [=](caf::actor& session) {
            auto& st = self->state;
            st.logging_in = false;
            st.session = session;
            st.user = user;
            self->send(st.gateway, gw_login_atom::value);
            if (st.closing) // the client left while it logged in: the session
              return;       // sees this broker end and logs the user out
            client_frame ok;
            ok.cmd = client_cmd::login_ok;
            write_frame(self, ok);
          },
          [=](caf::error& err) {
            self->state.logging_in = false;
            refuse(self, gateway_errc::login_failed, self->system().render(err));
          });
      return;
    }
    case client_cmd::send:
    case client_cmd::clear:
      if (!st.cfg->expose_commands)
        return refuse(self, gateway_errc::unknown_command,
                      "this gateway does not take DM commands (exposeCommands is off)");
      if (!st.session)
        return refuse(self, gateway_errc::not_logged_in, "log in first");
      if (f.cmd == client_cmd::clear) {
        self->send(st.session, dm_clear_atom::value, std::move(f.user), f.ver, f.dm_cmd,
                   std::move(f.message));
        return;
      }
      self
        ->request(st.session, caf::infinite, dm_send_atom::value, std::move(f.user), f.ver,
                  f.dm_cmd, std::move(f.message), caf::timespan{send_timeout})
        .then(
          [self, seq = f.seq] {
            client_frame r;
            r.cmd = client_cmd::send_result;
            r.seq = seq;
            write_frame(self, r);
          },
          [self, seq = f.seq](caf::error& err) {
            client_frame r;
            r.cmd = client_cmd::send_result;
            r.seq = seq;
            auto code = dm_code_of(err);
            r.code = code != 0 ? code : static_cast<uint8_t>(dm_errc::reliable_timeout);
            r.user = self->system().render(err);
            write_frame(self, r);
          });
      return;
    default:
      return refuse(self, gateway_errc::unknown_command,
                    "frame cmd " + std::to_string(static_cast<int>(f.cmd))
                      + " goes from the gateway to clients, not back");
  }
}

caf::behavior connection(connection_broker* self, caf::io::connection_handle hdl, caf::actor dm,
                         std::shared_ptr<const client_gateway_config> cfg, caf::actor gateway) {
  auto& st = self->state;
  st.hdl = hdl;
  st.dm = std::move(dm);
  st.gateway = std::move(gateway);
  st.reader = frame_reader{cfg->max_frame_size};
  st.cfg = std::move(cfg);
  self->link_to(st.gateway);
  self->configure_read(hdl, caf::io::receive_policy::at_most(read_chunk));
  self->ack_writes(hdl, true);
  return {
    [=](const caf::io::new_data_msg& msg) {
      auto& st = self->state;
      if (st.closing)
        return;
      st.reader.feed(msg.buf.data(), msg.buf.size());
      while (auto f = st.reader.next()) {
        on_frame(self, *f);
        if (st.closing)
          return;
      }
      if (auto e = st.reader.error())
        refuse(self, *e, st.reader.error_text());
    },
    [=](const caf::io::data_transferred_msg& msg) { self->state.unsent = msg.remaining; },
    [=](const caf::io::connection_closed_msg&) {
      shut(self, "client_closed");
      self->quit();
    },
    [=](gw_quit_atom) { self->quit(); },
    // -- what the user receives ------------------------------------------------
    [=](dm_message_atom, std::string& from, uint8_t ver, uint16_t cmd, byte_buffer& message) {
      client_frame f;
      f.cmd = client_cmd::message;
      f.user = std::move(from);
      f.ver = ver;
      f.dm_cmd = cmd;
      f.message = std::move(message);
      push(self, f);
    },
    [=](dm_peer_gone_atom, std::string& peer, byte_buffer& message) {
      client_frame f;
      f.cmd = client_cmd::peer_gone;
      f.user = std::move(peer);
      f.message = std::move(message);
      push(self, f);
    },
    [=](dm_closed_atom, std::string& why) {
      client_frame f;
      f.cmd = client_cmd::closed;
      f.user = std::move(why);
      write_frame(self, f);
      self->state.session = nullptr; // it ended: nothing to disconnect
      shut(self, "replaced");
    },
  };
}

// -- the listener --------------------------------------------------------------------

struct gateway_state {
  uint16_t port = 0;
  uint64_t accepted = 0;
  uint64_t open = 0;
  uint64_t logins = 0;
  std::map<std::string, uint64_t> closed;

  static inline const char* name = "meshrt.gateway";
};

using gateway_broker = caf::io::stateful_broker<gateway_state>;

caf::behavior gateway(gateway_broker* self, caf::actor dm, client_gateway_config cfg) {
  self->link_to(dm); // it ends with the node's DM service, and its connections with it
  for (uint32_t p = cfg.port; p <= 65535u && p < uint32_t{cfg.port} + port_scan; ++p) {
    auto bound = self->add_tcp_doorman(static_cast<uint16_t>(p), cfg.address.c_str(), false);
    if (bound) {
      self->state.port = bound->second;
      break;
    }
    if (cfg.port == 0)
      break;
  }
  if (self->state.port != 0)
    log()->info("client gateway listening on {}:{}", cfg.address, self->state.port);
  auto shared = std::make_shared<const client_gateway_config>(cfg);
  return {
    [=](const caf::io::new_connection_msg& msg) {
      ++self->state.accepted;
      ++self->state.open;
      self->fork(connection, msg.handle, dm, shared, caf::actor_cast<caf::actor>(self));
    },
    [=](gw_closed_atom, const std::string& reason) {
      --self->state.open;
      ++self->state.closed[reason];
    },
    [=](gw_login_atom) { ++self->state.logins; },
    [=](gw_port_atom) { return self->state.port; },
    [=](gateway_stats_atom) {
      auto& st = self->state;
      return nlohmann::json{{"port", st.port},
                            {"accepted", st.accepted},
                            {"open", st.open},
                            {"logins", st.logins},
                            {"closed", st.closed}}
        .dump();
    },
    [=](const caf::io::acceptor_closed_msg&) { self->quit(); },
  };
}

} // namespace

std::pair<caf::actor, uint16_t> spawn_client_gateway(caf::actor_system& sys, caf::actor dm_service,
                                                     const client_gateway_config& cfg) {
  // Each client holds a socket: take every file descriptor the system allows.
  auto files = raise_open_files_limit();
  if (files < min_open_files)
    log()->warn("the open-files limit is {} (its hard limit): at most about {} clients can connect",
                files, files > 100 ? files - 100 : 0);
  auto gw = sys.middleman().spawn_broker(gateway, std::move(dm_service), cfg);
  caf::scoped_actor self{sys};
  uint16_t port = 0;
  self->request(gw, caf::infinite, gw_port_atom::value)
    .receive([&](uint16_t p) { port = p; }, [](caf::error&) {});
  if (port == 0) {
    self->send_exit(gw, caf::exit_reason::user_shutdown);
    throw std::runtime_error("the client gateway found no free port on " + cfg.address + " from "
                             + std::to_string(cfg.port));
  }
  return {gw, port};
}

} // namespace meshrt
