# The libFuzzer targets and the meshrt sources each one decodes with: read by
# tests/fuzz/CMakeLists.txt, which builds them with clang, and by the suite's
# CMakeLists.txt, which links every entry point into meshrt_tests to replay
# tests/corpus/ and runs each target briefly (fuzz.TARGET_smoke).
set(MESHRT_FUZZ_TARGETS session mars mesh store dm client command config scenario report)

# the packet decoder and the RUDP session core
set(MESHRT_FUZZ_session_SOURCES transport/session.cpp transport/wire.cpp
                                transport/packed_messages.cpp)
# MARS's message decoder
set(MESHRT_FUZZ_mars_SOURCES actors/mars_protocol.cpp actors/node_record.cpp
                             actors/mesh_envelope.cpp actors/msgpack_codec.cpp)
# the mesh envelope decoder (messages between nodes)
set(MESHRT_FUZZ_mesh_SOURCES actors/mesh_envelope.cpp)
# the store's requests, responses and migration messages
set(MESHRT_FUZZ_store_SOURCES dm/store_wire.cpp)
# the DM service's deliveries, answers and closed notices
set(MESHRT_FUZZ_dm_SOURCES dm/dm_wire.cpp)
# the client gateway's frame reader (end-user connections)
set(MESHRT_FUZZ_client_SOURCES dm/client_protocol.cpp)
# typed command payloads (request_data, TransportData, msgpack)
set(MESHRT_FUZZ_command_SOURCES runtime/request_data.cpp runtime/transport_data.cpp
                                actors/mesh_error.cpp actors/msgpack_codec.cpp
                                transport/context_error.cpp transport/send_error.cpp)
set(MESHRT_FUZZ_command_LIBS caf_core)
# the node config parser
set(MESHRT_FUZZ_config_SOURCES runtime/config.cpp runtime/config_error.cpp
                               actors/mesh_config.cpp dm/store_wire.cpp
                               transport/secret_key.cpp)
set(MESHRT_FUZZ_config_LIBS sodium)
# the bench scenario parser
set(MESHRT_FUZZ_scenario_SOURCES benchmarks/scenario.cpp)
# the bench results reader of `meshrt bench report`
set(MESHRT_FUZZ_report_SOURCES benchmarks/bench_charts.cpp benchmarks/bench_report.cpp
                               benchmarks/child_process.cpp benchmarks/latency_histogram.cpp)
