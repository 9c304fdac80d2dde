#pragma once

#include <cstdint>
#include <string>

namespace meshrt::cli {

/// `meshrt dm send --node HOST:CLIENT_PORT --from A --to B --text T` and
/// `meshrt dm listen --node HOST:CLIENT_PORT --user B [--count N]
/// [--timeout S] [--json]`: a client of a node's gateway (dm/client.hpp);
/// `meshrt dm where --mars HOST:PORT --user B [--json]`: a guest of the
/// cluster that looks the user's location up.
struct dm_options {
  /// send, listen or where.
  std::string action;
  std::string node;
  /// where: MARS, the app name, the cluster key file and a config file
  /// (storageTargetNodeType), as for `meshrt store`.
  std::string mars = "127.0.0.1:6789";
  std::string app;
  std::string cluster_key_file;
  std::string config_path;
  std::string from;
  std::string to;
  std::string user;
  std::string text;
  /// The login token, for a gateway that requires one (clientTokenKeyFile).
  std::string token;
  int ver = 0;
  int cmd = 0;
  /// listen: stop after this many events (0: no limit).
  int count = 0;
  /// listen: stop after this many seconds (0: no limit); send: seconds to
  /// wait for the answer.
  double timeout_s = 0;
  bool json = false;
};

/// Both log in first (tried again for 5 s while the node cannot complete a
/// login yet). send prints `delivered` (exit 0), or the error kind (`user_not_found`,
/// `reliable_timeout`, ...) with the details on stderr (exit 1). listen
/// prints one line per event (a message: sender, ver, cmd, text; a peer's
/// disconnect: the peer and its message), as text or JSON, and exits 0 when
/// it has --count events or --timeout passes without a --count, 1 when the
/// connection fails or --timeout passes before --count events. Bad flags
/// throw std::invalid_argument. where prints the mesh address of the node
/// the user is connected to (exit 0), or says on stderr that the user is
/// not connected (exit 1); with --json one object, `node` null for a user
/// not connected.
int run_dm(const dm_options& opts);

} // namespace meshrt::cli
