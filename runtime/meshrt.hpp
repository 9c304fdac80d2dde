#pragma once

// meshrt's public face: everything an application uses, in one include.
// Applications write `#include <meshrt/meshrt.hpp>` (the build and the
// installed package both provide that name) and need nothing else of
// meshrt. Rooms below stay reachable by their own names for tools and tests.

// -- configuration, logging, the CAF system ----------------------------------
#include "runtime/config.hpp"
#include "runtime/config_error.hpp"
#include "runtime/logging.hpp"
#include "runtime/metrics.hpp"
#include "runtime/metrics_server.hpp"
#include "runtime/system_config.hpp"
#include "runtime/version.hpp"

// -- nodes and MARS: spawning, queries, commands, events, errors -------------
#include "actors/mars_actor.hpp"
#include "actors/mesh_envelope.hpp" // health_check_command (MeshHealthCheck)
#include "actors/mesh_error.hpp"
#include "actors/node_actor.hpp"
#include "actors/node_atoms.hpp"
#include "actors/node_event.hpp"
#include "actors/node_record.hpp"
#include "runtime/node.hpp"
#include "transport/atoms.hpp"
#include "transport/byte_buffer.hpp"

// -- requests and handlers: typed commands, map-style data, TransportData ----
#include "runtime/command.hpp"
#include "runtime/handlers.hpp"
#include "runtime/request_data.hpp"
#include "runtime/transport_data.hpp"

// -- the cluster's key-value store (DM storage) --------------------------------
#include "dm/store_error.hpp"
#include "dm/store_event.hpp"
#include "runtime/store.hpp"

// -- direct messages between users ----------------------------------------------
#include "dm/dm_error.hpp"
#include "runtime/dm.hpp"
